import type { TimerClock, TimerHandle } from '../core/clock';

/** The time port: runners take a clock so that tests can run waits instantly. */
export interface Clock {
  /** Milliseconds since an arbitrary origin (monotonic for the real clock). */
  now(): number;
  /** Resolves after `ms`, or right away when `signal` aborts (it never rejects); the timer is cleared either way. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `performance.now()` and cancellable `setTimeout`; also the scheduler's {@link TimerClock}. */
export function createSystemClock(): Clock & TimerClock {
  return {
    now: () => performance.now(),
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
