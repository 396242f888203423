// Measurements 1-5 and 7 with the stub podman: one watcher ("tool") at a time on the same 4-project workspace.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, inotifyWatches, nxDaemonOf, processTree, readStubLog, sampleRss, sleep, startProcess, stubBuilds } from './proc.mjs';
import { NX_ENV } from './workspace.mjs';

export const PLUGINS = ['alpha', 'beta', 'gamma'];

/**
 * The watchers compared. `command(debounce)` is what runs (argv after `node`); `settleMs` is how long a quiet stub
 * log must stay quiet before a scenario counts its builds (nx watch starts a whole `nx run` per change, so it gets longer).
 */
export function tools(ws) {
  const nxRun = (policy) => ({
    id: `watch-reload-${policy}`,
    label: `watch-reload (onBusyUpdate ${policy})`,
    daemon: false,
    settleMs: (debounce) => debounce + 2500,
    args: (debounce) => ws.nxArgs(['run', 'bench:watch-reload', `--debounce=${debounce}`, `--onBusyUpdate=${policy}`]),
    shell: (debounce) => `nx run bench:watch-reload --debounce=${debounce} --onBusyUpdate=${policy}`,
    debounced: true,
  });
  return [
    nxRun('queue'),
    nxRun('restart'),
    {
      id: 'nx-watch',
      label: 'nx watch + nx run podman-build',
      daemon: true,
      settleMs: () => 8000,
      args: () => ws.nxArgs(['watch', `--projects=${PLUGINS.join(',')}`, '-d', '--', 'node_modules/.bin/nx', 'run', '$NX_PROJECT_NAME:podman-build']),
      shell: () => `nx watch --projects=${PLUGINS.join(',')} -d -- nx run \\$NX_PROJECT_NAME:podman-build`,
      debounced: false,
    },
  ];
}

/** Waits until no build runs and the stub log has had no new line for `quietMs` (and at least `minMs` passed). */
async function waitQuiet(stub, { quietMs, minMs = 0, timeoutMs = 180_000 }) {
  const began = Date.now();
  let lastBusy = began;
  for (;;) {
    const events = readStubLog(stub.home);
    const running = stubBuilds(events).some((build) => build.end === undefined && build.killed === undefined);
    const now = Date.now();
    if (running || stub.isBusy?.()) lastBusy = now;
    const last = Math.max(events.at(-1)?.t ?? 0, lastBusy);
    if (now - last >= quietMs && now - began >= minMs) return;
    if (now - began > timeoutMs) throw new Error(`the stub podman did not go quiet within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Polls the stub log until a build of `project` starts after `after`; returns it. */
async function waitBuildStart(stub, project, after, timeoutMs = 60_000) {
  const began = Date.now();
  for (;;) {
    const build = stubBuilds(readStubLog(stub.home)).find((b) => b.project === project && b.start > after);
    if (build) return build;
    if (Date.now() - began > timeoutMs) return undefined;
    await sleep(20);
  }
}

const buildsSince = (stub, t) => stubBuilds(readStubLog(stub.home)).filter((build) => build.start >= t);

let counter = 0;
/** A content change to a plugin's main.go that changes its input hash. */
function touch(ws, project, note) {
  const path = join(ws.root, 'plugins', project, 'main.go');
  const text = readFileSync(path, 'utf8').replace(/\n\/\/ bench:.*\n$/, '\n');
  writeFileSync(path, `${text}// bench: ${note} ${++counter}\n`);
}

/** Starts a tool and waits until it reacts: a probe save repeated until a build of alpha starts (discarded). */
export async function startTool(tool, ws, stub, { debounce }) {
  const env = { ...process.env, ...NX_ENV, NX_DAEMON: tool.daemon ? 'true' : 'false' };
  const started = Date.now();
  const proc = startProcess(process.execPath, tool.args(debounce), { cwd: ws.root, env });
  const extra = tool.daemon ? nxDaemonOf(ws.root) : () => false;
  const rss = sampleRss(proc.pid, extra);
  // nx watch runs a whole `nx run` per change: busy while one of those is alive, before podman is even called.
  stub.isBusy = tool.daemon ? () => processTree(proc.pid).some(({ pid }) => isNxRunBuild(pid)) : undefined;
  let readyMs;
  if (tool.debounced) {
    const ready = await proc.waitForLine(/INFO\s+watcher ready/, { timeoutMs: 180_000 });
    readyMs = ready.t - started;
  }
  // Probe until a build starts: nx watch prints nothing when it is ready.
  for (let attempt = 0; ; attempt++) {
    const t = Date.now();
    touch(ws, 'alpha', 'probe');
    if (await waitBuildStart(stub, 'alpha', t, tool.daemon ? 30_000 : 8000)) break;
    if (proc.done) throw new Error(`${tool.label} exited:\n${proc.output().slice(-3000)}`);
    if (attempt > 15) throw new Error(`${tool.label}: no build after 16 probe saves:\n${proc.output().slice(-3000)}`);
  }
  await waitQuiet(stub, { quietMs: tool.settleMs(debounce) });
  return { proc, rss, extra, readyMs, tree: () => processTree(proc.pid, extra) };
}

/** A `nx run <project>:podman-build` (or the shell running it) started by nx watch. */
function isNxRunBuild(pid) {
  try {
    return /run[\s\0]+[^\s\0$]+:podman-build/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

export async function stopTool(running, ws, tool, stub) {
  stub.isBusy = undefined;
  running.rss.stop();
  await running.proc.stop();
  if (tool.daemon) {
    const { spawnSync } = await import('node:child_process');
    spawnSync(process.execPath, ws.nxArgs(['daemon', '--stop']), { cwd: ws.root, env: { ...process.env, ...NX_ENV, NX_DAEMON: 'true' }, stdio: 'ignore' });
  }
}

/** (1) save → build start, `trials` saves of alpha/main.go, one at a time. Latencies in ms. */
export async function measureLatency(tool, ws, stub, { debounce, trials }) {
  stub.setConfig({ buildMs: 200 });
  const latencies = [];
  const missed = [];
  for (let i = 0; i < trials; i++) {
    const project = PLUGINS[i % PLUGINS.length];
    const t = Date.now();
    touch(ws, project, 'latency');
    const build = await waitBuildStart(stub, project, t, 60_000);
    if (build) latencies.push(build.spawned - t);
    else missed.push(i);
    await waitQuiet(stub, { quietMs: tool.debounced ? debounce + 500 : 3000 });
  }
  return { latencies, missed: missed.length };
}

/** (2) 200 files written within 1 s into `projects`; builds started per project once quiet. */
export async function measureStorm(tool, ws, stub, { debounce, projects, files = 200, windowMs = 1000, tag }) {
  stub.setConfig({ buildMs: 500 });
  const t = Date.now();
  for (let i = 0; i < files; i++) {
    const project = projects[i % projects.length];
    const pkg = project === 'core' ? 'core' : 'main';
    writeFileSync(join(ws.root, 'plugins', project, `storm_${tag}_${i}.go`), `package ${pkg}\n\nfunc storm${tag}${i}() int { return ${i} }\n`);
    const due = t + ((i + 1) * windowMs) / files;
    if (due > Date.now()) await sleep(due - Date.now());
  }
  const writeMs = Date.now() - t;
  await waitQuiet(stub, { quietMs: tool.settleMs(debounce), minMs: 1500 });
  const builds = buildsSince(stub, t);
  const perProject = Object.fromEntries(PLUGINS.map((name) => [name, builds.filter((b) => b.project === name).length]));
  const affected = projects.includes('core') ? PLUGINS : projects;
  return { writeMs, builds: builds.length, perProject, ideal: affected.length, missing: affected.filter((name) => perProject[name] === 0) };
}

/** Same-project overlaps among builds (intervals start..end/killed, or still running). */
function overlaps(builds) {
  let count = 0;
  for (let i = 0; i < builds.length; i++) {
    for (let j = i + 1; j < builds.length; j++) {
      const a = builds[i];
      const b = builds[j];
      if (a.project !== b.project) continue;
      const aEnd = a.end ?? a.killed ?? Infinity;
      if (b.start < aEnd) count++;
    }
  }
  return count;
}

/**
 * (3) A change while alpha builds (build 3 s): save, wait for the build to start, save again `offsetMs` into it.
 * Lost = no build that completed started after the last save.
 */
export async function measureBusy(tool, ws, stub, { debounce, offsetMs, buildMs = 3000 }) {
  stub.setConfig({ buildMs });
  const t = Date.now();
  touch(ws, 'alpha', 'busy-first');
  const first = await waitBuildStart(stub, 'alpha', t, 60_000);
  if (!first) throw new Error(`${tool.label}: no build after the first save`);
  const due = first.start + offsetMs;
  if (due > Date.now()) await sleep(due - Date.now());
  const second = Date.now();
  touch(ws, 'alpha', 'busy-second');
  await waitQuiet(stub, { quietMs: tool.settleMs(debounce), minMs: buildMs });
  const builds = buildsSince(stub, t).filter((b) => b.project === 'alpha');
  const completedAfter = builds.some((b) => b.start > second && b.end !== undefined && b.killed === undefined);
  stub.setConfig({ buildMs: 200 });
  return {
    writtenAtMs: second - first.start,
    builds: builds.length,
    killed: builds.filter((b) => b.killed !== undefined).length,
    overlaps: overlaps(builds),
    lost: completedAfter ? 0 : 1,
  };
}

/** (7) Saves of alpha/main.go with unchanged content after a build of that content: builds started. */
export async function measureNoop(tool, ws, stub, { debounce, trials }) {
  stub.setConfig({ buildMs: 200 });
  const path = join(ws.root, 'plugins', 'alpha', 'main.go');
  let t = Date.now();
  touch(ws, 'alpha', 'noop-base');
  await waitBuildStart(stub, 'alpha', t, 60_000);
  await waitQuiet(stub, { quietMs: tool.settleMs(debounce) });
  t = Date.now();
  const eventsBefore = readStubLog(stub.home).length;
  for (let i = 0; i < trials; i++) {
    writeFileSync(path, readFileSync(path, 'utf8'));
    await waitQuiet(stub, { quietMs: tool.settleMs(debounce), minMs: 1000 });
  }
  return { saves: trials, builds: buildsSince(stub, t).length, podmanCalls: readStubLog(stub.home).length - eventsBefore };
}

/** (4) Idle: CPU of the watcher tree over `seconds`, RSS now, inotify watches. */
export async function measureIdle(running, { seconds }) {
  const before = cpuSeconds(running.tree());
  const t = Date.now();
  await sleep(seconds * 1000);
  const tree = running.tree();
  const cpu = cpuSeconds(tree) - before;
  const wall = (Date.now() - t) / 1000;
  return { seconds: wall, cpuPercent: (cpu / wall) * 100, processes: tree.length, inotify: inotifyWatches(tree) };
}

/** (5) Spawn → `watcher ready` for our watcher; returns ms per trial plus inotify watches at ready. */
export async function measureStartup(ws, { trials }) {
  const samples = [];
  let inotify;
  let rss = 0;
  for (let i = 0; i < trials; i++) {
    const env = { ...process.env, ...NX_ENV, NX_DAEMON: 'false' };
    const started = Date.now();
    const proc = startProcess(process.execPath, ws.nxArgs(['run', 'bench:watch-reload', '--debounce=100']), { cwd: ws.root, env });
    const sampler = sampleRss(proc.pid, () => false, 250);
    try {
      const ready = await proc.waitForLine(/INFO\s+watcher ready/, { timeoutMs: 300_000 });
      samples.push(ready.t - started);
      const tree = processTree(proc.pid);
      inotify = inotifyWatches(tree);
    } finally {
      rss = Math.max(rss, sampler.stop());
      await proc.stop();
    }
  }
  return { samples, inotify, peakRssMiB: rss };
}
