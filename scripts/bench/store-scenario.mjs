// Measurement 8: the image store over a long session (issue 15.6). Real podman, a busybox plugin (a build is a COPY:
// about a second), watch-reload without reload (builds only: what is measured is the build path).
// - save → build start with a small store, then with `images` unrelated filler images added, same run; next to it, what
//   the label search the up-to-date check used to make (`podman image ls --filter label=...`) costs in each store.
// - store size (this project's images, and the whole store) after `saves` saves, with the default keepImages (3).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess } from './proc.mjs';
import { BUSYBOX_IMAGE, NX_ENV, createWorkspace, writeWatchProject } from './workspace.mjs';

const PROJECT = 'nxpstore';
const FILLER_LABEL = 'io.prism.nx-podman.bench-filler';
const FILLER_REPO = 'localhost/nxp-bench-filler';

const podman = (args) => spawnSync('podman', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Number of images in the store, and those labelled with the bench project (both with intermediate images: `-a`).
 * Only called on a store without the fillers: listing with `-a` on thousands of images takes minutes on podman 4.3.
 */
function storeSize() {
  // A listing that races with the watcher's image retention (an image removed while podman lists) fails: again.
  const list = (args) => {
    for (let attempt = 0; ; attempt++) {
      const result = podman(['images', '-a', '-q', '--no-trunc', ...args]);
      if (result.status === 0 || attempt === 4) return new Set(result.stdout.split('\n').filter(Boolean)).size;
      spawnSync('sleep', ['1']);
    }
  };
  return { all: list([]), project: list(['--filter', `label=io.prism.nx-podman.project=${PROJECT}`]) };
}

/** Times the label search the old up-to-date check made on every build (a hash nothing carries). */
function labelSearchMs(trials = 3) {
  const samples = [];
  for (let i = 0; i < trials; i++) {
    const t = process.hrtime.bigint();
    podman(['image', 'ls', '--no-trunc', '--filter', `label=io.prism.nx-podman.input-hash=${'0'.repeat(64)}`, '--format', '{{.ID}}']);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(samples);
}

/**
 * Adds `count` unrelated filler images, like superseded builds: each `FROM scratch` with a file of its own (a stage
 * each in a few builds: podman keeps every stage). Not `FROM <one base>` + LABEL: thousands of children of one image
 * make podman 4.3's image listing take minutes, a store nobody has.
 */
function addFillers(dir, count, log) {
  mkdirSync(dir, { recursive: true });
  const perBuild = 250;
  for (let start = 0; start < count; start += perBuild) {
    const stages = [];
    for (let i = start; i < Math.min(count, start + perBuild); i++) {
      writeFileSync(join(dir, `f${i}.txt`), `filler ${i} ${Date.now()}\n`);
      stages.push(`FROM scratch AS s${i}\nCOPY f${i}.txt /\nLABEL ${FILLER_LABEL}=${i}`);
    }
    writeFileSync(join(dir, 'Containerfile'), `${stages.join('\n')}\n`);
    const result = podman(['build', '-q', '--layers', '--skip-unused-stages=false', '-t', `${FILLER_REPO}:${start}`, dir]);
    if (result.status !== 0) throw new Error(`filler build failed: ${result.stderr.trim().split('\n').at(-1)}`);
    log(`  store: ${Math.min(count, start + perBuild)}/${count} filler images`);
  }
}

export function removeStoreObjects() {
  const fillers = podman(['images', '-q', '--no-trunc', '--filter', `label=${FILLER_LABEL}`])
    .stdout.split('\n')
    .filter(Boolean);
  const ours = podman(['images', '-q', '--no-trunc', '--filter', `label=io.prism.nx-podman.project=${PROJECT}`])
    .stdout.split('\n')
    .filter(Boolean);
  const tagged = podman(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${FILLER_REPO}`])
    .stdout.split('\n')
    .filter(Boolean);
  for (const ref of [...tagged, `localhost/prism/${PROJECT}-plugin:production`, `localhost/prism/${PROJECT}-plugin:latest`]) podman(['rmi', '-f', ref]);
  const ids = [...new Set([...fillers, ...ours])];
  for (let i = 0; i < ids.length; i += 200) podman(['rmi', '-f', ...ids.slice(i, i + 200)]);
}

/** Runs the store measurement; `saves` edits for the store-size row, `images` fillers for the large-store row. */
export async function measureStore(root, templateDir, { images, saves, latencyTrials = 5, log }) {
  removeStoreObjects();
  const ws = createWorkspace(root, templateDir);
  ws.write(`plugins/${PROJECT}/go.mod`, `module prism/${PROJECT}\n\ngo 1.19\n`);
  ws.write(`plugins/${PROJECT}/www/index.html`, 'start\n');
  ws.write(`plugins/${PROJECT}/Containerfile`, `FROM ${BUSYBOX_IMAGE} AS production\nCOPY www /www\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`);
  writeWatchProject(ws, { projects: [PROJECT], extra: { initialBuild: true } });
  const env = { ...process.env, ...NX_ENV, NX_DAEMON: 'false' };
  const proc = startProcess(process.execPath, ws.nxArgs(['run', 'bench:watch-reload', '--debounce=100']), { cwd: ws.root, env });
  const result = { images, saves, small: {}, large: {}, afterSaves: undefined, before: storeSize(), errors: [] };
  let edits = 0;
  const save = async () => {
    const from = proc.lines.length;
    const t = Date.now();
    ws.write(`plugins/${PROJECT}/www/index.html`, `edit ${++edits} ${t}\n`);
    const start = await proc.waitForLine(new RegExp(`INFO\\s+building plugin\\s+plugin=${PROJECT}\\b`), { from, timeoutMs: 120_000 });
    await proc.waitForLine(new RegExp(`(INFO\\s+build completed|ERROR\\s+build failed)\\s+plugin=${PROJECT}\\b`), { from, timeoutMs: 120_000 });
    return start.t - t;
  };
  const latencyRow = async (store) => {
    const samples = [];
    for (let i = 0; i < latencyTrials; i++) samples.push(await save());
    return { saveToBuildStartMs: median(samples), samples, labelSearchMs: labelSearchMs(), store };
  };
  try {
    await proc.waitForLine(/INFO\s+watcher ready/, { timeoutMs: 300_000 });
    await proc.waitForLine(new RegExp(`INFO\\s+build completed\\s+plugin=${PROJECT}\\b`), { timeoutMs: 300_000 });
    result.small = await latencyRow(storeSize());
    log(
      `  store: small store (${result.small.store.all} images): save → build start ${result.small.saveToBuildStartMs} ms; label search ${Math.round(result.small.labelSearchMs)} ms`,
    );
    for (let i = 0; i < saves; i++) {
      await save();
      if ((i + 1) % 50 === 0) log(`  store: ${i + 1}/${saves} saves`);
    }
    result.afterSaves = storeSize();
    log(`  store: after ${saves} saves: ${result.afterSaves.project} images of the project, ${result.afterSaves.all} in the store`);
    addFillers(join(root, 'fillers'), images, log);
    result.large = await latencyRow({ all: result.afterSaves.all + images, project: result.afterSaves.project });
    log(
      `  store: ~${result.large.store.all} images: save → build start ${result.large.saveToBuildStartMs} ms; label search ${Math.round(result.large.labelSearchMs)} ms`,
    );
  } catch (error) {
    result.errors.push(error.message.split('\n')[0]);
    log(`  store: FAILED ${error.message.split('\n').slice(0, 8).join('\n')}`);
  } finally {
    await proc.stop(20_000);
    rmSync(join(root, 'fillers'), { recursive: true, force: true });
    removeStoreObjects();
  }
  return result;
}
