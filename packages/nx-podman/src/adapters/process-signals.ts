import { spawn, type ChildProcess } from 'node:child_process';

/** The signals that stop an executor: Ctrl-C, and what process managers, IDEs and `kill` send. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Exit status of a process ended by `signal` (128 + its number), the convention shells and Nx use. */
export function signalExitCode(signal: StopSignal): number {
  return 128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const)[signal];
}

/** What {@link runUntilSignal} tells its caller. */
export interface SignalScope {
  /** Aborts on the first stop signal. */
  readonly signal: AbortSignal;
  /** The stop signal received, if any. */
  readonly received: StopSignal | undefined;
}

/**
 * Runs `work` with an AbortSignal that aborts on SIGINT, SIGTERM or SIGHUP, so that every child process and timer the
 * work owns is torn down instead of orphaned; a repeated signal only calls `onRepeat` (the work is already stopping).
 * The handlers are removed however `work` ends. When a signal stopped the work, the signal is raised again once the
 * work is done (`reraise`, the default): the process then ends by that signal, as a well-behaved Unix program does,
 * and whoever sent it sees 128 + its number (130 for Ctrl-C, 143 for SIGTERM) instead of a success. Nx's executor
 * process would otherwise exit 0 after a SIGTERM.
 */
export async function runUntilSignal<T>(
  work: (scope: SignalScope) => Promise<T>,
  options: { onRepeat?(signal: StopSignal): void; reraise?: boolean; sentinel?: boolean } = {},
): Promise<T> {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const stop = (name: StopSignal) => {
    if (received !== undefined) {
      options.onRepeat?.(name);
      return;
    }
    received = name;
    controller.abort();
  };
  const handlers = STOP_SIGNALS.map((name) => {
    const handler = () => stop(name);
    process.on(name, handler);
    return [name, handler] as const;
  });
  const sentinel = options.sentinel ? startSentinel(stop) : undefined;
  try {
    return await work({
      signal: controller.signal,
      get received() {
        return received;
      },
    });
  } finally {
    sentinel?.end();
    for (const [name, handler] of handlers) process.off(name, handler);
    if (received !== undefined) {
      process.exitCode = signalExitCode(received);
      if (options.reraise !== false && process.listenerCount(received) === 0) process.kill(process.pid, received);
    }
  }
}

/**
 * A child process that does nothing but stand as a leaf of this process's tree, and reports a stop signal it gets as
 * one for this process. Why: Nx 24 stops a task with `killProcessTreeGraceful`, which signals the *leaves* of the
 * task's process tree first and signals a parent only once its children are gone. While an image builds, the leaf is
 * the RUN step's process, PID 1 of its build container, which ignores SIGTERM: the tree never shrinks to the executor
 * within Nx's grace period, so the executor never saw the signal and everything was SIGKILLed after ~5 s (the build
 * killed, not aborted; stopOnExit's containers left running). As a leaf, the sentinel is signalled in Nx's first round,
 * and the executor stops cleanly (aborting the build ends the RUN step). Linux/macOS `sleep`; where it cannot start,
 * stopping works as before.
 */
function startSentinel(stop: (signal: StopSignal) => void): { end(): void } {
  let child: ChildProcess | undefined;
  let ended = false;
  try {
    child = spawn('sleep', ['2147483647'], { stdio: 'ignore' });
  } catch {
    return { end: () => undefined };
  }
  child.on('error', () => undefined);
  child.on('exit', (_code, signal) => {
    if (!ended && signal !== null && (STOP_SIGNALS as readonly string[]).includes(signal)) stop(signal as StopSignal);
  });
  // It must not keep this process alive on its own.
  child.unref();
  return {
    end() {
      ended = true;
      if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
