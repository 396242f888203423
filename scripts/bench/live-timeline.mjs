// Where does a live update's time go? Runs watch-reload (JSON logs, --concurrency=3, debounce 100 ms) in the workspace
// `npm run demo` leaves in demo-workspace/, waits for the builder's warm-up, then edits a plugin, core, another plugin
// and prints each log line's ms after the save (job start → compile, compile, cp + restart, health).
//   npm run demo -- --scripted && CONTAINERS_CONF=$PWD/tmp/containers.conf node scripts/bench/live-timeline.mjs
// (an absolute CONTAINERS_CONF: the watcher runs in demo-workspace/)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLongRunning } from '../lib/long-running.mjs';
const dir = new URL('../../demo-workspace', import.meta.url).pathname;
const NX_ENV = { NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' };
const proc = startLongRunning(
  process.execPath,
  [join(dir, 'node_modules/nx/dist/bin/nx.js'), 'run', 'demo:watch-reload', '--concurrency=3', '--debounce=100', '--verbose', '--logFormat=json'],
  { cwd: dir, env: { ...process.env, ...NX_ENV }, label: 'w' },
);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function trial(label, edit) {
  const from = proc.lines.length;
  const t = Date.now();
  edit();
  await sleep(12000);
  console.log(`\n=== ${label}`);
  for (const { line } of proc.lines.slice(from)) {
    let j;
    try {
      j = JSON.parse(line.slice(line.indexOf('{')));
    } catch {
      continue;
    }
    if (/podman command|input hash|not healthy yet|file changed/.test(j.msg)) continue;
    console.log(
      String(Date.parse(j.time) - t).padStart(6),
      j.level.padEnd(5),
      j.msg,
      j.plugin ?? '',
      j.after ?? j.duration ?? '',
      j.compile ?? '',
      j.downtime ?? '',
      (j.packages ?? '').slice(0, 40),
    );
  }
}
try {
  for (const p of ['postgres', 'kafka', 'redis']) await proc.waitFor(new RegExp(`"msg":"plugin healthy","plugin":"${p}"`), { timeoutMs: 600000 });
  for (const p of ['postgres', 'kafka', 'redis']) await proc.waitFor(new RegExp(`"msg":"live update builder warm","plugin":"${p}"`), { timeoutMs: 600000 });
  await sleep(2000);
  const v = join(dir, 'plugins/core/version.go');
  await trial('plugin edit', () => {
    const m = join(dir, 'plugins/postgres/main.go');
    const s = readFileSync(m, 'utf8');
    writeFileSync(m, s.replace(/core\.Env\("GREETING", "[^"]*"\)/, `core.Env("GREETING", "hi ${Date.now()}")`));
  });
  await trial('core edit', () => writeFileSync(v, readFileSync(v, 'utf8').replace(/const Version = "[^"]*"/, `const Version = "9.${Date.now() % 1000}"`)));
  await trial('plugin edit 2', () => {
    const m = join(dir, 'plugins/kafka/main.go');
    const s = readFileSync(m, 'utf8');
    writeFileSync(m, s.replace(/core\.Env\("GREETING", "[^"]*"\)/, `core.Env("GREETING", "hi ${Date.now()}")`));
  });
} finally {
  // Never leave the watcher running (a second run would wait for it: "Waiting for demo:watch-reload in another nx process").
  await proc.stop({ signal: 'SIGINT' });
}
