// Measurement 6: real podman, real Go plugins made by the plugin generator (core + 3 plugins, builder
// localhost/prism/go-builder:1.19, production FROM scratch). Save → new container healthy, warm cache.
import { removeContainersAndPods } from '../lib/podman-objects.mjs';
import { spawnSync } from 'node:child_process';
import { startHttpLoad } from '../lib/load-client.mjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { choosePorts } from '../lib/ports.mjs';
import { join } from 'node:path';
import { startProcess } from './proc.mjs';
import { BUSYBOX_IMAGE, GO_BUILDER_IMAGE, NX_ENV, createWorkspace, writeWatchProject } from './workspace.mjs';

/** Plugin (= Nx project) names; images prism/<name>-plugin:*, containers nxp-bench-<name>. */
export const REAL_PLUGINS = ['nxpbencha', 'nxpbenchb', 'nxpbenchc'];
const containerOf = (name) => `nxp-bench-${name.replace(/^nxpbench/, '')}`;

/** Removes the bench's containers and images (only ours: names and the project label). */
export function removeRealObjects() {
  const containers = REAL_PLUGINS.flatMap((name) => [containerOf(name), `${containerOf(name)}-debug`]);
  removeContainersAndPods(containers);
  for (const name of REAL_PLUGINS) {
    const listed = spawnSync('podman', ['images', '-q', '--no-trunc', '--filter', `label=io.prism.nx-podman.project=${name}`], { encoding: 'utf8' });
    const ids = [...new Set((listed.stdout ?? '').split('\n').filter(Boolean))];
    for (const tag of ['production', 'latest', 'debug']) spawnSync('podman', ['rmi', '-f', `localhost/prism/${name}-plugin:${tag}`], { stdio: 'ignore' });
    if (ids.length) spawnSync('podman', ['rmi', '-f', ...ids], { stdio: 'ignore' });
  }
}

/** Generates the workspace with the init + plugin generators and a root watch-reload target with reload. */
export async function createRealWorkspace(root, templateDir, log) {
  const ws = createWorkspace(root, templateDir, { nxJson: { plugins: [] } });
  ws.nx(['g', '@prism/nx-podman:init', '--no-interactive']);
  const ports = await choosePorts(REAL_PLUGINS.length, { first: 29101, last: 29900, twinOffset: 400 });
  for (const [index, name] of REAL_PLUGINS.entries()) {
    log(`nx g @prism/nx-podman:plugin ${name} --port=${ports[index]}`);
    ws.nx([
      'g',
      '@prism/nx-podman:plugin',
      name,
      `--port=${ports[index]}`,
      `--builderImage=${GO_BUILDER_IMAGE}`,
      '--runtimeImage=scratch',
      `--debugImage=${BUSYBOX_IMAGE}`,
      '--protocol=http',
      '--no-interactive',
    ]);
    // Container names of our own so nothing else's container is touched.
    const path = join(root, 'plugins', name, 'project.json');
    const project = JSON.parse(readFileSync(path, 'utf8'));
    const run = project.targets['podman-run'];
    run.options = { ...run.options, name: containerOf(name), stopTimeout: 2 };
    writeFileSync(path, JSON.stringify(project, null, 2));
  }
  writeWatchProject(ws, { projects: REAL_PLUGINS, extra: { reload: true, initialBuild: true } });
  return Object.assign(ws, { ports });
}

const healthyLine = (name) => new RegExp(`(INFO\\s+plugin healthy|ERROR\\s+(build|reload) failed)\\s+plugin=${name}\\b`);

async function waitHealthy(proc, name, from, timeoutMs) {
  const hit = await proc.waitForLine(healthyLine(name), { from, timeoutMs });
  if (hit.line.includes('ERROR')) throw new Error(`${name}: ${hit.line}`);
  return hit;
}

/**
 * One watcher run at `concurrency`: initial build + run of all three (not measured beyond its total), then
 * `trials` × (edit a plugin's greeting → that plugin healthy) and (edit core's Version → all three healthy).
 */
export async function measureReal(ws, { concurrency, trials, log, live = false, hold = true }) {
  const env = { ...process.env, ...NX_ENV, NX_DAEMON: 'false' };
  const started = Date.now();
  const path = live ? 'live' : 'full';
  // Live rows log at debug level: the builder's warm-up line says when the first live update can start.
  // --verbose: the DEBUG line at the first process of a job says how long the way to it took (`after=`).
  const flags = [live ? '--liveUpdate=auto' : '--liveUpdate=off', '--verbose', ...(hold ? [] : ['--holdRequests=false'])];
  const proc = startProcess(process.execPath, ws.nxArgs(['run', 'bench:watch-reload', `--concurrency=${concurrency}`, '--debounce=100', ...flags]), {
    cwd: ws.root,
    env,
  });
  const result = {
    concurrency,
    path,
    hold,
    load: undefined,
    holds: undefined,
    initialMs: undefined,
    plugin: [],
    pluginBuildStart: [],
    core: [],
    coreBuildStart: [],
    firstProcess: [],
    errors: [],
  };
  // `DEBUG compile started ... after=3ms` (live) / `DEBUG podman command ... after=12ms` (full): job start → first
  // process, read for the plugin edits only (after a core edit, compiles wait for the first one's dependencies).
  const firstProcessTimes = (from) =>
    proc.lines
      .slice(from)
      .map((entry) => /DEBUG\s+(compile started|podman command)\b.*\bafter=(\d+)ms/.exec(entry.line)?.[2])
      .filter((value) => value !== undefined)
      .map(Number);
  const label = `concurrency ${concurrency}, ${path}${hold ? '' : ', holdRequests off'}`;
  // Part of every edit's new text: rows that differ only in holdRequests must not write what the row before left (the
  // watcher rightly ignores a save that changes no content; that hung the holdRequests-off rows, 300 s timeouts).
  const row = `${path}.${concurrency}${hold ? '' : '.nohold'}`;
  let load = [];
  // The first line of a job: the image build, or the live update (its compile starts right after the line).
  const jobLine = (names) => new RegExp(`INFO\\s+(building plugin|live update)\\s+plugin=(${names.join('|')})\\b`);
  try {
    await proc.waitForLine(/INFO\s+watcher ready/, { timeoutMs: 300_000 });
    for (const name of REAL_PLUGINS) await waitHealthy(proc, name, 0, 900_000);
    if (live)
      for (const name of REAL_PLUGINS) await proc.waitForLine(new RegExp(`DEBUG\\s+live update builder warm\\s+plugin=${name}\\b`), { timeoutMs: 900_000 });
    result.initialMs = Date.now() - started;
    log(`  ${label}: initial build + run of 3 plugins ${(result.initialMs / 1000).toFixed(1)} s`);
    // A client on each plugin (GET / on a new connection every 50 ms) through the trials: what a reload does to them.
    load = ws.ports.map((port) => startHttpLoad(port, 50));
    const trialsFrom = proc.lines.length;
    for (let i = 0; i < trials; i++) {
      const name = REAL_PLUGINS[i % REAL_PLUGINS.length];
      const mainGo = join(ws.root, 'plugins', name, 'main.go');
      let from = proc.lines.length;
      let t = Date.now();
      writeFileSync(mainGo, readFileSync(mainGo, 'utf8').replace(new RegExp(`"hello from ${name}[^"]*"`), `"hello from ${name} #${row}.${i + 1}"`));
      const buildLine = await proc.waitForLine(jobLine([name]), { from, timeoutMs: 300_000 });
      result.pluginBuildStart.push(buildLine.t - t);
      const healthy = await waitHealthy(proc, name, from, 300_000);
      result.plugin.push(healthy.t - t);
      result.firstProcess.push(...firstProcessTimes(from));
      log(`  ${label}: plugin file → ${name} healthy ${((healthy.t - t) / 1000).toFixed(1)} s`);

      const versionGo = join(ws.root, 'plugins', 'core', 'version.go');
      from = proc.lines.length;
      t = Date.now();
      // Unique per row and trial: an edit that restores earlier content would be a no-op (same input hash).
      writeFileSync(
        versionGo,
        readFileSync(versionGo, 'utf8').replace(
          /const Version = "[^"]*"/,
          `const Version = "${live ? 1 : 0}.${concurrency + 1}.${i + 1}${hold ? '' : '-nohold'}"`,
        ),
      );
      const firstBuild = await proc.waitForLine(jobLine(REAL_PLUGINS), { from, timeoutMs: 300_000 });
      result.coreBuildStart.push(firstBuild.t - t);
      let last = 0;
      for (const each of REAL_PLUGINS) last = Math.max(last, (await waitHealthy(proc, each, from, 600_000)).t);
      result.core.push(last - t);
      const window = proc.lines.slice(from).map((entry) => entry.line);
      const counts = REAL_PLUGINS.map((each) => window.filter((line) => jobLine([each]).test(line)).length);
      if (counts.some((count) => count !== 1)) result.errors.push(`core edit ran ${counts.join('/')} jobs`);
      const builds = window.filter((line) => /INFO\s+building plugin/.test(line)).length;
      if (live && builds > 0) result.errors.push(`live: ${builds} image builds`);
      log(`  ${label}: core file → all 3 healthy ${((last - t) / 1000).toFixed(1)} s`);
    }
    await Promise.all(load.map((client) => client.stop()));
    const stats = load.map((client) => client.stats);
    result.load = {
      sent: stats.reduce((sum, each) => sum + each.sent, 0),
      failed: stats.reduce((sum, each) => sum + each.failed, 0),
      slowestMs: Math.max(...stats.map((each) => each.slowestMs)),
    };
    // `INFO serving plugin=P held=N waited=0.4s`: one per live update behind the gate (a blue/green replace holds nothing).
    const serving = proc.lines
      .slice(trialsFrom)
      .map((entry) => /INFO\s+serving\s+plugin=\S+\s+held=(\d+)\s+waited=([\d.]+)s/.exec(entry.line))
      .filter(Boolean);
    result.holds = {
      count: serving.length,
      held: serving.reduce((sum, match) => sum + Number(match[1]), 0),
      waitedMs: serving.map((match) => Math.round(Number(match[2]) * 1000)),
    };
    log(
      `  ${label}: clients sent ${result.load.sent}, failed ${result.load.failed}, slowest ${result.load.slowestMs} ms; holds ${result.holds.count}, held ${result.holds.held}`,
    );
  } catch (error) {
    await Promise.all(load.map((client) => client.stop()));
    result.errors.push(error.message.split('\n')[0]);
    log(`  ${label}: FAILED ${error.message.split('\n').slice(0, 12).join('\n')}`);
  } finally {
    await proc.stop(20_000);
  }
  return result;
}
