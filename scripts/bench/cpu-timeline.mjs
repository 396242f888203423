// Where does the CPU go during a core edit? Like live-timeline.mjs, with /proc sampled every 50 ms during the edit:
// machine CPU busy, and CPU-seconds by process name (short processes between samples are missed).
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startLongRunning } from '../lib/long-running.mjs';
const dir = new URL('../../demo-workspace', import.meta.url).pathname;
const NX_ENV = { NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' };
const proc = startLongRunning(process.execPath, [join(dir, 'node_modules/nx/dist/bin/nx.js'), 'run', 'demo:watch-reload', '--concurrency=3', '--debounce=100', '--verbose', '--logFormat=json'], { cwd: dir, env: { ...process.env, ...NX_ENV }, label: 'w' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (const p of ['postgres', 'kafka', 'redis']) await proc.waitFor(new RegExp(`"msg":"plugin healthy","plugin":"${p}"`), { timeoutMs: 600000 });
for (const p of ['postgres', 'kafka', 'redis']) await proc.waitFor(new RegExp(`"msg":"live update builder warm","plugin":"${p}"`), { timeoutMs: 600000 });
await sleep(3000);
const HZ = 100;
const machine = () => { const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number); return { busy: f[0] + f[1] + f[2] + f[5] + f[6], idle: f[3] + f[4] }; };
const procs = () => { const m = new Map(); for (const pid of readdirSync('/proc')) { if (!/^\d+$/.test(pid)) continue; try { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); let name = comm; if (comm === 'podman' || comm === 'node' || comm === 'go' ) { try { name = comm + ' ' + readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1).join(' ').replace(/nx-podman-builder-\S+/,'B').slice(0, 70); } catch {} } m.set(pid, { name, t: Number(f[11]) + Number(f[12]) }); } catch {} } return m; };
async function trial(label, edit, ms) {
  const from = proc.lines.length;
  const base = procs(); const seen = new Map(); const m0 = machine();
  const t = Date.now();
  edit();
  const busy = [];
  let prev = m0;
  while (Date.now() - t < ms) { await sleep(50); const now = procs(); for (const [pid, v] of now) { const b = base.get(pid)?.t ?? 0; const d = v.t - (base.get(pid)?.name === v.name ? b : 0); if (d > 0) seen.set(pid, { name: v.name, d }); } const m = machine(); busy.push([Date.now() - t, (m.busy - prev.busy), (m.idle - prev.idle)]); prev = m; }
  const m1 = machine();
  console.log(`\n=== ${label}: machine busy ${((m1.busy - m0.busy) / HZ).toFixed(2)} CPU-s, idle ${((m1.idle - m0.idle) / HZ).toFixed(2)} CPU-s in ${ms} ms`);
  const byName = new Map(); for (const { name, d } of seen.values()) byName.set(name, (byName.get(name) ?? 0) + d);
  for (const [n, d] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${(d / HZ).toFixed(2).padStart(6)} ${n}`);
  let acc = []; for (let i = 0; i < busy.length; i += 4) { const s = busy.slice(i, i + 4); const b = s.reduce((a, x) => a + x[1], 0), id = s.reduce((a, x) => a + x[2], 0); acc.push(`${s[0][0]}:${Math.round(100 * b / (b + id || 1))}%`); } console.log('  busy%', acc.join(' '));
  for (const { line } of proc.lines.slice(from)) {
    let j; try { j = JSON.parse(line.slice(line.indexOf('{'))); } catch { continue; }
    if (/podman command|input hash|not healthy yet|file changed/.test(j.msg)) continue;
    console.log(String(Date.parse(j.time) - t).padStart(6), j.level.padEnd(5), j.msg, j.plugin ?? '', j.after ?? j.duration ?? '', j.compile ?? '', j.downtime ?? '', (j.packages ?? '').slice(0, 40));
  }
}
const v = join(dir, 'plugins/core/version.go');
await trial('idle', () => {}, 3000);
for (let i = 0; i < 1; i++) { await trial('core edit', () => writeFileSync(v, readFileSync(v, 'utf8').replace(/const Version = "[^"]*"/, `const Version = "9.${Date.now() % 1000}"`)), 6000); await sleep(3000); }
await proc.stop({ signal: 'SIGINT' });
