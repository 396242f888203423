import type { PodmanEngine, ProcessResult, SleepClock } from './ports';

/** How many times in all {@link execRetryingSignals} makes a podman call. */
const ATTEMPTS = 3;
/** Pause before making a call again. */
const RETRY_PAUSE_MS = 250;

/**
 * Runs a short podman call on the way out, again (up to {@link ATTEMPTS} times in all) when a signal ended it rather
 * than its own timeout: Nx signals the task's whole process tree in its first rounds after Ctrl-C or SIGTERM, which
 * can catch these calls as they start.
 */
export async function execRetryingSignals(
  engine: Pick<PodmanEngine, 'exec'>,
  args: readonly string[],
  options: { clock: SleepClock; timeoutMs?: number; onRetry?: (result: ProcessResult) => void },
): Promise<ProcessResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await engine.exec(args, { timeoutMs: options.timeoutMs });
    if (result.timedOut || result.signal === undefined || attempt === ATTEMPTS) return result;
    options.onRetry?.(result);
    await options.clock.sleep(RETRY_PAUSE_MS);
  }
}
