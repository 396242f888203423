/** An opaque handle returned by {@link TimerClock.setTimer}. */
export type TimerHandle = object;

/**
 * The timer side of the time port, for logic driven by callbacks rather than awaits (the reload scheduler).
 * `createSystemClock()` (adapters/system-clock.ts) implements it next to `Clock.sleep`; tests use `testing/fake-clock.ts`.
 */
export interface TimerClock {
  /** Milliseconds, monotonic within one clock. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimer(handle: TimerHandle): void;
}
