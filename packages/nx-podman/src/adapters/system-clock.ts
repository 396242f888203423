import type { Clock, TimerHandle } from '../core/ports';

/** The real clock: `performance.now()` and cancellable `setTimeout`; the {@link Clock} port. */
export function createSystemClock(): Clock {
  return {
    now: () => performance.now(),
    date: () => new Date(),
    setTimer: (fn, ms) => setTimeout(fn, Math.max(0, ms)) as TimerHandle,
    clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
    sleep(ms, signal) {
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, ms));
        signal?.addEventListener('abort', done, { once: true });
      });
    },
  };
}
