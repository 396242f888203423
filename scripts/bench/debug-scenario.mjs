// Measurement 10: the status page's cost and the debug stage under Delve (issue 13). Real podman, real Go, a plugin
// made by the generator with the local Delve debug image. Three watcher runs of `watch-reload --reload` (debounce 100),
// each `trials` greeting edits (live updates) of the plugin:
//   production, no status page (--statusPort=false)          save → healthy
//   production, the status page open (an event-stream client) save → healthy, events received per save
//   debug stage, the plugin under Delve                       save → healthy, save → Delve lists the edit's new function
//   debug stage, dlv connect attached, a breakpoint set         save → healthy, save → the new code stops at the breakpoint
//     (issue 26: the same `dlv connect` session through every save; it continues when the watcher relaunched the plugin,
//     a request is sent, and the time is when dlv prints the stop; the answer, once continued, carries the edit)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { connectDelve, inspectProgram } from '../lib/delve-client.mjs';
import { attachDlv, DLV_PROMPT } from '../lib/dlv-terminal.mjs';
import { removeContainersAndPods } from '../lib/podman-objects.mjs';
import { choosePorts } from '../lib/ports.mjs';
import { startProcess, sleep } from './proc.mjs';
import { DELVE_IMAGE, GO_BUILDER_IMAGE, NX_ENV, createWorkspace } from './workspace.mjs';

export const DEBUG_PLUGIN = 'nxpbenchdlv';
const CONTAINERS = [`${DEBUG_PLUGIN}-plugin`, `${DEBUG_PLUGIN}-plugin-debug`];

function removeContainers() {
  removeContainersAndPods(CONTAINERS);
}

/** Removes this part's containers and images. */
export function removeDebugObjects() {
  removeContainers();
  for (const tag of ['production', 'latest', 'debug']) spawnSync('podman', ['rmi', '-f', `localhost/prism/${DEBUG_PLUGIN}-plugin:${tag}`], { stdio: 'ignore' });
}

/** Counts the status events of the page's stream until `close()`. */
function openEventStream(url) {
  let events = 0;
  let buffered = '';
  const request = get(url.replace('/?', '/events?'), (response) => {
    response.setEncoding('utf8');
    response.on('data', (chunk) => {
      buffered += chunk;
      const parts = buffered.split('\n\n');
      buffered = parts.pop() ?? '';
      events += parts.filter((part) => part.includes('event: status')).length;
    });
  });
  request.on('error', () => undefined);
  return { events: () => events, close: () => request.destroy() };
}

/** The body of a GET of 127.0.0.1:`port` (it waits while the plugin is stopped at a breakpoint). */
function httpGet(port) {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path: '/', timeout: 300_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 300 s')));
    request.on('error', reject);
  });
}

export async function measureDebug(root, templateDir, { trials, log }) {
  removeDebugObjects();
  const ws = createWorkspace(root, templateDir, { nxJson: { plugins: [] } });
  ws.nx(['g', '@prism/nx-podman:init', '--no-interactive']);
  const [port] = await choosePorts(1, { first: 29950, last: 31000, twinOffset: 2000 });
  ws.nx([
    'g',
    '@prism/nx-podman:plugin',
    DEBUG_PLUGIN,
    `--port=${port}`,
    `--builderImage=${GO_BUILDER_IMAGE}`,
    '--runtimeImage=scratch',
    `--debugImage=${DELVE_IMAGE}`,
    '--delve=image',
    '--protocol=http',
    '--no-interactive',
  ]);
  const mainGo = join(ws.root, 'plugins', DEBUG_PLUGIN, 'main.go');
  const original = readFileSync(mainGo, 'utf8');
  const env = { ...process.env, ...NX_ENV, NX_DAEMON: 'false' };
  const rows = [];
  let edit = 0;
  for (const row of [
    { label: 'production, no status page', configuration: '', page: false },
    { label: 'production, status page open', configuration: '', page: true },
    { label: 'debug stage under Delve', configuration: ':debug', page: false, delve: port + 2000 },
    { label: 'debug stage, dlv connect at a breakpoint', configuration: ':debug', page: false, breakpoint: port + 2000 },
  ]) {
    // A container left live-updated by the row before would be rebuilt at start, in the middle of the first trials.
    removeContainers();
    const result = { label: row.label, saveToHealthy: [], saveToDelve: [], saveToBreakpoint: [], eventsPerSave: [], errors: [] };
    const flags = ['--reload', '--initialBuild', '--debounce=100', ...(row.page ? [] : ['--statusPort=false'])];
    const proc = startProcess(process.execPath, ws.nxArgs(['run', `${DEBUG_PLUGIN}:watch-reload${row.configuration}`, ...flags]), { cwd: ws.root, env });
    let stream;
    let dlv;
    try {
      await proc.waitForLine(new RegExp(`INFO\\s+plugin healthy\\s+plugin=${DEBUG_PLUGIN}\\b`), { timeoutMs: 900_000 });
      await sleep(2000);
      let continuedAt = 0;
      if (row.breakpoint) {
        // The handler's first line: every request stops there.
        const line = original.split('\n').findIndex((text) => text.includes('logger.Debug("request"')) + 1;
        dlv = await attachDlv(row.breakpoint, { cwd: ws.root });
        await dlv.type(`break main.go:${line}`, /Breakpoint 1 set at/);
        continuedAt = dlv.length;
        await dlv.type('continue');
      }
      if (row.page) {
        const url = /status page url=(\S+)/.exec(proc.lines.map((entry) => entry.line).join('\n'))?.[1];
        if (!url) throw new Error('no status page URL printed');
        stream = openEventStream(url);
      }
      for (let i = 0; i < trials + 1; i++) {
        // A new function per edit: Delve must list it once the restarted plugin runs the new binary.
        const marker = `benchEdit${++edit}`;
        const from = proc.lines.length;
        const events = stream?.events() ?? 0;
        const saved = Date.now();
        writeFileSync(
          mainGo,
          `${original.replace(`core.Env("GREETING", "hello from ${DEBUG_PLUGIN}")`, `core.Env("GREETING", ${marker}())`)}\nfunc ${marker}() string { return "${marker}" }\n`,
        );
        if (dlv) {
          // Delve relaunched the plugin: dlv's continue came back. The developer continues (the watcher waits for it).
          await dlv.waitFor(DLV_PROMPT, continuedAt, 300_000);
          continuedAt = dlv.length;
          await dlv.type('continue');
        }
        const hit = await proc.waitForLine(new RegExp(`(INFO\\s+plugin healthy|ERROR\\s+(build|reload) failed)\\s+plugin=${DEBUG_PLUGIN}\\b`), {
          from,
          timeoutMs: 300_000,
        });
        if (hit.line.includes('ERROR')) throw new Error(hit.line);
        // The first edit warms the builder's caches for this configuration: not counted.
        if (i > 0) result.saveToHealthy.push(hit.t - saved);
        let delveMs;
        if (dlv) {
          const answer = httpGet(port + 1000);
          await dlv.waitFor(/\[Breakpoint 1\]/, continuedAt, 300_000);
          delveMs = Date.now() - saved;
          continuedAt = dlv.length;
          await dlv.type('continue');
          const body = await answer;
          if (!body.includes(marker)) throw new Error(`the answer after the breakpoint is not the new code's: ${body.slice(0, 200)}`);
          if (i > 0) result.saveToBreakpoint.push(delveMs);
        }
        if (row.delve) {
          for (;;) {
            const delve = await connectDelve(row.delve, 60_000);
            try {
              if ((await inspectProgram(delve)).functions.includes(`main.${marker}`)) break;
            } finally {
              delve.close();
            }
            if (Date.now() - saved > 120_000) throw new Error(`Delve did not list main.${marker} within 120 s`);
          }
          delveMs = Date.now() - saved;
          if (i > 0) result.saveToDelve.push(delveMs);
        }
        await sleep(1500);
        if (stream && i > 0) result.eventsPerSave.push(stream.events() - events);
        log(
          `  debug part: ${row.label}: save → healthy ${((hit.t - saved) / 1000).toFixed(2)} s${delveMs !== undefined ? `, → ${dlv ? 'stops at the breakpoint' : `Delve lists main.${marker}`} ${(delveMs / 1000).toFixed(2)} s` : ''}${i === 0 ? ' (warm-up, not counted)' : ''}`,
        );
      }
    } catch (error) {
      result.errors.push(error.message.split('\n')[0]);
      log(`  debug part: ${row.label}: FAILED ${error.message.split('\n').slice(0, 8).join('\n')}`);
    } finally {
      stream?.close();
      await dlv?.detach();
      await proc.stop(20_000);
      writeFileSync(mainGo, original);
    }
    rows.push(result);
  }
  removeDebugObjects();
  return { trials, rows };
}
