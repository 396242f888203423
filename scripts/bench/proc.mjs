// Long-running watcher processes for the benchmarks: spawned in their own process group, output kept with arrival
// times, process-tree facts (CPU ticks, RSS, inotify watches) read from /proc.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startLongRunning } from '../lib/long-running.mjs';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a watcher in its own process group (see ../lib/long-running.mjs); `stop()` SIGINTs the group. */
export const startProcess = (file, args, { cwd, env }) => startLongRunning(file, args, { cwd, env, label: basename(file) });

const CLOCK_TICKS = 100; // USER_HZ on Linux

function readStat(pid) {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parens: split after the last ')'.
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]), rssPages: Number(fields[21]) };
  } catch {
    return undefined;
  }
}

function allPids() {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** The pids of `root` and all its descendants, plus `extra(pid)`-selected processes (e.g. the Nx daemon). */
export function processTree(root, extra = () => false) {
  const stats = new Map();
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (stat) stats.set(pid, stat);
  }
  const children = new Map();
  for (const [pid, stat] of stats) {
    if (!children.has(stat.ppid)) children.set(stat.ppid, []);
    children.get(stat.ppid).push(pid);
  }
  const result = new Set();
  const visit = (pid) => {
    if (result.has(pid) || !stats.has(pid)) return;
    result.add(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  for (const pid of stats.keys()) if (!result.has(pid) && extra(pid)) visit(pid);
  return [...result].map((pid) => ({ pid, ...stats.get(pid) }));
}

/** CPU seconds (user+system) of a set of processes. */
export const cpuSeconds = (tree) => tree.reduce((sum, p) => sum + (p.utime + p.stime) / CLOCK_TICKS, 0);
/** RSS in MiB of a set of processes. */
export const rssMiB = (tree) => tree.reduce((sum, p) => sum + (p.rssPages * 4096) / 1024 / 1024, 0);

/** inotify watches held by a set of processes (lines `inotify wd:` in /proc/<pid>/fdinfo of inotify fds). */
export function inotifyWatches(tree) {
  let watches = 0;
  let instances = 0;
  for (const { pid } of tree) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target !== 'anon_inode:inotify') continue;
      instances++;
      try {
        watches += readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')
          .split('\n')
          .filter((line) => line.startsWith('inotify wd:')).length;
      } catch {
        // process gone
      }
    }
  }
  return { watches, instances };
}

/** A selector for the Nx daemon of a workspace (a process whose cwd is the workspace and runs the daemon server). */
export function nxDaemonOf(workspaceRoot) {
  return (pid) => {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`) !== workspaceRoot) return false;
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon/server/start.js');
    } catch {
      return false;
    }
  };
}

/** Samples the RSS of a process tree every `intervalMs`; `peak()` gives the highest sum seen. */
export function sampleRss(root, extra, intervalMs = 500) {
  let peak = 0;
  const take = () => {
    peak = Math.max(peak, rssMiB(processTree(root, extra)));
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** The stub podman's log: parsed lines of log.jsonl. */
export function readStubLog(home) {
  let text;
  try {
    text = readFileSync(join(home, 'log.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return undefined;
      }
    })
    .filter(Boolean);
}

/** Builds in a stub log: [{pid, project, spawned, start, end?, killed?}] (`spawned`: when podman was forked). */
export function stubBuilds(events) {
  const byPid = new Map();
  for (const event of events) {
    if (!event.project && event.project !== '') continue;
    const build = byPid.get(event.pid) ?? { pid: event.pid, project: event.project };
    if (event.ev === 'start') {
      build.start = event.t;
      build.spawned = event.spawned ?? event.t;
    }
    if (event.ev === 'end') build.end = event.t;
    if (event.ev === 'killed') build.killed = event.t;
    byPid.set(event.pid, build);
  }
  return [...byPid.values()].filter((build) => build.start !== undefined).sort((a, b) => a.start - b.start);
}
