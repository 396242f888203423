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
  options: { onRepeat?(signal: StopSignal): void; reraise?: boolean } = {},
): Promise<T> {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const handlers = STOP_SIGNALS.map((name) => {
    const handler = () => {
      if (received !== undefined) {
        options.onRepeat?.(name);
        return;
      }
      received = name;
      controller.abort();
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  try {
    return await work({
      signal: controller.signal,
      get received() {
        return received;
      },
    });
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
    if (received !== undefined) {
      process.exitCode = signalExitCode(received);
      if (options.reraise !== false && process.listenerCount(received) === 0) process.kill(process.pid, received);
    }
  }
}
