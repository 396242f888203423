/**
 * What the status page sees of the watch state (`core/watch-state.ts`): the snapshot's shapes, the page's actions, and
 * how a published port is shown. Types and one pure function; the state itself lives in watch-state.ts.
 */
import type { JobPhase, JobReport, JobResult, StatusState, WaitReason } from './watch-state';

/** One finished job, as listed in a project's history. */
export interface StatusRun {
  id: number;
  /** Changed files (workspace-relative) the job covered; empty for a requested build. */
  files: string[];
  /** Why it ran without file changes (`initial build`, `build requested from the status page`). */
  reason?: string;
  path: JobReport['path'];
  fallbackReason?: string;
  result: JobResult;
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

/** The gate on a project's published ports: whether it holds now, how many wait, the longest wait of the last hold. */
export interface StatusHold {
  holding: boolean;
  held: number;
  longestWaitMs: number;
  /** Closed because they waited too long or too many waited, since the watcher started. */
  dropped: number;
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
  /** Changed files not yet covered by a started job. */
  pendingFiles: string[];
  /** Wall-clock ms when the open change set closes (the debounce countdown). */
  pendingUntil?: number;
  /** Why the pending files are not being built yet. */
  waitingFor?: WaitReason;
  /** The job in progress. */
  current?: { files: string[]; reason?: string; phase: JobPhase; startedAt: number; fallbackReason?: string };
  container?: StatusContainer;
  imageId?: string;
  /** The container runs a live-updated binary (not its image's). */
  liveUpdated: boolean;
  /** Connections the watcher holds on the published ports (`holdRequests`); undefined when it does not hold them. */
  hold?: StatusHold;
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

/** What readers (the status page) get: snapshots and change notices. */
export interface WatchStateView {
  snapshot(): StatusSnapshot;
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
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
