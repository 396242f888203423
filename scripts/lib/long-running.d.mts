import type { ChildProcess } from 'node:child_process';

/** One complete output line and the time (ms since the epoch) it arrived. */
export interface TimedLine {
  t: number;
  line: string;
}

export interface StopOptions {
  /** @default 'SIGINT' */
  signal?: NodeJS.Signals;
  /** Signal the whole process group (a terminal's Ctrl-C) rather than the child alone. @default true */
  group?: boolean;
  /** SIGKILL the group after this long. @default 20000 */
  killAfterMs?: number;
}

export interface LongRunningProcess {
  pid: number | undefined;
  child: ChildProcess;
  lines: TimedLine[];
  /** Resolves with the exit code (128 + n when signal n ended it). */
  exited: Promise<number>;
  output(): string;
  readonly length: number;
  since(from: number): string;
  readonly done: boolean;
  waitFor(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<RegExpMatchArray>;
  waitForLine(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<TimedLine & { index: number }>;
  stop(options?: StopOptions | number): Promise<number>;
}

export declare function startLongRunning(
  file: string,
  args: readonly string[],
  options?: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; label?: string; stdin?: 'ignore' | 'pipe' },
): LongRunningProcess;
