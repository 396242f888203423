import type { TimerClock as Clock, TimerHandle } from './ports';

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

/**
 * Where a project stands:
 * `idle` (nothing to do), `pending` (changed; waiting for the change set to close or for a free build slot),
 * `building`, `building+dirty` (building, and changed since that build started: one more build follows).
 */
export type ProjectState = 'idle' | 'pending' | 'building' | 'building+dirty';

/** How a build the scheduler started ended, as reported by the driver. */
export type BuildResultKind = 'succeeded' | 'failed' | 'aborted';

/** One build the scheduler asks for. */
export interface BuildRequest {
  /** Unique per scheduler, increasing. */
  id: number;
  project: string;
  /** Changed files (as given to `notify`) this build covers; empty for a build asked for with `requestBuild`. */
  files: string[];
  /** Set when the build covers a `requestBuild` (its reason): the changed files alone do not say what changed. */
  fullReason?: string;
}

/** The side that carries out what the scheduler decides (the watch-reload runner, or a test). */
export interface SchedulerDriver {
  /** A change set closed and touched `project` (called once per project per change set, before any build starts). */
  changesDetected?(project: string, files: readonly string[]): void;
  /** Start building; report the end with {@link ReloadScheduler.buildFinished}. May report synchronously. */
  startBuild(request: BuildRequest): void;
  /** Abort a running build (its inputs changed and `onBusyUpdate` is `restart`, or the scheduler is disposed). */
  abortBuild(project: string, buildId: number): void;
}

/** Decides when to build which project. Pure: time comes from the injected clock, effects go to the driver. */
export interface ReloadScheduler {
  /** Inputs of these (already affected-expanded) projects changed; `file` is kept for logs. */
  notify(projects: Iterable<string>, file?: string): void;
  /** Build these projects now, without debounce (the initial build); `reason` is passed on as the request's `fullReason`. */
  requestBuild(projects: Iterable<string>, reason?: string): void;
  /**
   * "Build now" (the status page): the project's changes of the open change set go now, without waiting for the
   * debounce; with no change waiting, a build asked for with `reason`. A project already waiting for a slot keeps its place.
   */
  buildNow(project: string, reason: string): void;
  /** When the open change set closes (clock time), or undefined when none is open. */
  closesAt(): number | undefined;
  /** The driver reports the end of the build it was asked to start for `project`. Unknown projects are ignored. */
  buildFinished(project: string, result: BuildResultKind): void;
  state(project: string): ProjectState;
  /** Projects being built right now. */
  building(): string[];
  /** True when no change set is open, nothing waits and nothing builds. */
  isIdle(): boolean;
  /** Cancels the timer, forgets waiting work and asks the driver to abort running builds; returns those projects. */
  dispose(): string[];
}

interface ProjectEntry {
  /** Sequence number of the last change notified for this project. */
  lastChangeSeq: number;
  /** Files of the open change set. */
  windowFiles?: Set<string>;
  pending: boolean;
  pendingFiles: Set<string>;
  /** The reason of a `requestBuild` the next build covers. */
  pendingFull?: string;
  building?: { id: number; startedSeq: number; abortRequested: boolean };
  dirty: boolean;
  dirtyFiles: Set<string>;
  dirtyFull?: string;
}

/** Creates a {@link ReloadScheduler}. Options are validated by the caller (normalize-options). */
export function createReloadScheduler(options: ReloadSchedulerOptions, ports: { clock: Clock; driver: SchedulerDriver }): ReloadScheduler {
  const { clock, driver } = ports;
  const entries = new Map<string, ProjectEntry>();
  const queue: string[] = [];
  // Orders changes and build starts; a build covers every change with a smaller sequence number.
  let seq = 0;
  let buildId = 0;
  let window: { firstAt: number; projects: Set<string> } | undefined;
  let timer: TimerHandle | undefined;
  let closesAt: number | undefined;
  let disposed = false;
  let pumping = false;
  let pumpAgain = false;

  const entry = (project: string): ProjectEntry => {
    let found = entries.get(project);
    if (!found) {
      found = { lastChangeSeq: 0, pending: false, pendingFiles: new Set(), dirty: false, dirtyFiles: new Set() };
      entries.set(project, found);
    }
    return found;
  };
  const runningCount = () => [...entries.values()].filter((e) => e.building).length;

  const enqueue = (project: string, files: Iterable<string>, fullReason?: string) => {
    const e = entry(project);
    for (const file of files) e.pendingFiles.add(file);
    e.pendingFull ??= fullReason;
    if (!e.pending) {
      e.pending = true;
      queue.push(project);
    }
  };

  const start = (project: string) => {
    const e = entry(project);
    const files = [...e.pendingFiles];
    const fullReason = e.pendingFull;
    e.pending = false;
    e.pendingFiles = new Set();
    e.pendingFull = undefined;
    e.building = { id: ++buildId, startedSeq: ++seq, abortRequested: false };
    driver.startBuild({ id: e.building.id, project, files, fullReason });
  };

  const pump = () => {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        while (!disposed && queue.length > 0 && runningCount() < options.concurrency) {
          start(queue.shift()!);
        }
      } while (pumpAgain);
    } finally {
      pumping = false;
    }
  };

  /** A project's change set closed (after the debounce, or asked for now): queue it, or mark its build dirty. */
  const closeFor = (project: string) => {
    const e = entry(project);
    const files = e.windowFiles ?? new Set<string>();
    e.windowFiles = undefined;
    driver.changesDetected?.(project, [...files]);
    if (e.building) {
      // A build that started after the change (it was waiting for a slot) sees the changed tree, but its request did
      // not list these files: one more build follows with them, so that what depends on which files changed (a live
      // update or the full path) is decided on every file. An image build then finds its image up to date.
      e.dirty = true;
      for (const file of files) e.dirtyFiles.add(file);
    } else {
      enqueue(project, files);
    }
  };

  /** Ends the open change set: no timer, no countdown. */
  const closeWindow = () => {
    if (timer !== undefined) clock.clearTimer(timer);
    timer = undefined;
    closesAt = undefined;
    window = undefined;
  };

  const flush = () => {
    const closed = window;
    closeWindow();
    if (!closed || disposed) return;
    for (const project of closed.projects) closeFor(project);
    pump();
  };

  return {
    notify(projects, file) {
      if (disposed) return;
      const now = clock.now();
      const changeSeq = ++seq;
      window ??= { firstAt: now, projects: new Set() };
      for (const project of projects) {
        const e = entry(project);
        e.lastChangeSeq = changeSeq;
        e.windowFiles ??= new Set();
        if (file !== undefined) e.windowFiles.add(file);
        window.projects.add(project);
        if (options.onBusyUpdate === 'restart' && e.building && !e.building.abortRequested) {
          e.building.abortRequested = true;
          driver.abortBuild(project, e.building.id);
        }
      }
      if (window.projects.size === 0) {
        window = undefined;
        return;
      }
      if (timer !== undefined) clock.clearTimer(timer);
      const delay = Math.max(0, Math.min(options.debounceMs, window.firstAt + options.maxWaitMs - now));
      closesAt = now + delay;
      timer = clock.setTimer(flush, delay);
    },

    buildNow(project, reason) {
      if (disposed) return;
      if (window?.projects.has(project)) {
        window.projects.delete(project);
        if (window.projects.size === 0) closeWindow();
        closeFor(project);
        pump();
        return;
      }
      if (entry(project).pending) return;
      this.requestBuild([project], reason);
    },

    closesAt() {
      return closesAt;
    },

    requestBuild(projects, reason = 'build requested') {
      if (disposed) return;
      for (const project of projects) {
        const e = entry(project);
        if (e.building) {
          e.dirty = true;
          e.dirtyFull ??= reason;
        } else {
          enqueue(project, [], reason);
        }
      }
      pump();
    },

    buildFinished(project, _result) {
      const e = entries.get(project);
      if (!e?.building) return;
      e.building = undefined;
      if (e.dirty) {
        e.dirty = false;
        const files = e.dirtyFiles;
        const fullReason = e.dirtyFull;
        e.dirtyFiles = new Set();
        e.dirtyFull = undefined;
        if (!disposed) enqueue(project, files, fullReason);
      }
      pump();
    },

    state(project) {
      const e = entries.get(project);
      if (!e) return 'idle';
      if (e.building) {
        const changedSince = e.windowFiles !== undefined && e.lastChangeSeq > e.building.startedSeq;
        return e.dirty || changedSince ? 'building+dirty' : 'building';
      }
      return e.pending || e.windowFiles !== undefined ? 'pending' : 'idle';
    },

    building() {
      return [...entries].filter(([, e]) => e.building).map(([project]) => project);
    },

    isIdle() {
      return window === undefined && queue.length === 0 && runningCount() === 0;
    },

    dispose() {
      disposed = true;
      closeWindow();
      queue.length = 0;
      const aborted: string[] = [];
      for (const [project, e] of entries) {
        e.pending = false;
        e.dirty = false;
        e.pendingFull = undefined;
        e.dirtyFull = undefined;
        e.windowFiles = undefined;
        if (e.building) {
          aborted.push(project);
          if (!e.building.abortRequested) {
            e.building.abortRequested = true;
            driver.abortBuild(project, e.building.id);
          }
        }
      }
      return aborted;
    },
  };
}
