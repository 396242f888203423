import type { HoldSnapshot } from '../../core/request-hold';
import { sameImage } from '../../core/image-id';
import type { Logger } from '../../core/ports';
import type { SchedulerDriver } from '../../core/reload-scheduler';
import type { BuildRequest, JobPhase, JobReport, JobResult, StatusContainer, WatchState } from '../../core/watch-state';
import type { LiveUpdateOutcome, LiveUpdateTargets } from './live-updater';
import { createBuildPruneGate } from './build-prune-gate';
import { isLiveUpdateOn, type NormalizedWatchReloadOptions } from './normalize-options';

/** How one build through the build target ended; `imageId` is known when the podman-build runner did the build. */
export type WatchBuildOutcome =
  | { status: 'built'; imageId: string | undefined; durationMs: number }
  | { status: 'up-to-date'; imageId: string | undefined }
  | { status: 'failed'; exitCode: number; message: string; outputTail: string }
  | { status: 'aborted' };

/** How one reload through the run target ended. */
export type WatchRunOutcome = { status: 'healthy'; imageId: string } | { status: 'failed'; message: string; aborted?: boolean };

/** Runs a project's build and run targets (wired in nx-targets.ts to readTargetOptions + the podman runners). */
export interface WatchTargets {
  /** Workspace-relative Containerfile and build context the build target uses (for the input filter), if it has one. */
  describeBuild(project: string): Promise<{ file: string; context: string } | undefined>;
  /** Builds the project's image; `quiet` keeps podman's output to the failure tail. Never throws for a failed build. */
  build(project: string, options: { signal: AbortSignal; quiet: boolean }): Promise<WatchBuildOutcome>;
  /** Replaces the project's container with `imageId` (or the recorded image) and waits for health. */
  run(project: string, options: { imageId: string | undefined; signal: AbortSignal }): Promise<WatchRunOutcome>;
  /**
   * Removes the project's superseded images (image retention, `keepImages`); never throws. Starts no further podman
   * call once `cancelled()` (the watcher is stopping).
   */
  prune(project: string, options: { cancelled(): boolean }): Promise<void>;
  /** Stops the project's container (`stopOnExit`), waiting at most `timeoutSeconds` (or its stop timeout, if shorter) before SIGKILL. */
  stop(project: string, options: { timeoutSeconds: number }): Promise<void>;
  /** Does, in the background once the watcher is ready, what the first build would otherwise wait for. */
  warm?(projects: readonly string[]): Promise<void>;
  /** The project's container name and published ports (status page links); undefined when it has no run target. */
  container?(project: string): StatusContainer | undefined;
  /** Of `projects`, those whose running container the watcher should replace to hold their requests (`holdRequests`). */
  takeOver?(projects: readonly string[]): Promise<string[]>;
  /**
   * At exit: the gates stop listening; with `handBack`, podman publishes the ports of the running containers again
   * (the containers behind the gates get at most `timeoutSeconds` to stop, and none past `deadline`, a clock time);
   * each project once `settled` says its job ended.
   */
  releasePorts?(release: { handBack: boolean; timeoutSeconds: number; deadline?: number; settled?(project: string): Promise<void> }): Promise<void>;
  /** Where the gates report held connections (the status page). */
  observeHolds?(listener: (project: string, snapshot: HoldSnapshot) => void): void;
  /** Live update (in-place binary swap); absent where the targets cannot do it. */
  readonly live?: LiveUpdateTargets;
}

/**
 * The job runner: what one job does (build, then reload when asked), the processes it owns (through an
 * AbortController per job), and how it is aborted. The scheduler decides *when*; the runner does it and reports back.
 * A job in its reload phase is not aborted by a change (a half-done replacement would leave no container), only by
 * shutdown.
 */
export interface JobRunner extends SchedulerDriver {
  /** Logs the closed change set of `project`. */
  changesDetected(project: string, files: readonly string[]): void;
  /** Starts the job of `request.project`; `finished` is called once with the job's report. */
  startBuild(request: Pick<BuildRequest, 'project' | 'files' | 'fullReason'>, finished: (report: JobReport) => void): void;
  /** Aborts the job of `project` (its inputs changed, `onBusyUpdate: restart`); a reload is left to finish. */
  abortBuild(project: string): void;
  /** From now on every abort is final (reloads too) and no result is acted on. */
  beginShutdown(): void;
  /** Resolves once every running job has ended. */
  idle(): Promise<void>;
  /**
   * Resolves once the running job of `project` (if any) can no longer change its container: it has ended, or (after
   * `beginShutdown`) it is building an image, which it will not go on to run.
   */
  settled(project: string): Promise<void>;
}

interface Job {
  controller: AbortController;
  /** `live`: a live update (its compile may be aborted; its restart is a reload). */
  phase: JobPhase;
  done: Promise<void>;
  /** What the status page learns when the job ends. */
  report: Omit<JobReport, 'result'>;
}

/**
 * Creates the job runner over the project targets. Phases go into the watch `state` as they happen; the end goes to
 * whoever started the job (the scheduler), which records it there.
 */
export function createJobRunner(deps: {
  options: NormalizedWatchReloadOptions;
  targets: WatchTargets;
  logger: Logger;
  state?: Pick<WatchState, 'phase'>;
}): JobRunner {
  const { options, targets, logger, state } = deps;
  const enter = (project: string, job: Job, phase: JobPhase, detail?: { fallbackReason?: string }) => enterPhase(state, project, job, phase, detail);
  const jobs = new Map<string, Job>();
  /** The image each project's container was last made healthy with, by this watcher. */
  const lastRunImage = new Map<string, string>();
  /**
   * Why a project's next job must be a full build + replace: the reason a job fell back, kept until a full one succeeds
   * (a go.mod change whose build failed must not be skipped by the next Go-only save).
   */
  const fullPending = new Map<string, string>();
  const liveOn = isLiveUpdateOn(options) && targets.live !== undefined;
  let stopping = false;

  const { build: guardedBuild, prune } = imageRetention(deps, () => stopping);

  /** The live path; undefined when the job takes the full path. */
  const liveUpdate = async (request: Pick<BuildRequest, 'project' | 'files' | 'fullReason'>, job: Job): Promise<JobResult | undefined> => {
    const { project } = request;
    const live = targets.live!;
    enter(project, job, 'live');
    job.report.path = 'live';
    const outcome = await live.update(project, {
      files: request.files,
      fullReason: fullPending.get(project) ?? request.fullReason,
      signal: job.controller.signal,
      onReload: () => enter(project, job, 'reload'),
    });
    if (job.controller.signal.aborted || stopping) return 'aborted';
    if (outcome.status !== 'fallback') return endOfLiveUpdate(project, outcome, job.report, logger);
    logger.info('full rebuild', { plugin: project, reason: outcome.reason });
    // Remembered until a full reload succeeds: the container may run live-updated code its image does not have.
    // A project with no recipe never does, so an image its container already runs is not run again.
    if (!outcome.noRecipe) fullPending.set(project, outcome.reason);
    job.report = { path: 'full', fallbackReason: outcome.reason };
    enter(project, job, 'build', { fallbackReason: outcome.reason });
    return undefined;
  };

  const reloading: ReloadUnits = { targets, logger, lastRunImage, fullPending, liveOn, enter, prune };
  const buildAndReload = async (project: string, job: Job): Promise<JobResult> => {
    const signal = job.controller.signal;
    if (!options.build) {
      logger.info('build disabled; would build', { plugin: project, stage: options.stage });
      job.report = { path: 'none', detail: 'build disabled' };
      return 'succeeded';
    }
    const quiet = !logger.verbose;
    const built = await guardedBuild(() => targets.build(project, { signal, quiet }));
    // Stopping: podman may have been killed by the signal before our abort (Nx kills the process tree too).
    if (built.status === 'aborted' || signal.aborted || stopping) return 'aborted';
    if (built.status === 'failed') {
      if (quiet && built.outputTail) logger.output(built.outputTail.endsWith('\n') ? built.outputTail : `${built.outputTail}\n`);
      if (options.reload) logger.info('keeping the running container', { plugin: project });
      job.report.failure = { step: 'build', message: built.message, output: built.outputTail };
      return 'failed';
    }
    job.report.imageId = built.imageId;
    if (built.status === 'up-to-date') job.report.detail = 'image up to date';
    if (!options.reload) {
      if (built.status === 'built') await prune(project);
      return 'succeeded';
    }
    return reloadContainer(reloading, project, job, built);
  };

  return {
    changesDetected(project, files) {
      logger.info('detected changes', { plugin: project, files: files.length });
    },
    startBuild(request, finished) {
      const { project } = request;
      const job: Job = { controller: new AbortController(), phase: 'build', done: Promise.resolve(), report: { path: 'full' } };
      jobs.set(project, job);
      job.done = (async () => {
        let result: JobResult = 'failed';
        try {
          result = (liveOn ? await liveUpdate(request, job) : undefined) ?? (await buildAndReload(project, job));
        } catch (error) {
          logger.error('build failed', { plugin: project, reason: (error as Error).message });
          job.report.failure = { step: job.phase === 'reload' ? 'reload' : 'build', message: (error as Error).message };
        } finally {
          jobs.delete(project);
          finished({ ...job.report, result });
        }
      })();
    },
    abortBuild(project) {
      const job = jobs.get(project);
      if (!job) return;
      if (job.phase === 'reload' && !stopping) {
        logger.debug('changed during reload; building again after it', { plugin: project });
        return;
      }
      logger.info(stopping ? 'stopping build' : 'restarting build: inputs changed', { plugin: project });
      job.controller.abort();
    },
    beginShutdown() {
      stopping = true;
    },
    async idle() {
      await Promise.all([...jobs.values()].map((job) => job.done));
    },
    async settled(project) {
      const job = jobs.get(project);
      // Once stopping, a job building its image never goes on to its container (an aborted build takes podman seconds).
      if (job && !(stopping && job.phase === 'build')) await job.done;
    },
  };
}

/** A live update that did not fall back: its result, what the report says of it, and the log lines of a failure. */
function endOfLiveUpdate(
  project: string,
  outcome: Exclude<LiveUpdateOutcome, { status: 'fallback' }>,
  report: Omit<JobReport, 'result'>,
  logger: Logger,
): JobResult {
  switch (outcome.status) {
    case 'updated':
      report.healthy = true;
      return 'succeeded';
    case 'unchanged':
      report.detail = 'binary unchanged';
      return 'succeeded';
    case 'aborted':
      return 'aborted';
    case 'compile-failed':
      // Always shown: the compiler's message is the whole point of the failure.
      logger.error('build failed', { plugin: project, exit: outcome.exitCode });
      if (outcome.output) logger.output(outcome.output.endsWith('\n') ? outcome.output : `${outcome.output}\n`);
      logger.info('keeping the running container', { plugin: project });
      report.failure = { step: 'compile', message: `go build exited with ${outcome.exitCode}`, output: outcome.output };
      return 'failed';
    case 'failed':
      logger.error('reload failed', { plugin: project, reason: outcome.message });
      report.failure = { step: 'reload', message: outcome.message };
      return 'failed';
  }
}

/** What {@link reloadContainer} works with (the job runner's). */
interface ReloadUnits {
  targets: WatchTargets;
  logger: Logger;
  /** The image each project's container was last made healthy with, by this watcher. */
  lastRunImage: Map<string, string>;
  fullPending: Map<string, string>;
  liveOn: boolean;
  enter(project: string, job: Job, phase: JobPhase): void;
  prune(project: string): Promise<void>;
}

/**
 * The reload phase of a full job: the container is replaced with the image just built, unless it already runs it
 * (and nothing asks for a full reload); the superseded image goes once the new container is healthy.
 */
async function reloadContainer(
  units: ReloadUnits,
  project: string,
  job: Job,
  built: Extract<WatchBuildOutcome, { status: 'built' | 'up-to-date' }>,
): Promise<JobResult> {
  const { targets, logger, lastRunImage, fullPending, liveOn, enter, prune } = units;
  const signal = job.controller.signal;
  if (built.imageId !== undefined && sameImage(lastRunImage.get(project), built.imageId) && !fullPending.has(project)) {
    logger.info('container already runs this image', { plugin: project });
    job.report.detail = 'container already runs this image';
    job.report.healthy = true;
    return 'succeeded';
  }
  enter(project, job, 'reload');
  const ran = await targets.run(project, { imageId: built.imageId, signal });
  if (ran.status === 'healthy') {
    job.report.imageId = ran.imageId;
    job.report.healthy = true;
    lastRunImage.set(project, ran.imageId);
    fullPending.delete(project);
    if (liveOn) targets.live?.replaced(project);
    // After the replace: the image the old container ran is no longer in use and can go.
    if (built.status === 'built') await prune(project);
    return 'succeeded';
  }
  if (signal.aborted || ran.aborted) return 'aborted';
  logger.error('reload failed', { plugin: project, reason: ran.message });
  job.report.failure = { step: 'reload', message: ran.message };
  return 'failed';
}

/**
 * Image builds, and image retention after them (never overlapping, see build-prune-gate.ts): a prune neither starts
 * nor goes on once `stopping()`.
 */
function imageRetention(deps: { options: NormalizedWatchReloadOptions; targets: WatchTargets; logger: Logger }, stopping: () => boolean) {
  const { options, targets, logger } = deps;
  const images = createBuildPruneGate();
  const prune = async (project: string) => {
    if (options.keepImages === 0 || stopping()) return;
    await images.prune(stopping, () =>
      targets
        .prune(project, { cancelled: stopping })
        .catch((error: Error) => logger.debug('image retention failed', { plugin: project, reason: error.message })),
    );
  };
  return { build: images.build, prune };
}

/** A job enters a phase: the runner knows it (what an abort means now), and the watch state shows it. */
function enterPhase(state: Pick<WatchState, 'phase'> | undefined, project: string, job: Job, phase: JobPhase, detail?: { fallbackReason?: string }): void {
  job.phase = phase;
  state?.phase(project, phase, detail);
}
