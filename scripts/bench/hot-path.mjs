// Where does save → `podman build` go? A stub workspace (as in part 1), watch-reload at debounce 100 ms with JSON logs,
// 12 saves; prints per save the ms from the save to: the router's event, the change set closing, the input hash, the
// `building plugin` line, the `podman command` line, and the stub podman's process start.
//   npm run package && node scripts/bench/hot-path.mjs dist/packages/prism-nx-podman-0.1.0.tgz [queue|restart]
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { createWorkspace, installStubPodman, prepareTemplate, writeStubLayout, NX_ENV } from './workspace.mjs';
import { startProcess, readStubLog, stubBuilds, sleep } from './proc.mjs';
const work = mkdtempSync(join(tmpdir(), 'hot-'));
const template = join(work, 'template');
prepareTemplate(template, { tarball: process.argv[2] && resolve(process.argv[2]), log: console.log });
const ws = createWorkspace(join(work, 'stub'), template);
const stub = installStubPodman(ws, { buildMs: 200 });
const nxJson = JSON.parse(ws.read('nx.json'));
nxJson.targetDefaults = { 'podman-build': { options: { podman: stub.path } }, 'podman-run': { options: { podman: stub.path } } };
ws.write('nx.json', JSON.stringify(nxJson, null, 2));
const PLUGINS = ['alpha', 'beta', 'gamma'];
writeStubLayout(ws, { plugins: PLUGINS, podman: stub.path });
ws.gitInit();
const policy = process.argv[3] ?? 'queue';
const proc = startProcess(
  process.execPath,
  ws.nxArgs(['run', 'bench:watch-reload', '--debounce=100', `--onBusyUpdate=${policy}`, '--verbose', '--logFormat=json']),
  { cwd: ws.root, env: { ...process.env, ...NX_ENV, NX_DAEMON: 'false' } },
);
await proc.waitForLine(/watcher ready/, { timeoutMs: 120000 });
const rows = [];
for (let i = 0; i < 12; i++) {
  const project = PLUGINS[i % 3];
  const path = join(ws.root, 'plugins', project, 'main.go');
  const from = proc.lines.length;
  const t = Date.now();
  writeFileSync(path, readFileSync(path, 'utf8') + `// hot ${i}\n`);
  await proc.waitForLine(/build completed/, { from, timeoutMs: 30000 });
  await sleep(600);
  const json = proc.lines
    .slice(from)
    .map((l) => {
      try {
        return JSON.parse(l.line.replace(/^[^{]*/, ''));
      } catch {
        return undefined;
      }
    })
    .filter(Boolean);
  const at = (msg) => {
    const e = json.find((j) => j.msg === msg);
    return e ? Date.parse(e.time) - t : undefined;
  };
  const spawn = stubBuilds(readStubLog(stub.home)).filter((b) => b.start >= t)[0];
  rows.push({
    changed: at('file changed'),
    detected: at('detected changes'),
    building: at('building plugin'),
    hash: at('input hash'),
    command: at('podman command'),
    spawned: spawn ? spawn.spawned - t : undefined,
  });
}
console.table(rows);
await proc.stop(10000);
