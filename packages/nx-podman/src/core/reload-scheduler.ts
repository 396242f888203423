import type { TimerClock as Clock, TimerHandle } from './ports';
import { createWatchState, type BuildRequest, type JobReport, type JobResult, type ProjectState, type WatchState } from './watch-state';

/**
 * What to do with a change to a project whose image is being built.
 * - `queue`: let the build finish, then build once more covering every change that came in meanwhile.
 * - `restart`: abort the stale build as soon as one of its inputs changes, and build again once debounced.
 */
export type OnBusyUpdate = 'queue' | 'restart';

/** Settings of {@link createReloadScheduler}; all times in milliseconds. */
export interface ReloadSchedulerOptions {
  /** Trailing quiet period: a change set is closed once no change came in for this long. @default 1000 */
  debounceMs: number;
  /** A change set is closed at the latest this long after its first change, even if changes keep coming. @default 10000 */
  maxWaitMs: number;
  /** Builds of different projects at once. @default 2 */
  concurrency: number;
  /** @default 'queue' */
  onBusyUpdate: OnBusyUpdate;
}

/** How a build the scheduler started ended (the job's result), as reported by the driver. */
export type BuildResultKind = JobResult;
export type { BuildRequest, ProjectState };

/** The side that carries out what the scheduler decides (the job runner, or a test). */
export interface SchedulerDriver {
  /** A change set closed and touched `project` (called once per project per change set, before any build starts). */
  changesDetected?(project: string, files: readonly string[]): void;
  /**
   * Start building; report the end by calling `finished` (or {@link ReloadScheduler.buildFinished}) once, with the
   * job's report (the job runner) or its result alone (a test). May report synchronously.
   */
  startBuild(request: BuildRequest, finished: (outcome: JobReport | BuildResultKind) => void): void;
  /** Abort a running build (its inputs changed and `onBusyUpdate` is `restart`, or the scheduler is disposed). */
  abortBuild(project: string, buildId: number): void;
}

/**
 * Decides when to build which project, over the watch state (`core/watch-state.ts`, which holds every change set,
 * queue and job): the scheduler owns only its timer. Pure: time comes from the injected clock, effects go to the driver.
 */
export interface ReloadScheduler {
  /** Inputs of these (already affected-expanded) projects changed; `file` is kept for logs. Paused projects hold it. */
  notify(projects: Iterable<string>, file?: string): void;
  /** Build these projects now, without debounce (the initial build); `reason` is passed on as the request's `fullReason`. */
  requestBuild(projects: Iterable<string>, reason?: string): void;
  /**
   * "Build now" (the status page): the project's changes of the open change set go now, without waiting for the
   * debounce; with no change waiting, a build asked for with `reason`. A project already waiting for a slot keeps its place.
   */
  buildNow(project: string, reason: string): void;
  /** Holds the project's changes (in order) until {@link resume}; false when it was paused already. */
  pause(project: string): boolean;
  /** Lets the held changes through, in order; returns how many files were held, undefined when it was not paused. */
  resume(project: string): number | undefined;
  /** When the open change set closes (clock time), or undefined when none is open. */
  closesAt(): number | undefined;
  /** The driver reports the end of the build it was asked to start for `project`. Unknown projects are ignored. */
  buildFinished(project: string, outcome: JobReport | BuildResultKind): void;
  state(project: string): ProjectState;
  /** Projects being built right now. */
  building(): string[];
  /** True when no change set is open, nothing waits and nothing builds. */
  isIdle(): boolean;
  /** Cancels the timer, forgets waiting work and asks the driver to abort running builds; returns those projects. */
  dispose(): string[];
}

/** Creates a {@link ReloadScheduler}; without a `state`, one of its own. Options are validated by the caller (normalize-options). */
export function createReloadScheduler(options: ReloadSchedulerOptions, ports: { clock: Clock; driver: SchedulerDriver; state?: WatchState }): ReloadScheduler {
  const { clock, driver } = ports;
  const state = ports.state ?? createWatchState({ now: () => clock.now() });
  let disposed = false;

  /** Starts queued projects while slots are free; a driver reporting synchronously re-enters through buildFinished. */
  const pump = runOnceAtATime(() => {
    while (!disposed && state.queued() > 0 && state.running().length < options.concurrency) {
      const request = state.startNext()!;
      driver.startBuild(request, (outcome) => scheduler.buildFinished(request.project, outcome));
    }
  });

  /** A project's change set closed (after the debounce, or asked for now): queue it, or mark its build dirty. */
  const closeFor = (project: string) => {
    const files = state.settle(project);
    driver.changesDetected?.(project, files);
  };

  const flush = () => {
    const closed = state.closeWindow();
    timer.stop();
    if (disposed) return;
    for (const project of closed) closeFor(project);
    pump();
  };
  const timer = createChangeSetTimer(clock, options, state, flush);

  const notifyActive = (projects: Iterable<string>, file: string | undefined) => {
    const joined = state.changed(projects, file);
    if (options.onBusyUpdate === 'restart') {
      for (const project of joined) {
        const id = state.requestAbort(project);
        if (id !== undefined) driver.abortBuild(project, id);
      }
    }
    timer.restart();
  };

  const scheduler: ReloadScheduler = {
    notify(projects, file) {
      if (disposed) return;
      const { active, held } = holdPaused(state, projects, file);
      // A change only paused projects hold leaves the open change set alone; any other restarts its quiet period.
      if (active.length > 0 || !held) notifyActive(active, file);
    },

    pause(project) {
      return state.setPaused(project, true);
    },

    resume(project) {
      if (!state.isPaused(project)) return undefined;
      const files = state.takeHeld(project);
      state.setPaused(project, false);
      for (const file of files) scheduler.notify([project], file);
      return files.length;
    },

    buildNow(project, reason) {
      if (disposed) return;
      if (state.closeWindow(project).length > 0) {
        if (state.openWindow() === undefined) timer.stop();
        closeFor(project);
        pump();
        return;
      }
      if (state.stateOf(project) === 'pending') return;
      scheduler.requestBuild([project], reason);
    },

    closesAt() {
      return timer.closesAt();
    },

    requestBuild(projects, reason = 'build requested') {
      if (disposed) return;
      for (const project of projects) state.requestFull(project, reason);
      pump();
    },

    buildFinished(project, outcome) {
      if (!state.running().includes(project)) return;
      // The job's report goes into the state here, once: the page and the next decision read the same end.
      state.ended(project, typeof outcome === 'string' ? { result: outcome, path: 'full' } : outcome, !disposed);
      pump();
    },

    state(project) {
      return state.stateOf(project);
    },

    building() {
      return state.running();
    },

    isIdle() {
      return state.isIdle();
    },

    dispose() {
      disposed = true;
      timer.stop();
      const running = state.clearWork();
      for (const project of running) {
        const id = state.requestAbort(project);
        if (id !== undefined) driver.abortBuild(project, id);
      }
      return running;
    },
  };
  return scheduler;
}

/** The paused projects among `projects` hold the change (in order); the others are returned as active. */
function holdPaused(state: WatchState, projects: Iterable<string>, file: string | undefined): { active: string[]; held: boolean } {
  const active: string[] = [];
  let held = false;
  for (const project of projects) {
    if (state.isPaused(project)) {
      held = true;
      if (file !== undefined) state.hold(project, file);
    } else active.push(project);
  }
  return { active, held };
}

/**
 * The open change set's timer: after each change it closes the set `debounceMs` later, but never later than `maxWaitMs`
 * after the set's first change. The closing time goes into the state (the page counts down to it).
 */
function createChangeSetTimer(clock: Clock, options: Pick<ReloadSchedulerOptions, 'debounceMs' | 'maxWaitMs'>, state: WatchState, onClose: () => void) {
  let handle: TimerHandle | undefined;
  let closesAt: number | undefined;
  return {
    restart() {
      const window = state.openWindow();
      if (!window) return;
      if (handle !== undefined) clock.clearTimer(handle);
      const now = clock.now();
      const delay = Math.max(0, Math.min(options.debounceMs, window.firstAt + options.maxWaitMs - now));
      closesAt = now + delay;
      handle = clock.setTimer(onClose, delay);
      state.setClosesAt(closesAt);
    },
    stop() {
      if (handle !== undefined) clock.clearTimer(handle);
      handle = undefined;
      closesAt = undefined;
      state.setClosesAt(undefined);
    },
    closesAt: () => closesAt,
  };
}

/**
 * `run` made safe to call from inside itself: a call while it runs makes it run once more when it is done, instead of
 * running nested (a driver that reports a build's end synchronously calls back into the scheduler).
 */
function runOnceAtATime(run: () => void): () => void {
  let running = false;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        run();
      } while (again);
    } finally {
      running = false;
    }
  };
}
