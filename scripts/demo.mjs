// `npm run demo [-- --scripted]`: the product for real. Scaffolds a sample Nx workspace in demo-workspace/ (core +
// postgres, kafka, redis through the generators: gRPC services; the packed plugin installed), makes sure podman works
// and the base images exist (made locally from the machine's Go and busybox: no registry needed), builds grpcurl from
// its module, then starts watch-reload with reload on all plugins. Interactive: prints what to edit and the grpcurl
// commands to try, runs until Ctrl-C. --scripted: edits a plugin file, then a core file, checks each reload through
// grpcurl (the plugin's Info call), prints a summary with timings and exits 0 (1 on a failure).
// Either way the demo's containers and the images it built are removed on exit (Ctrl-C and SIGTERM too).
//
// Options: --scripted  --plugins=a,b,c (default postgres,kafka,redis)  --dir=PATH (default demo-workspace)
//          --tarball=PATH (install this packed plugin instead of running `npm run package`)  --verbose
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLongRunning } from './lib/long-running.mjs';
import { nxBin } from './lib/workspace-template.mjs';
import { choosePorts } from './lib/ports.mjs';
import { ensureGrpcurl, grpcurl } from './lib/go-tools.mjs';
import { checkNode, ensureNodeModules, ensureSystemPackages } from './lib/prereqs.mjs';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEMO_PROJECT = 'demo';
// The label podman-build puts on its images (src/core/build-record.ts).
const INPUT_HASH_LABEL = 'io.prism.nx-podman.input-hash';
const FIRST_PORT = 9090;
const DEBUG_PORT_OFFSET = 1000;
// Generous: a cold Go build of three plugins on a busy 2-core machine takes minutes.
const STARTUP_TIMEOUT_MS = 15 * 60_000;
const RELOAD_TIMEOUT_MS = 5 * 60_000;
const INFO_METHOD = 'prism.plugin.v1.Plugin/Info';
const NX_ENV = { NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' };

function parseArgs(argv) {
  const value = (name) => argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const known = ['--scripted', '--verbose', '--help'];
  for (const arg of argv) {
    if (!known.includes(arg) && !/^--(plugins|dir|tarball)=/.test(arg)) {
      throw new Error(`unknown demo option "${arg}". Options: --scripted, --plugins=a,b,c, --dir=PATH, --tarball=PATH, --verbose`);
    }
  }
  const plugins = (value('plugins') ?? 'postgres,kafka,redis')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of plugins) {
    if (!/^[a-z][a-z0-9]*$/.test(name)) throw new Error(`--plugins: "${name}" is not a plugin name (lower-case letters and digits)`);
  }
  if (plugins.length === 0) throw new Error('--plugins: give at least one plugin name');
  return {
    scripted: argv.includes('--scripted'),
    verbose: argv.includes('--verbose'),
    help: argv.includes('--help'),
    plugins,
    dir: resolve(REPO_ROOT, value('dir') ?? 'demo-workspace'),
    tarball: value('tarball') ? resolve(value('tarball')) : undefined,
  };
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
const say = (line) => process.stdout.write(`demo: ${line}\n`);

/** Runs a command to completion (argument array, no shell); throws with its output when it fails. */
function run(file, args, { cwd, env, quiet = true } = {}) {
  const result = spawnSync(file, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) {
    const output = quiet ? `\n${`${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n')}` : '';
    throw new Error(`${file} ${args.join(' ')} failed (exit ${result.status ?? result.signal})${output}`);
  }
  return result.stdout ?? '';
}

function packPlugin(options) {
  if (options.tarball) {
    if (!existsSync(options.tarball)) throw new Error(`--tarball: ${options.tarball} does not exist`);
    return options.tarball;
  }
  say('building and packing @prism/nx-podman (npm run package)');
  const out = run('npm', ['run', '--silent', 'package', '--', '--out', join(REPO_ROOT, 'tmp', 'demo-pack')], { cwd: REPO_ROOT });
  const tarball = out.trim().split('\n').pop();
  if (!tarball || !existsSync(tarball)) throw new Error(`npm run package did not print a tarball path (got "${tarball}")`);
  return tarball;
}

/** A fresh workspace; node_modules of an earlier run is kept (only the plugin is reinstalled) to save time. */
function prepareWorkspace(dir, tarball) {
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir)) if (entry !== 'node_modules') rmSync(join(dir, entry), { recursive: true, force: true });
  rmSync(join(dir, 'node_modules', '@prism'), { recursive: true, force: true });
  const rootPkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const write = (path, content) => writeFileSync(join(dir, path), content);
  write(
    'package.json',
    `${JSON.stringify(
      {
        name: 'prism-demo-workspace',
        private: true,
        devDependencies: { nx: rootPkg.devDependencies.nx, '@nx/devkit': rootPkg.devDependencies['@nx/devkit'], '@prism/nx-podman': `file:${tarball}` },
      },
      null,
      2,
    )}\n`,
  );
  write('nx.json', `${JSON.stringify({ $schema: './node_modules/nx/schemas/nx-schema.json', analytics: false, plugins: [] }, null, 2)}\n`);
  write('.gitignore', 'node_modules\n.nx/cache\n.nx/workspace-data\n');
  say(`installing nx and the packed plugin in ${dir} (npm install)`);
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir });
}

/** watch-reload under `nx run`, in its own process group; its output is echoed and kept for waitFor. */
function startWatcher(dir, env, verbose) {
  const args = [nxBin(dir), 'run', `${DEMO_PROJECT}:watch-reload`, ...(verbose ? ['--verbose'] : [])];
  return startLongRunning(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, ...env, ...NX_ENV },
    label: 'watch-reload',
    onLine: (line) => process.stdout.write(`  │ ${line}\n`),
  });
}

/** The plugin's answer to prism.plugin.v1.Plugin/Info, through grpcurl (the real gRPC client). */
function pluginInfo(port) {
  const result = grpcurl(port, INFO_METHOD);
  if (result.code !== 0) throw new Error(`grpcurl -plaintext 127.0.0.1:${port} ${INFO_METHOD} exited ${result.code}: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout);
}

/** Waits for the plugin to be healthy after `from`; a failed build or reload of it fails at once. */
async function waitHealthy(watcher, plugin, from, timeoutMs) {
  const match = await watcher.waitFor(new RegExp(`(INFO\\s+plugin healthy|ERROR\\s+(build|reload) failed)\\s+plugin=${plugin}\\b[^\\n]*`), { from, timeoutMs });
  if (match[1].startsWith('ERROR')) throw new Error(`${plugin}: ${match[0].trim()}`);
}

function editFile(path, from, to) {
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`${path} does not contain ${JSON.stringify(from)}: was it generated by this demo?`);
  writeFileSync(path, text.replace(from, to));
}

/** `live update` or `building plugin` lines (the first process of either path) of a plugin. */
const countJobs = (text, plugin) => (text.match(new RegExp(`INFO\\s+(building plugin|live update)\\s+plugin=${plugin}\\b`, 'g')) ?? []).length;
const jobStart = (plugins) => new RegExp(`INFO\\s+(building plugin|live update)\\s+plugin=(${plugins.join('|')})\\b`);

/**
 * One scripted step: apply `edit`, wait for every plugin in `expected` to be healthy, check that each took `path`
 * (live: `live update` lines and no image build; full: `full rebuild` then `building plugin`) exactly once.
 */
async function step(ctx, { title, edit, expected, path }) {
  const { watcher } = ctx;
  say(title);
  const from = watcher.length;
  const saved = Date.now();
  edit();
  await watcher.waitFor(jobStart(expected), { from, timeoutMs: RELOAD_TIMEOUT_MS });
  const started = Date.now() - saved;
  await Promise.all(expected.map((name) => waitHealthy(watcher, name, from, RELOAD_TIMEOUT_MS)));
  const healthy = Date.now() - saved;
  const window = watcher.since(from);
  const wrong = ctx.plugins.filter((name) => countJobs(window, name) !== (expected.includes(name) ? 1 : 0));
  if (wrong.length)
    throw new Error(
      `${title}: expected one ${path} job for ${expected.join(', ')} only; got ${ctx.plugins.map((name) => `${name}=${countJobs(window, name)}`).join(' ')}`,
    );
  for (const name of expected) {
    const built = new RegExp(`INFO\\s+building plugin\\s+plugin=${name}\\b`).test(window);
    if (path === 'live' && built) throw new Error(`${title}: ${name} was built as an image; a live update was expected`);
    if (path === 'full' && !built) throw new Error(`${title}: ${name} was not built as an image`);
  }
  if (/INFO\s+(building plugin|live update)\s+plugin=core\b/.test(window)) throw new Error('core has no image but a job for it was started');
  return { started, healthy, reason: /INFO\s+full rebuild\s+plugin=\S+\s+reason=("[^"]*"|\S+)/.exec(window)?.[1] };
}

async function scriptedEdits(ctx) {
  const { dir, plugins, ports } = ctx;
  const [first] = plugins;
  const results = [];
  const mainGo = join(dir, 'plugins', first, 'main.go');
  const versionGo = join(dir, 'plugins', 'core', 'version.go');
  const checkGreeting = async (greeting) => {
    const answer = pluginInfo(ports[0]);
    if (answer.message !== greeting) throw new Error(`${first} still serves ${JSON.stringify(answer)} after the reload`);
    say(`${first} serves the new code (grpcurl ${INFO_METHOD}): ${JSON.stringify(answer)}`);
  };
  const checkCore = async (version) => {
    for (const [index, name] of plugins.entries()) {
      const info = pluginInfo(ports[index]);
      if (info.core !== version) throw new Error(`${name} reports core ${info.core} after the reload, expected ${version}`);
    }
    say(`every plugin reports core ${version} (grpcurl ${INFO_METHOD})`);
  };

  // Live update: Go-only change sets are compiled in the warm builder and copied into the running containers.
  const greeting2 = `hello again from ${first}, edited by the demo`;
  let result = await step(ctx, {
    title: `step 1 (live): editing plugins/${first}/main.go (its greeting): only ${first} is recompiled and restarted`,
    edit: () => editFile(mainGo, `"hello from ${first}"`, `"${greeting2}"`),
    expected: [first],
    path: 'live',
  });
  await checkGreeting(greeting2);
  results.push({ step: `edit plugins/${first}/main.go`, path: 'live', ...result, rebuilt: [first] });

  result = await step(ctx, {
    title: 'step 2 (live): editing plugins/core/version.go (Version 0.1.0 -> 0.2.0): every plugin imports core, so each is updated once',
    edit: () => editFile(versionGo, 'const Version = "0.1.0"', 'const Version = "0.2.0"'),
    expected: plugins,
    path: 'live',
  });
  await checkCore('0.2.0');
  results.push({ step: 'edit plugins/core/version.go', path: 'live', ...result, rebuilt: [...plugins] });

  // The full path: the same edits with a non-Go file the image copies (a new config file) in the change set.
  const greeting3 = `hello a third time from ${first}`;
  result = await step(ctx, {
    title: `step 3 (full): editing plugins/${first}/main.go and adding plugins/${first}/config.yaml: a non-Go file the image copies, so the image is built and the container replaced`,
    edit: () => {
      editFile(mainGo, `"${greeting2}"`, `"${greeting3}"`);
      writeFileSync(join(dir, 'plugins', first, 'config.yaml'), 'greeting: edited by the demo\n');
    },
    expected: [first],
    path: 'full',
  });
  await checkGreeting(greeting3);
  results.push({ step: `edit plugins/${first}/main.go + config.yaml`, path: 'full', ...result, rebuilt: [first] });

  result = await step(ctx, {
    title: 'step 4 (full): editing plugins/core/version.go and plugins/core/go.mod (a comment): every plugin image is rebuilt once',
    edit: () => {
      editFile(versionGo, 'const Version = "0.2.0"', 'const Version = "0.3.0"');
      const goMod = join(dir, 'plugins', 'core', 'go.mod');
      writeFileSync(goMod, `${readFileSync(goMod, 'utf8')}\n// edited by the demo\n`);
    },
    expected: plugins,
    path: 'full',
  });
  await checkCore('0.3.0');
  results.push({ step: 'edit plugins/core/version.go + go.mod', path: 'full', ...result, rebuilt: [...plugins] });
  return results;
}

function printSummary(ctx, startupMs, results) {
  const rows = [
    ['initial build + start', `${ctx.plugins.length} plugins healthy after ${seconds(startupMs)}`],
    ...results.map((r) => [
      `${r.step} (${r.path})`,
      `save -> first process ${seconds(r.started)}, save -> healthy ${seconds(r.healthy)}, updated: ${r.rebuilt.join(', ')}${r.reason ? `, reason ${r.reason}` : ''}`,
    ]),
  ];
  const width = Math.max(...rows.map(([step]) => step.length));
  process.stdout.write('\n=== demo summary\n');
  for (const [step, text] of rows) process.stdout.write(`  ${step.padEnd(width)}  ${text}\n`);
  process.stdout.write(`  health: ${ctx.plugins.map((name, i) => `${name} grpc 127.0.0.1:${ctx.ports[i]} SERVING`).join(', ')}\n`);
  if (ctx.statusUrl) process.stdout.write(`  status page: ${ctx.statusUrl}\n`);
  process.stdout.write('=== demo passed\n');
}

function printInstructions(ctx) {
  const [first] = ctx.plugins;
  const lines = [
    '',
    `=== the demo workspace runs: ${ctx.dir}`,
    `  watch-reload watches ${ctx.plugins.join(', ')} and core (target ${DEMO_PROJECT}:watch-reload in project.json).`,
    ...(ctx.statusUrl ? [`  Status page: ${ctx.statusUrl}  (each plugin's state, last run, failures; build now, pause)`] : []),
    '  Try it:',
    ...ctx.plugins.map((name, i) => `    ${ctx.grpcurl} -plaintext 127.0.0.1:${ctx.ports[i]} ${INFO_METHOD}        # ${name}`),
    `    ${ctx.grpcurl} -plaintext 127.0.0.1:${ctx.ports[0]} grpc.health.v1.Health/Check   # SERVING`,
    `    ${ctx.grpcurl} -plaintext 127.0.0.1:${ctx.ports[0]} list                           # its services, by reflection`,
    `    edit plugins/${first}/main.go (e.g. the "hello from ${first}" greeting) -> a live update: only ${first} is recompiled, copied in and restarted (no image build)`,
    `    edit plugins/core/version.go (Version)  -> every plugin is updated once`,
    `    add plugins/${first}/config.yaml          -> a non-Go file the image copies: ${first}'s image is rebuilt and its container replaced`,
    `    break the Go syntax in a file           -> "build failed", the running container keeps serving`,
    '  Press Ctrl-C to stop; the demo containers are removed on exit.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Ids of the images watch-reload built or ran for the demo's plugins, read from its log lines. */
function demoImageIds(output, plugins) {
  const ids = new Set();
  for (const line of output.split('\n')) {
    const plugin = /\bplugin=(\S+)/.exec(line)?.[1];
    const image = /\bimage=([0-9a-f]{12,64})\b/.exec(line)?.[1];
    if (plugin && image && plugins.includes(plugin)) ids.add(image);
  }
  return [...ids];
}

/**
 * Removes the demo's containers and the images this run built or ran (each reload leaves the previous one untagged),
 * with every other image carrying the same input-hash label: podman puts build labels on the builder stage's image
 * too, and a later build of the same inputs must not mistake that one for an up-to-date plugin image.
 */
function removeDemoPodmanObjects(plugins, imageIds, env) {
  const podman = (args) => spawnSync('podman', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env } });
  const containers = plugins.flatMap((name) => [`${name}-plugin`, `${name}-plugin-debug`]);
  podman(['rm', '-f', '--ignore', '--time', '5', ...containers]);
  podman(['pod', 'rm', '-f', '--ignore', ...containers.map((name) => `${name}-pod`)]);
  // Tagged images count too: a build that finished but was never run (the demo stopped first) logged no image id.
  const tagged = plugins.flatMap((name) => ['production', 'latest', 'debug'].map((tag) => `localhost/prism/${name}-plugin:${tag}`));
  const taggedIds = tagged.map((ref) => podman(['image', 'inspect', '--format', '{{.Id}}', ref]).stdout?.trim()).filter(Boolean);
  const images = new Set();
  for (const id of [...imageIds, ...taggedIds]) {
    images.add(id);
    const hash = podman(['image', 'inspect', '--format', `{{index .Config.Labels "${INPUT_HASH_LABEL}"}}`, id]).stdout?.trim();
    if (!hash || hash === '<no value>') continue;
    for (const same of podman(['image', 'ls', '-q', '--filter', `label=${INPUT_HASH_LABEL}=${hash}`]).stdout?.split('\n') ?? []) {
      if (same.trim()) images.add(same.trim());
    }
  }
  for (const id of images) podman(['rmi', '-f', id]);
  say(`removed the demo containers (${plugins.map((name) => `${name}-plugin`).join(', ')}) and the ${images.size} images this run built`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(
      readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\nimport ')[0]
        .replace(/^\/\/ ?/gm, '') + '\n',
    );
    return 0;
  }
  const started = Date.now();
  checkNode();
  ensureNodeModules(REPO_ROOT);
  ensureSystemPackages();
  const { ensurePodmanWorks } = await import('./lib/podman-doctor.mjs');
  const { ensureDelveImage, ensureGoBuilderImage, DELVE_IMAGE, GO_BUILDER_IMAGE } = await import('./lib/base-images.mjs');
  // A developer's podman configuration is never rewritten; a CI machine may get the drop-in.
  const fix = process.env.CI === 'true' ? 'system' : 'env';
  const podmanEnv = ensurePodmanWorks({ fix, confDir: join(REPO_ROOT, 'tmp'), log: say });
  ensureDelveImage(say);
  ensureGoBuilderImage(say);
  say(`podman works; base images ${GO_BUILDER_IMAGE} and ${DELVE_IMAGE} are present`);
  // The plugins speak gRPC: grpcurl (built from its module through the Go module proxy) is how the demo and you call them.
  const grpcurlPath = ensureGrpcurl(say);

  const tarball = packPlugin(options);
  prepareWorkspace(options.dir, tarball);
  const nx = (args) => run(process.execPath, [nxBin(options.dir), ...args], { cwd: options.dir, env: { ...podmanEnv, ...NX_ENV } });
  say('nx g @prism/nx-podman:init');
  nx(['g', '@prism/nx-podman:init', '--no-interactive']);
  const ports = await choosePorts(options.plugins.length, { first: FIRST_PORT, last: 20000, twinOffset: DEBUG_PORT_OFFSET });
  for (const [index, name] of options.plugins.entries()) {
    say(`nx g @prism/nx-podman:plugin ${name} --port=${ports[index]} (a gRPC plugin; local builder, scratch runtime, busybox + Delve debug images)`);
    nx([
      'g',
      '@prism/nx-podman:plugin',
      name,
      `--port=${ports[index]}`,
      `--builderImage=${GO_BUILDER_IMAGE}`,
      '--runtimeImage=scratch',
      `--debugImage=${DELVE_IMAGE}`,
      '--delve=image',
      '--no-interactive',
    ]);
  }
  // One watch target for the whole workspace: every plugin (tag:plugin) from one process, core watched through them.
  // concurrency = the number of plugins: a core edit updates them all at once (live updates share one builder).
  writeFileSync(
    join(options.dir, 'project.json'),
    `${JSON.stringify(
      {
        name: DEMO_PROJECT,
        $schema: 'node_modules/nx/schemas/project-schema.json',
        targets: {
          'watch-reload': {
            executor: '@prism/nx-podman:watch-reload',
            continuous: true,
            options: { projects: ['tag:plugin'], reload: true, initialBuild: true, concurrency: options.plugins.length },
            configurations: { debug: { stage: 'debug' } },
          },
        },
      },
      null,
      2,
    )}\n`,
  );
  say(`workspace ready in ${seconds(Date.now() - started)}; starting nx run ${DEMO_PROJECT}:watch-reload (builds and starts every plugin first)`);

  const ctx = { dir: options.dir, plugins: options.plugins, ports, grpcurl: grpcurlPath, watcher: startWatcher(options.dir, podmanEnv, options.verbose) };
  let cleaning;
  const cleanup = () => {
    cleaning ??= ctx.watcher.stop().then(() => removeDemoPodmanObjects(options.plugins, demoImageIds(ctx.watcher.since(0), options.plugins), podmanEnv));
    return cleaning;
  };
  let interrupted = false;
  const onSignal = (signal) => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping watch-reload`);
    // Ctrl-C is how the interactive demo ends; only an interrupted scripted run is a failure.
    cleanup().then(() => process.exit(options.scripted ? 130 : 0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const watchStarted = Date.now();
    await ctx.watcher.waitFor(/INFO\s+watcher ready/, { from: 0, timeoutMs: STARTUP_TIMEOUT_MS });
    ctx.statusUrl = (await ctx.watcher.waitFor(/status page url=(\S+)/, { from: 0, timeoutMs: 1000 }).catch(() => undefined))?.[1];
    if (ctx.statusUrl) say(`status page (live state of every plugin; open it in a browser): ${ctx.statusUrl}`);
    await Promise.all(options.plugins.map((name) => waitHealthy(ctx.watcher, name, 0, STARTUP_TIMEOUT_MS)));
    const startupMs = Date.now() - watchStarted;
    say(`all ${options.plugins.length} plugins built and healthy in ${seconds(startupMs)}`);
    if (!options.scripted) {
      printInstructions(ctx);
      const code = await ctx.watcher.exited;
      await cleanup();
      return interrupted ? 0 : code;
    }
    const results = await scriptedEdits(ctx);
    await cleanup();
    printSummary(ctx, startupMs, results);
    return 0;
  } catch (error) {
    if (interrupted) return 130;
    process.stderr.write(`\ndemo FAILED: ${error.message}\n`);
    await cleanup();
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`\ndemo FAILED: ${error.message}\n`);
    process.exit(1);
  },
);
