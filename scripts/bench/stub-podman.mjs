#!/usr/bin/env node
// A stand-in for podman, used by the benchmarks (never by tests). The harness copies it into a bench workspace as
// an executable `podman` and passes its path through the targets' `podman` option.
//
// Every invocation appends one JSON line to log.jsonl next to the script: {t, spawned, pid, ev: 'start'|'end'|'killed',
// args} (`t` is Date.now(), the same clock the harness uses when it saves a file; `spawned` is when the process was
// forked, read from /proc). Behaviour:
//   version --format json   a podman 4.3.1 answer
//   build ... --iidfile F   sleeps config.json's buildMs (per project: buildMsByProject), writes a fake image id to F,
//                           remembers the image's labels (so the input-hash up-to-date check can find it later)
//   image ls --filter label=K=V --format ...   lists remembered images carrying that label ("ID name:tag" lines)
//   image exists / container exists            0 for a remembered image id, 1 otherwise
//   tag, inspect, anything else                exit 0 ([] for inspect)
// config.json: {buildMs: number, buildMsByProject?: {[project]: number}, forgetImages?: boolean}
// forgetImages: image ls never lists anything, so every build runs.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const home = process.env.BENCH_PODMAN_HOME ?? dirname(fileURLToPath(import.meta.url));
const imagesDir = join(home, 'images');
const args = process.argv.slice(2);
// When this process was forked (the moment the caller asked for podman), from /proc: node's own start-up under load
// would otherwise be counted as watcher latency. 10 ms resolution.
const spawned = (() => {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const uptimeMs = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
    return Math.round(Date.now() - (uptimeMs - startTicks * 10));
  } catch {
    return undefined;
  }
})();
const log = (ev, extra = {}) =>
  appendFileSync(join(home, 'log.jsonl'), `${JSON.stringify({ t: Date.now(), spawned, pid: process.pid, ev, args, ...extra })}\n`);
const readConfig = () => {
  try {
    return JSON.parse(readFileSync(join(home, 'config.json'), 'utf8'));
  } catch {
    return { buildMs: 200 };
  }
};

// Global flags (--remote, --connection X) come first.
const rest = [...args];
while (rest[0]?.startsWith('--')) rest.splice(0, rest[0] === '--connection' ? 2 : 1);
const [command, sub] = rest;
const flag = (name) => {
  const index = rest.indexOf(name);
  return index >= 0 ? rest[index + 1] : undefined;
};
const allFlags = (name) => rest.flatMap((arg, index) => (arg === name ? [rest[index + 1]] : []));

function images() {
  if (!existsSync(imagesDir)) return [];
  return readdirSync(imagesDir).map((file) => JSON.parse(readFileSync(join(imagesDir, file), 'utf8')));
}

async function build() {
  const labels = Object.fromEntries(allFlags('--label').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  const project = labels['io.prism.nx-podman.project'] ?? (flag('--tag') ?? '').replace(/^.*\/|-plugin:.*$/g, '');
  const config = readConfig();
  const ms = config.buildMsByProject?.[project] ?? config.buildMs ?? 200;
  log('start', { project });
  let killed = false;
  const onSignal = (signal) => {
    if (killed) return;
    killed = true;
    log('killed', { project, signal });
    process.exit(143);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.stdout.write(`STEP 1/3: FROM localhost/prism/go-builder:1.19 AS builder\n`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const id = createHash('sha256').update(randomBytes(16)).digest('hex');
  mkdirSync(imagesDir, { recursive: true });
  writeFileSync(join(imagesDir, `${id}.json`), JSON.stringify({ id, labels, names: allFlags('--tag') }));
  const iidfile = flag('--iidfile');
  if (iidfile) writeFileSync(iidfile, `sha256:${id}`);
  process.stdout.write(`COMMIT\n--> ${id.slice(0, 12)}\n${id}\n`);
  log('end', { project });
}

function imageLs() {
  if (readConfig().forgetImages) return;
  const filters = allFlags('--filter');
  const matches = images().filter((image) =>
    filters.every((filter) => {
      const [kind, value] = [filter.slice(0, filter.indexOf('=')), filter.slice(filter.indexOf('=') + 1)];
      if (kind !== 'label') return true;
      const [key, wanted] = [value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)];
      return image.labels[key] === wanted;
    }),
  );
  for (const image of matches) {
    for (const name of image.names.length ? image.names : ['<none>:<none>']) {
      const qualified = name.includes('/') && name.split('/')[0].includes('.') ? name : `localhost/${name}`;
      process.stdout.write(`sha256:${image.id} ${name === '<none>:<none>' ? name : qualified}\n`);
    }
  }
}

const VERSION = {
  Client: {
    APIVersion: '4.3.1',
    Version: '4.3.1',
    GoVersion: 'go1.19.8',
    GitCommit: '',
    BuiltTime: 'Thu Jan  1 00:00:00 1970',
    Built: 0,
    OsArch: 'linux/amd64',
    Os: 'linux',
  },
};

async function main() {
  if (command === 'build') return build();
  log('start');
  if (command === 'version') process.stdout.write(`${JSON.stringify(VERSION, null, 2)}\n`);
  else if (command === 'image' && (sub === 'ls' || sub === 'list')) imageLs();
  else if ((command === 'image' && sub === 'exists') || command === 'container') {
    const ref = rest[2]?.replace(/^sha256:/, '');
    process.exitCode = command === 'image' && images().some((image) => image.id === ref || image.id.startsWith(ref)) ? 0 : 1;
  } else if (command === 'inspect' || (command === 'image' && sub === 'inspect')) process.stdout.write('[]\n');
}

await main();
