import type { Clock, TimerHandle } from '../core/ports';

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A manual clock for unit tests, implementing the {@link Clock} port: time
 * moves only with `advance`/`advanceTo`/`runAll`, and due timers fire in order of due time, then creation order.
 * Timers scheduled while advancing fire in the same call if they fall due.
 */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** The fake time as a date (milliseconds since the epoch = `now()`). */
  date(): Date {
    return new Date(this.time);
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimer(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    this.timers = this.timers.filter((timer) => timer.id !== id);
  }

  /** Resolves when time is advanced past `ms`, or right away when `signal` aborts (never rejects, like the real clock). */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        this.clearTimer(handle);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const handle = this.setTimer(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Number of timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Due time of the earliest pending timer, if any. */
  nextDue(): number | undefined {
    return this.timers.reduce<number | undefined>((min, timer) => (min === undefined || timer.at < min ? timer.at : min), undefined);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.time + ms);
  }

  /** Moves time to `target`, firing every timer due at or before it. */
  advanceTo(target: number): void {
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = Math.max(this.time, target);
  }

  /** Fires timers until none is left (bounded, to catch timers that reschedule forever). */
  runAll(limit = 10_000): void {
    for (let i = 0; i < limit; i++) {
      const due = this.nextDue();
      if (due === undefined) return;
      this.advanceTo(due);
    }
    throw new Error(`FakeClock.runAll: still ${this.timers.length} timer(s) after ${limit} rounds`);
  }
}
