/**
 * The status board: what the watch-reload status page shows, as data. Pure: the watcher tells it what happens (changes,
 * job phases, job ends, pauses) with clock times, it keeps per project the current state and a short history, and calls
 * its subscribers after every change. It never holds an environment value or a credential: only file names, image ids,
 * container names, ports and the output of failed steps.
 */

/** Where a project stands, as the page shows it. */
export type StatusState = 'idle' | 'pending' | 'building' | 'live-updating' | 'reloading' | 'healthy' | 'failed';

/** A job's phase, as the job runner reports it. */
export type JobPhase = 'build' | 'live' | 'reload';

/** What the job runner knows of one job when it ends. */
export interface JobReport {
  result: 'succeeded' | 'failed' | 'aborted';
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

/** One finished job, as listed in a project's history. */
export interface StatusRun {
  id: number;
  /** Changed files (workspace-relative) the job covered; empty for a requested build. */
  files: string[];
  /** Why it ran without file changes (`initial build`, `build requested from the status page`). */
  reason?: string;
  path: JobReport['path'];
  fallbackReason?: string;
  result: JobReport['result'];
  detail?: string;
  imageId?: string;
  healthy?: boolean;
  failure?: JobReport['failure'];
  /** Wall-clock time (ms since the epoch) the job started and ended. */
  startedAt: number;
  endedAt: number;
  /** Compile (live) or image build, ms. */
  buildMs?: number;
  /** Copy + restart (live) or replace, with the health wait, ms. */
  reloadMs?: number;
  /** First save the job covered → healthy, ms. */
  saveToHealthyMs?: number;
}

/** A container the project runs, for links. */
export interface StatusContainer {
  name: string;
  /** Published ports: `url` for the ones a browser can open (published on a host address). */
  ports: { text: string; url?: string }[];
}

/** One project on the page. */
export interface StatusProject {
  name: string;
  state: StatusState;
  /** Wall-clock ms since the state began. */
  since: number;
  paused: boolean;
  /** Changes seen while paused, built on resume. */
  heldFiles: string[];
  /** Changed files waiting for the change set to close (or for a free slot). */
  pendingFiles: string[];
  /** Wall-clock ms when the open change set closes (the debounce countdown). */
  pendingUntil?: number;
  /** The job in progress. */
  current?: { files: string[]; reason?: string; phase: JobPhase; startedAt: number; fallbackReason?: string };
  container?: StatusContainer;
  imageId?: string;
  /** The container runs a live-updated binary (not its image's). */
  liveUpdated: boolean;
  /** Last finished jobs, newest first. */
  history: StatusRun[];
}

/** What the page gets: every project, and the time on the watcher's clock (the page counts down from it). */
export interface StatusSnapshot {
  now: number;
  stage: string;
  reload: boolean;
  projects: StatusProject[];
}

/** What the status page can ask of the watcher. Unknown projects are the server's to refuse. */
export interface StatusActions {
  /** Build the project's pending changes now (no debounce), or build it with nothing pending. */
  build(project: string): void;
  /** Image build and container replacement, whatever changed (no live update). */
  rebuild(project: string): void;
  /** Hold the project's changes until resumed. */
  pause(project: string): void;
  resume(project: string): void;
}

/** A running status page. */
export interface StatusPage {
  /** The URL with its token, as printed. */
  url: string;
  close(): Promise<void>;
}

/** Runs kept per project. */
export const STATUS_HISTORY = 10;
/** Output of a failed step kept, in characters (the end of it, where compilers and podman say what went wrong). */
export const STATUS_OUTPUT_LIMIT = 16_000;

/** Creates a board; `now` is wall-clock ms (the page shows times of day). */
export interface StatusBoardDeps {
  now(): number;
  stage: string;
  reload: boolean;
}

export interface StatusBoard {
  /** The projects on the page (selected, buildable), in order; others are dropped, new ones added idle. */
  setProjects(names: readonly string[]): void;
  setContainer(project: string, container: StatusContainer | undefined): void;
  /** A change to `file` affects these projects; `closesAt` is when the change set closes (wall-clock ms). */
  changed(projects: readonly string[], file: string, closesAt: number | undefined): void;
  /** Changes held for a paused project. */
  held(project: string, files: readonly string[]): void;
  setPaused(project: string, paused: boolean): void;
  /** A change set closed; its projects wait for a slot now (no countdown). */
  closed(project: string): void;
  started(project: string, job: { files: readonly string[]; reason?: string }): void;
  phase(project: string, phase: JobPhase, detail?: { fallbackReason?: string }): void;
  ended(project: string, report: JobReport): void;
  snapshot(): StatusSnapshot;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

interface Entry extends StatusProject {
  /** The container passed its last health check (and no reload failed since); compile and build failures keep it. */
  containerHealthy?: boolean;
  /** First save not yet covered by a finished job (for save → healthy). */
  firstChangeAt?: number;
  jobFirstChangeAt?: number;
  phaseAt: Record<string, number>;
}

const tail = (text: string) => (text.length > STATUS_OUTPUT_LIMIT ? `…${text.slice(-STATUS_OUTPUT_LIMIT)}` : text);

export function createStatusBoard(deps: StatusBoardDeps): StatusBoard {
  const entries = new Map<string, Entry>();
  const listeners = new Set<() => void>();
  let runs = 0;
  const emit = () => {
    for (const listener of [...listeners]) listener();
  };
  const get = (project: string) => entries.get(project);
  const setState = (entry: Entry, state: StatusState) => {
    if (entry.state !== state) {
      entry.state = state;
      entry.since = deps.now();
    }
  };
  /**
   * The state a project rests in when no job runs: pending while changes wait; failed after a failed job (the last
   * one not aborted); else healthy when its container passed its last check (an unchanged binary, an image already
   * running), else idle.
   */
  const restingState = (entry: Entry): StatusState => {
    if (entry.pendingFiles.length > 0) return 'pending';
    if (entry.history.find((run) => run.result !== 'aborted')?.result === 'failed') return 'failed';
    return deps.reload && entry.containerHealthy ? 'healthy' : 'idle';
  };

  return {
    setProjects(names) {
      for (const name of [...entries.keys()]) if (!names.includes(name)) entries.delete(name);
      for (const name of names) {
        if (entries.has(name)) continue;
        entries.set(name, {
          name,
          state: 'idle',
          since: deps.now(),
          paused: false,
          heldFiles: [],
          pendingFiles: [],
          liveUpdated: false,
          history: [],
          phaseAt: {},
        });
      }
      emit();
    },
    setContainer(project, container) {
      const entry = get(project);
      if (!entry) return;
      entry.container = container;
      emit();
    },
    changed(projects, file, closesAt) {
      for (const project of projects) {
        const entry = get(project);
        if (!entry) continue;
        if (!entry.pendingFiles.includes(file)) entry.pendingFiles.push(file);
        entry.pendingUntil = closesAt;
        entry.firstChangeAt ??= deps.now();
        if (!entry.current) setState(entry, 'pending');
      }
      emit();
    },
    held(project, files) {
      const entry = get(project);
      if (!entry) return;
      entry.heldFiles = [...files];
      emit();
    },
    setPaused(project, paused) {
      const entry = get(project);
      if (!entry) return;
      entry.paused = paused;
      if (!paused) entry.heldFiles = [];
      emit();
    },
    closed(project) {
      const entry = get(project);
      if (!entry) return;
      entry.pendingUntil = undefined;
      emit();
    },
    started(project, job) {
      const entry = get(project);
      if (!entry) return;
      const now = deps.now();
      const files = [...job.files];
      entry.pendingFiles = entry.pendingFiles.filter((file) => !files.includes(file));
      if (entry.pendingFiles.length === 0) entry.pendingUntil = undefined;
      entry.jobFirstChangeAt = files.length > 0 ? (entry.firstChangeAt ?? now) : undefined;
      if (entry.pendingFiles.length === 0) entry.firstChangeAt = undefined;
      entry.current = { files, reason: job.reason, phase: 'build', startedAt: now };
      entry.phaseAt = { build: now };
      setState(entry, 'building');
      emit();
    },
    phase(project, phase, detail) {
      const entry = get(project);
      if (!entry?.current) return;
      entry.current.phase = phase;
      if (detail?.fallbackReason) entry.current.fallbackReason = detail.fallbackReason;
      entry.phaseAt[phase] = deps.now();
      setState(entry, phase === 'live' ? 'live-updating' : phase === 'reload' ? 'reloading' : 'building');
      emit();
    },
    ended(project, report) {
      const entry = get(project);
      if (!entry?.current) return;
      const now = deps.now();
      const { current, phaseAt } = entry;
      const workStart = phaseAt.live ?? phaseAt.build ?? current.startedAt;
      const reloadStart = phaseAt.reload;
      // A live update that fell back: its build time is the image build's.
      const buildStart = report.path === 'full' && phaseAt.live !== undefined && phaseAt.build > phaseAt.live ? phaseAt.build : workStart;
      const run: StatusRun = {
        id: ++runs,
        files: current.files,
        reason: current.reason,
        path: report.path,
        fallbackReason: report.fallbackReason ?? current.fallbackReason,
        result: report.result,
        detail: report.detail,
        imageId: report.imageId,
        healthy: report.healthy,
        failure: report.failure ? { ...report.failure, output: report.failure.output === undefined ? undefined : tail(report.failure.output) } : undefined,
        startedAt: current.startedAt,
        endedAt: now,
        buildMs: Math.max(0, (reloadStart ?? now) - buildStart),
        reloadMs: reloadStart !== undefined ? now - reloadStart : undefined,
        saveToHealthyMs: report.healthy && entry.jobFirstChangeAt !== undefined ? now - entry.jobFirstChangeAt : undefined,
      };
      entry.history = [run, ...entry.history].slice(0, STATUS_HISTORY);
      entry.current = undefined;
      entry.jobFirstChangeAt = undefined;
      if (report.imageId && report.path === 'full' && report.healthy) entry.liveUpdated = false;
      // The image the container runs: with reload, only once a replace passed its health check.
      if (report.imageId && report.path === 'full' && (report.healthy || !deps.reload)) entry.imageId = report.imageId;
      if (report.path === 'live' && report.healthy) entry.liveUpdated = true;
      if (report.healthy) entry.containerHealthy = true;
      if (report.failure?.step === 'reload') entry.containerHealthy = false;
      setState(entry, restingState(entry));
      emit();
    },
    snapshot() {
      return {
        now: deps.now(),
        stage: deps.stage,
        reload: deps.reload,
        projects: [...entries.values()].map(({ firstChangeAt: _f, jobFirstChangeAt: _j, phaseAt: _p, containerHealthy: _h, ...project }) => ({
          ...project,
          heldFiles: [...project.heldFiles],
          pendingFiles: [...project.pendingFiles],
          current: project.current ? { ...project.current, files: [...project.current.files] } : undefined,
          history: project.history.map((run) => ({ ...run, files: [...run.files] })),
        })),
      };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * A normalized `ports` entry (`HOST_IP:HOST_PORT:CONTAINER_PORT[/PROTO]`) as the page shows it: a link for one TCP
 * host port (a wildcard host address opened on 127.0.0.1), text for a range, UDP or a port podman chooses.
 */
export function describePublishedPort(spec: string): { text: string; url?: string } {
  const match = /^(\[[^\]]+\]|[^:]*):([^:]*):([^/]+)(?:\/(\w+))?$/.exec(spec);
  if (!match) return { text: spec };
  const [, host, hostPort, containerPort, protocol] = match;
  const text = `${host}:${hostPort || '?'} → ${containerPort}${protocol ? `/${protocol}` : ''}`;
  if (!/^\d+$/.test(hostPort) || (protocol !== undefined && protocol !== 'tcp')) return { text };
  const address = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
  return { text, url: `http://${address}:${hostPort}/` };
}
