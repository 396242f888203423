// Why this file is long: it is the one state of the watch loop and every write to it; split, the writes would be spread
// over files again (issue 24), and the architecture test checks that nothing outside this file writes it.
/**
 * The one state of the watch loop, and the only code that writes it. Per project: the changes of the open change set,
 * the queued and the dirty work, the job (its files, phase, times), the container, the last runs and why the project
 * waits. The scheduler decides over it (`core/reload-scheduler.ts`), the job runner reports phases and ends into it,
 * the status page reads snapshots of it; nothing keeps a copy. Pure: time comes from `now`, every write calls the
 * subscribers. It never holds an environment value or a credential: only file names, image ids, container names,
 * ports and the output of failed steps.
 */

/** Where a project stands, as the page shows it. */
export type StatusState = 'idle' | 'pending' | 'building' | 'live-updating' | 'reloading' | 'healthy' | 'failed';

/**
 * Where a project stands for the scheduler: `idle` (nothing to do), `pending` (changed; waiting for the change set to
 * close or for a free build slot), `building`, `building+dirty` (building, and changed since: one more build follows).
 */
export type ProjectState = 'idle' | 'pending' | 'building' | 'building+dirty';

/** Why a project with work to do is not building: the debounce, a free slot, a pause, its own running job. */
export type WaitReason = 'debounce' | 'slot' | 'paused' | 'job running';

import type { StatusContainer, StatusHold, StatusRun, WatchStateView } from './status-view';

/** A job's phase, as the job runner reports it. */
export type JobPhase = 'build' | 'live' | 'reload';

/** How a job ended: the one result kind, from the job runner to the scheduler and the page. */
export type JobResult = 'succeeded' | 'failed' | 'aborted';

/** What the job runner knows of one job when it ends. */
export interface JobReport {
  result: JobResult;
  /** `live`: the binary was compiled and swapped in place; `full`: an image build (and replace); `none`: build off. */
  path: 'live' | 'full' | 'none';
  /** Why a live update fell back to the full path. */
  fallbackReason?: string;
  /** What the job ended with, in words (`container already runs this image`, `binary unchanged`). */
  detail?: string;
  /** The image the container now runs, or the image built. */
  imageId?: string;
  /** The container was replaced or restarted and passed its health check. */
  healthy?: boolean;
  failure?: { step: 'compile' | 'build' | 'reload'; message: string; output?: string };
}

/** One build the scheduler starts. */
export interface BuildRequest {
  /** Unique per state, increasing. */
  id: number;
  project: string;
  /** Changed files this build covers; empty for a requested build. */
  files: string[];
  /** Set when the build covers a requested build (its reason): the changed files alone do not say what changed. */
  fullReason?: string;
}

export type { StatusActions, StatusContainer, StatusHold, StatusPage, StatusProject, StatusRun, StatusSnapshot, WatchStateView } from './status-view';
export { describePublishedPort } from './status-view';

/** Runs kept per project. */
export const STATUS_HISTORY = 10;
/** Output of a failed step kept, in characters (the end of it, where compilers and podman say what went wrong). */
export const STATUS_OUTPUT_LIMIT = 16_000;

/** The state, its writes (used by the scheduler, the job runner and the lifecycle) and its reads. */
export interface WatchState extends WatchStateView {
  /** The projects of the model (selected, buildable), in order; others are dropped, new ones added idle. */
  setProjects(names: readonly string[]): void;
  setContainer(project: string, container: StatusContainer | undefined): void;
  /** The project's gate on its published ports (`holdRequests`): held connections and the longest wait. */
  setHold(project: string, hold: StatusHold): void;
  /** A change to `file` (if given) affects these projects: they join the open change set. Returns the projects that joined. */
  changed(projects: Iterable<string>, file: string | undefined): string[];
  /** When the open change set closes (clock ms), set by the scheduler with its timer. */
  setClosesAt(at: number | undefined): void;
  /** The open change set: when it began and its projects; undefined when none is open. */
  openWindow(): { firstAt: number; projects: readonly string[] } | undefined;
  /** Ends the open change set (all of it, or one project's part); returns the projects taken out of it. */
  closeWindow(project?: string): string[];
  /** The project's changes of the closed change set move to the queue, or mark its running job dirty. Returns the files. */
  settle(project: string): string[];
  /** A build without file changes (`reason`): queued, or marking the running job dirty. */
  requestFull(project: string, reason: string): void;
  /** Starts the first queued project's job; undefined when nothing is queued. */
  startNext(): BuildRequest | undefined;
  /** Asks for the job of `project` to be aborted: its id, or undefined when there is none or it was asked already. */
  requestAbort(project: string): number | undefined;
  phase(project: string, phase: JobPhase, detail?: { fallbackReason?: string }): void;
  /** The job of `project` ended; its dirty work is queued again unless `requeue` is false. */
  ended(project: string, report: JobReport, requeue?: boolean): void;
  /** Pause: the project's changes are held (in order) until resumed. Returns false when already paused. */
  setPaused(project: string, paused: boolean): boolean;
  hold(project: string, file: string): void;
  /** Resumes and returns the held files, in order. */
  takeHeld(project: string): string[];
  /** Forgets every open, queued and dirty piece of work; returns the projects whose job still runs. */
  clearWork(): string[];
  isPaused(project: string): boolean;
  stateOf(project: string): ProjectState;
  /** Projects with a running job. */
  running(): string[];
  queued(): number;
  isIdle(): boolean;
}

/** Everything kept of one project; only this module sees it mutable. */
interface Entry {
  name: string;
  state: StatusState;
  since: number;
  paused: boolean;
  heldFiles: string[];
  /** Sequence number of the last change to this project. */
  lastChangeSeq: number;
  /** Files of the open change set (undefined: not in it). */
  windowFiles?: Set<string>;
  queued: boolean;
  queuedFiles: Set<string>;
  queuedReason?: string;
  job?: {
    id: number;
    startedSeq: number;
    abortRequested: boolean;
    files: string[];
    reason?: string;
    phase: JobPhase;
    startedAt: number;
    fallbackReason?: string;
    phaseAt: Partial<Record<JobPhase, number>>;
    /** First save the job covers, for save → healthy. */
    firstChangeAt?: number;
  };
  dirty: boolean;
  dirtyFiles: Set<string>;
  dirtyReason?: string;
  /** First save not yet covered by a started job. */
  firstChangeAt?: number;
  container?: StatusContainer;
  imageId?: string;
  liveUpdated: boolean;
  hold: StatusHold | undefined;
  /** The container passed its last health check (and no reload failed since); compile and build failures keep it. */
  containerHealthy?: boolean;
  history: StatusRun[];
}

const tail = (text: string) => (text.length > STATUS_OUTPUT_LIMIT ? `…${text.slice(-STATUS_OUTPUT_LIMIT)}` : text);

/**
 * Creates the state; `now` is the watcher's clock (wall-clock ms: the page shows times of day).
 * Why this function is long: its methods are the writes of the state, one short method each, sharing the private
 * records; moving them apart would hand the records out, which is what this module exists to prevent.
 */
export function createWatchState(deps: { now(): number; stage?: string; reload?: boolean }): WatchState {
  const entries = new Map<string, Entry>();
  const queue: string[] = [];
  const listeners = new Set<() => void>();
  const reload = deps.reload ?? false;
  // Orders changes and job starts: a job covers every change with a smaller sequence number.
  let seq = 0;
  let jobs = 0;
  let runs = 0;
  let window: { firstAt: number; projects: Set<string> } | undefined;
  let closesAt: number | undefined;
  const emit = () => {
    for (const listener of [...listeners]) listener();
  };

  /** Projects outside the model (a test driving the scheduler alone, a project just dropped) are kept on demand. */
  const entry = (name: string): Entry => {
    let found = entries.get(name);
    if (!found) {
      found = newEntry(name);
      entries.set(name, found);
    }
    return found;
  };
  const newEntry = (name: string): Entry => ({
    name,
    state: 'idle',
    since: deps.now(),
    paused: false,
    heldFiles: [],
    lastChangeSeq: 0,
    queued: false,
    queuedFiles: new Set(),
    dirty: false,
    dirtyFiles: new Set(),
    liveUpdated: false,
    hold: undefined,
    history: [],
  });
  const setState = (e: Entry, state: StatusState) => {
    if (e.state !== state) {
      e.state = state;
      e.since = deps.now();
    }
  };
  const hasWork = (e: Entry) => e.queued || e.dirty || e.windowFiles !== undefined;
  /**
   * The state a project rests in when no job runs: pending while changes wait; failed after a failed job (the last
   * one not aborted); else healthy when its container passed its last check (an unchanged binary, an image already
   * running), else idle.
   */
  const restingState = (e: Entry): StatusState => {
    if (pendingFiles(e).length > 0 || e.queued) return 'pending';
    if (e.history.find((run) => run.result !== 'aborted')?.result === 'failed') return 'failed';
    return reload && e.containerHealthy ? 'healthy' : 'idle';
  };
  const pendingFiles = (e: Entry) => [...new Set([...e.queuedFiles, ...e.dirtyFiles, ...(e.windowFiles ?? [])])];
  const waitingFor = (e: Entry): WaitReason | undefined => {
    if (e.paused && e.heldFiles.length > 0) return 'paused';
    if (e.job) return e.dirty || e.windowFiles ? 'job running' : undefined;
    if (e.windowFiles) return 'debounce';
    return e.queued ? 'slot' : undefined;
  };
  const enqueue = (e: Entry, files: Iterable<string>, reason?: string) => {
    for (const file of files) e.queuedFiles.add(file);
    e.queuedReason ??= reason;
    if (!e.queued) {
      e.queued = true;
      queue.push(e.name);
    }
    if (!e.job) setState(e, 'pending');
  };

  return {
    setProjects(names) {
      for (const name of [...entries.keys()]) if (!names.includes(name) && !hasWork(entries.get(name)!) && !entries.get(name)!.job) entries.delete(name);
      for (const name of names) entry(name);
      emit();
    },
    setContainer(project, container) {
      entry(project).container = container;
      emit();
    },
    setHold(project, hold) {
      entry(project).hold = { ...hold };
      emit();
    },
    changed(projects, file) {
      const changeSeq = ++seq;
      const now = deps.now();
      const joined: string[] = [];
      for (const project of projects) {
        const e = entry(project);
        e.lastChangeSeq = changeSeq;
        e.windowFiles ??= new Set();
        if (file !== undefined) e.windowFiles.add(file);
        e.firstChangeAt ??= now;
        window ??= { firstAt: now, projects: new Set() };
        window.projects.add(project);
        if (!e.job) setState(e, 'pending');
        joined.push(project);
      }
      if (joined.length > 0) emit();
      return joined;
    },
    setClosesAt(at) {
      closesAt = at;
      emit();
    },
    openWindow() {
      return window ? { firstAt: window.firstAt, projects: [...window.projects] } : undefined;
    },
    closeWindow(project) {
      if (!window) return [];
      if (project !== undefined) {
        if (!window.projects.delete(project)) return [];
        if (window.projects.size === 0) {
          window = undefined;
          closesAt = undefined;
        }
        return [project];
      }
      const projects = [...window.projects];
      window = undefined;
      closesAt = undefined;
      return projects;
    },
    settle(project) {
      const e = entry(project);
      const files = [...(e.windowFiles ?? [])];
      e.windowFiles = undefined;
      if (e.job) {
        // A job that started after the change (it was waiting for a slot) sees the changed tree, but its request did
        // not list these files: one more build follows with them, so that what depends on which files changed (a live
        // update or the full path) is decided on every file. An image build then finds its image up to date.
        e.dirty = true;
        for (const file of files) e.dirtyFiles.add(file);
      } else {
        enqueue(e, files);
      }
      emit();
      return files;
    },
    requestFull(project, reason) {
      const e = entry(project);
      if (e.job) {
        e.dirty = true;
        e.dirtyReason ??= reason;
      } else {
        enqueue(e, [], reason);
      }
      emit();
    },
    startNext() {
      const project = queue.shift();
      if (project === undefined) return undefined;
      const e = entry(project);
      const now = deps.now();
      const files = [...e.queuedFiles];
      const request: BuildRequest = { id: ++jobs, project, files, fullReason: e.queuedReason };
      e.queued = false;
      e.queuedFiles = new Set();
      e.queuedReason = undefined;
      const covered = files.length > 0 ? (e.firstChangeAt ?? now) : undefined;
      if (pendingFiles(e).length === 0) e.firstChangeAt = undefined;
      e.job = {
        id: request.id,
        startedSeq: ++seq,
        abortRequested: false,
        files,
        reason: request.fullReason,
        phase: 'build',
        startedAt: now,
        phaseAt: { build: now },
        firstChangeAt: covered,
      };
      setState(e, 'building');
      emit();
      return request;
    },
    requestAbort(project) {
      const job = entries.get(project)?.job;
      if (!job || job.abortRequested) return undefined;
      job.abortRequested = true;
      return job.id;
    },
    phase(project, phase, detail) {
      const e = entries.get(project);
      if (!e?.job) return;
      e.job.phase = phase;
      if (detail?.fallbackReason) e.job.fallbackReason = detail.fallbackReason;
      e.job.phaseAt[phase] = deps.now();
      setState(e, phase === 'live' ? 'live-updating' : phase === 'reload' ? 'reloading' : 'building');
      emit();
    },
    ended(project, report, requeue = true) {
      const e = entries.get(project);
      if (!e?.job) return;
      const now = deps.now();
      const job = e.job;
      const workStart = job.phaseAt.live ?? job.phaseAt.build ?? job.startedAt;
      const reloadStart = job.phaseAt.reload;
      // A live update that fell back: its build time is the image build's.
      const buildStart =
        report.path === 'full' && job.phaseAt.live !== undefined && (job.phaseAt.build ?? 0) > job.phaseAt.live ? job.phaseAt.build! : workStart;
      const run: StatusRun = {
        id: ++runs,
        files: job.files,
        reason: job.reason,
        path: report.path,
        fallbackReason: report.fallbackReason ?? job.fallbackReason,
        result: report.result,
        detail: report.detail,
        imageId: report.imageId,
        healthy: report.healthy,
        failure: report.failure ? { ...report.failure, output: report.failure.output === undefined ? undefined : tail(report.failure.output) } : undefined,
        startedAt: job.startedAt,
        endedAt: now,
        buildMs: Math.max(0, (reloadStart ?? now) - buildStart),
        reloadMs: reloadStart !== undefined ? now - reloadStart : undefined,
        saveToHealthyMs: report.healthy && job.firstChangeAt !== undefined ? now - job.firstChangeAt : undefined,
      };
      e.history = [run, ...e.history].slice(0, STATUS_HISTORY);
      e.job = undefined;
      if (report.imageId && report.path === 'full' && report.healthy) e.liveUpdated = false;
      // The image the container runs: with reload, only once a replace passed its health check.
      if (report.imageId && report.path === 'full' && (report.healthy || !reload)) e.imageId = report.imageId;
      if (report.path === 'live' && report.healthy) e.liveUpdated = true;
      if (report.healthy) e.containerHealthy = true;
      if (report.failure?.step === 'reload') e.containerHealthy = false;
      if (e.dirty) {
        const files = e.dirtyFiles;
        const reason = e.dirtyReason;
        e.dirty = false;
        e.dirtyFiles = new Set();
        e.dirtyReason = undefined;
        if (requeue) enqueue(e, files, reason);
      }
      setState(e, restingState(e));
      emit();
    },
    setPaused(project, paused) {
      const e = entry(project);
      if (e.paused === paused) return false;
      e.paused = paused;
      emit();
      return true;
    },
    hold(project, file) {
      const e = entry(project);
      if (!e.heldFiles.includes(file)) e.heldFiles.push(file);
      emit();
    },
    takeHeld(project) {
      const e = entry(project);
      const files = e.heldFiles;
      e.heldFiles = [];
      emit();
      return files;
    },
    clearWork() {
      window = undefined;
      closesAt = undefined;
      queue.length = 0;
      const running: string[] = [];
      for (const e of entries.values()) {
        e.windowFiles = undefined;
        e.queued = false;
        e.queuedFiles = new Set();
        e.queuedReason = undefined;
        e.dirty = false;
        e.dirtyFiles = new Set();
        e.dirtyReason = undefined;
        if (e.job) running.push(e.name);
      }
      emit();
      return running;
    },
    isPaused(project) {
      return entries.get(project)?.paused ?? false;
    },
    stateOf(project) {
      const e = entries.get(project);
      if (!e) return 'idle';
      if (e.job) {
        const changedSince = e.windowFiles !== undefined && e.lastChangeSeq > e.job.startedSeq;
        return e.dirty || changedSince ? 'building+dirty' : 'building';
      }
      return e.queued || e.windowFiles !== undefined ? 'pending' : 'idle';
    },
    running() {
      return [...entries.values()].filter((e) => e.job).map((e) => e.name);
    },
    queued() {
      return queue.length;
    },
    isIdle() {
      return window === undefined && queue.length === 0 && ![...entries.values()].some((e) => e.job);
    },
    snapshot() {
      return {
        now: deps.now(),
        stage: deps.stage ?? '',
        reload,
        projects: [...entries.values()].map((e) => ({
          name: e.name,
          state: e.state,
          since: e.since,
          paused: e.paused,
          heldFiles: [...e.heldFiles],
          pendingFiles: pendingFiles(e),
          pendingUntil: e.windowFiles ? closesAt : undefined,
          waitingFor: waitingFor(e),
          current: e.job
            ? { files: [...e.job.files], reason: e.job.reason, phase: e.job.phase, startedAt: e.job.startedAt, fallbackReason: e.job.fallbackReason }
            : undefined,
          container: e.container,
          imageId: e.imageId,
          liveUpdated: e.liveUpdated,
          hold: e.hold ? { ...e.hold } : undefined,
          history: e.history.map((run) => ({ ...run, files: [...run.files] })),
        })),
      };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
