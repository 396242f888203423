import type { PodmanEngine, ProcessResult, SleepClock } from './ports';

/** How many times in all {@link execRetryingSignals} makes a podman call. */
const ATTEMPTS = 3;
/** Pause before making a call again. */
const RETRY_PAUSE_MS = 250;

/**
 * Runs a short podman call on the way out, again (up to {@link ATTEMPTS} times in all) when a signal ended it rather
 * than its own timeout ({@link endedBySignal}): Nx signals the task's whole process tree in its first rounds after
 * Ctrl-C or SIGTERM, which can catch these calls as they start.
 */
export async function execRetryingSignals(
  engine: Pick<PodmanEngine, 'exec'>,
  args: readonly string[],
  options: { clock: SleepClock; timeoutMs?: number; printsOnSuccess?: boolean; onRetry?: (result: ProcessResult) => void },
): Promise<ProcessResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await engine.exec(args, { timeoutMs: options.timeoutMs });
    if (!endedBySignal(result, options.printsOnSuccess) || attempt === ATTEMPTS) return result;
    options.onRetry?.(result);
    await options.clock.sleep(RETRY_PAUSE_MS);
  }
}

/**
 * Whether a signal ended a podman call. Once podman runs, it handles SIGINT and SIGTERM itself (seen with 4.3.1, e.g.
 * `podman inspect` signalled 25 ms after it started): it exits 1 after SIGINT and 0 after SIGTERM, without a word. So
 * for a command that prints something when it succeeds (`printsOnSuccess`: inspect, create, start, kill, wait), a
 * silent exit 0 or 1 counts as ended by a signal too; a real failure always says why on stderr.
 */
export function endedBySignal(result: ProcessResult, printsOnSuccess = false): boolean {
  if (result.timedOut) return false;
  if (result.signal !== undefined) return true;
  return printsOnSuccess === true && (result.exitCode === 0 || result.exitCode === 1) && result.stdout.trim() === '' && result.stderr.trim() === '';
}
