import { readdirSync, readFileSync } from 'node:fs';

/** One process below another, with how many generations below it is (1: a child). */
export interface DescendantProcess {
  pid: number;
  depth: number;
}

/** The parent pid of every process, from /proc (Linux); empty where /proc is not readable. */
function readParents(): Map<number, number> {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return parents;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may contain spaces and parentheses: the fields after its last ')' are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone while we read
    }
  }
  return parents;
}

/** Every living process below `pid`, nearest first. */
export function listDescendants(pid: number): DescendantProcess[] {
  const children = new Map<number, number[]>();
  for (const [child, parent] of readParents()) children.set(parent, [...(children.get(parent) ?? []), child]);
  const found: DescendantProcess[] = [];
  const visit = (parent: number, depth: number) => {
    for (const child of children.get(parent) ?? []) {
      found.push({ pid: child, depth });
      visit(child, depth + 1);
    }
  };
  visit(pid, 1);
  return found;
}

/** Sends `signal` to each pid that still exists; a pid already gone is ignored. */
export function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** `/proc/<pid>/mountinfo`, or undefined when the process is gone or not readable. */
export function readMountInfo(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return undefined;
  }
}
