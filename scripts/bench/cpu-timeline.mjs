// Where does the CPU go during a core edit? Like live-timeline.mjs (same workspace, same watcher), with /proc sampled
// every 50 ms while the edit runs: how busy the machine is, and CPU-seconds by process (processes that start and end
// between two samples are missed). A diagnostic, not a benchmark:
//   npm run demo -- --scripted && CONTAINERS_CONF=$PWD/tmp/containers.conf node scripts/bench/cpu-timeline.mjs
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLongRunning } from '../lib/long-running.mjs';

const dir = new URL('../../demo-workspace', import.meta.url).pathname;
const NX_ENV = { NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' };
const PLUGINS = ['postgres', 'kafka', 'redis'];
/** Clock ticks per second in /proc/stat and /proc/<pid>/stat. */
const HZ = 100;
const SAMPLE_MS = 50;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Busy and idle ticks of the whole machine. */
function machineTicks() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq] = fields;
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait };
}

/** Each process's name (podman, node and go with their arguments) and its user + system ticks so far. */
function processTicks() {
  const found = new Map();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      let name = comm;
      if (['podman', 'node', 'go'].includes(comm)) {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1).join(' ');
        name = `${comm} ${args.replace(/nx-podman-builder-\S+/, '<builder>').slice(0, 70)}`;
      }
      found.set(pid, { name, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // ended while being read
    }
  }
  return found;
}

/** Makes `edit`, samples for `durationMs`, prints CPU by process, busy % per 200 ms and the watcher's log lines. */
async function trial(proc, label, edit, durationMs) {
  const from = proc.lines.length;
  const before = processTicks();
  const used = new Map();
  const start = machineTicks();
  const saved = Date.now();
  edit();
  const samples = [];
  for (let previous = start; Date.now() - saved < durationMs;) {
    await sleep(SAMPLE_MS);
    for (const [pid, now] of processTicks()) {
      const earlier = before.get(pid);
      const spent = now.ticks - (earlier?.name === now.name ? earlier.ticks : 0);
      if (spent > 0) used.set(pid, { name: now.name, spent });
    }
    const ticks = machineTicks();
    samples.push({ at: Date.now() - saved, busy: ticks.busy - previous.busy, idle: ticks.idle - previous.idle });
    previous = ticks;
  }
  const end = machineTicks();
  console.log(
    `\n=== ${label}: machine busy ${((end.busy - start.busy) / HZ).toFixed(2)} CPU-s, idle ${((end.idle - start.idle) / HZ).toFixed(2)} CPU-s in ${durationMs} ms`,
  );
  const byName = new Map();
  for (const { name, spent } of used.values()) byName.set(name, (byName.get(name) ?? 0) + spent);
  for (const [name, spent] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${(spent / HZ).toFixed(2).padStart(6)} ${name}`);
  const busy = [];
  for (let index = 0; index < samples.length; index += 4) {
    const group = samples.slice(index, index + 4);
    const ticks = group.reduce((sum, sample) => sum + sample.busy, 0);
    const idle = group.reduce((sum, sample) => sum + sample.idle, 0);
    busy.push(`${group[0].at}:${Math.round((100 * ticks) / (ticks + idle || 1))}%`);
  }
  console.log('  busy %', busy.join(' '));
  for (const { line } of proc.lines.slice(from)) {
    let entry;
    try {
      entry = JSON.parse(line.slice(line.indexOf('{')));
    } catch {
      continue;
    }
    if (/podman command|input hash|not healthy yet|file changed/.test(entry.msg)) continue;
    console.log(
      String(Date.parse(entry.time) - saved).padStart(6),
      entry.level.padEnd(5),
      entry.msg,
      entry.plugin ?? '',
      entry.after ?? entry.duration ?? '',
      entry.compile ?? '',
    );
  }
}

const proc = startLongRunning(
  process.execPath,
  [join(dir, 'node_modules/nx/dist/bin/nx.js'), 'run', 'demo:watch-reload', '--concurrency=3', '--debounce=100', '--verbose', '--logFormat=json'],
  { cwd: dir, env: { ...process.env, ...NX_ENV }, label: 'w' },
);
try {
  for (const plugin of PLUGINS) await proc.waitFor(new RegExp(`"msg":"plugin healthy","plugin":"${plugin}"`), { timeoutMs: 600_000 });
  for (const plugin of PLUGINS) await proc.waitFor(new RegExp(`"msg":"live update builder warm","plugin":"${plugin}"`), { timeoutMs: 600_000 });
  await sleep(3000);
  const version = join(dir, 'plugins/core/version.go');
  await trial(proc, 'idle', () => {}, 3000);
  await trial(
    proc,
    'core edit',
    () => writeFileSync(version, readFileSync(version, 'utf8').replace(/const Version = "[^"]*"/, `const Version = "9.${Date.now() % 1000}"`)),
    6000,
  );
} finally {
  // Never leave the watcher running (a second run would wait for it: "Waiting for demo:watch-reload in another nx process").
  await proc.stop({ signal: 'SIGINT' });
}
