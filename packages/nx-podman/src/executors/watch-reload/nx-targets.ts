import { relative } from 'node:path';
import { readTargetOptions, runExecutor, type ExecutorContext } from '@nx/devkit';
import { createBuildRecordStore, createLiveUpdateRecordStore } from '../../adapters/build-record-store';
import { createContextHasher } from '../../adapters/context-hasher';
import { createCachingGitReader } from '../../adapters/git';
import { createFileReader } from '../../adapters/file-reader';
import { createHealthProbe } from '../../adapters/health-probe';
import { createPodmanEngine } from '../../adapters/podman-engine';
import { createSystemClock } from '../../adapters/system-clock';
import { buildVolumes, goEnvValues } from '../../core/build-args';
import { formatSeconds } from '../../core/log-format';
import type { PodmanConnection } from '../../core/podman-version';
import { describePublishedPort } from '../../core/watch-state';
import { normalizePodmanBuildOptions } from '../podman-build/normalize-options';
import { pruneSupersededImages } from '../podman-build/image-retention';
import { runPodmanBuild } from '../podman-build/run-podman-build';
import type { PodmanBuildExecutorSchema } from '../podman-build/schema';
import { normalizePodmanRunOptions } from '../podman-run/normalize-options';
import { runPodmanRun } from '../podman-run/run-podman-run';
import type { PodmanRunExecutorSchema } from '../podman-run/schema';
import type { NormalizedWatchReloadOptions } from './normalize-options';
import type { WatchBuildOutcome, WatchRunOutcome, WatchTargets } from './job-runner';
import { createLiveUpdater, type LiveProject } from './live-updater';
import { createBinarySwapUpdater, createHoldingUpdater } from './container-updaters';
import { createDelveRestarter } from './delve-restarter';
import { attachedConnections, connectDelveRpc } from '../../adapters/delve-rpc';
import { createRequestGates, type RequestGates } from './request-gates';
import { replaceBlueGreen } from '../../core/blue-green';
import { releasePorts, stopAtExit, takeOverPorts } from './held-targets';
import type { Clock, FileReader, GitReader, HealthProbe, Logger, PodmanEngine } from '../../core/ports';

/** Executors the in-process (cancellable) path knows. */
export const PODMAN_BUILD_EXECUTOR = '@prism/nx-podman:podman-build';
export const PODMAN_RUN_EXECUTOR = '@prism/nx-podman:podman-run';

/** What {@link createNxWatchTargets} works with; the optional ports default to the real adapters. */
export interface NxWatchTargetsDeps {
  /** The executor context of the latest graph read. */
  getContext(): ExecutorContext;
  options: NormalizedWatchReloadOptions;
  logger: Logger;
  /** @default createPodmanEngine */
  createEngine?: (connection: PodmanConnection) => PodmanEngine;
  /** @default createCachingGitReader(): git runs only when HEAD moved */
  git?: GitReader;
  /** @default createSystemClock() */
  clock?: Clock;
  /** @default createHealthProbe({ engine }) */
  probe?: HealthProbe;
  /** @default createFileReader() */
  files?: FileReader;
  /** A target's options with the context's configuration applied. @default devkit's readTargetOptions */
  readOptions?: (project: string, target: string, context: ExecutorContext) => Record<string, unknown>;
}

/**
 * The real {@link WatchTargets}: reads each project's build/run target options with this target's configuration
 * (`readTargetOptions`, so every option the user set applies), passes down `stage` and podman/remote/connection, and
 * calls the podman-build / podman-run runners in process with an AbortSignal. Targets using another executor run
 * through `runExecutor` (not cancellable). `getContext` returns the context of the latest graph read.
 */
export function createNxWatchTargets(deps: NxWatchTargetsDeps): WatchTargets {
  const { options, logger } = deps;
  const engines = new Map<string, PodmanEngine>();
  const clock = deps.clock ?? createSystemClock();
  const git = deps.git ?? createCachingGitReader();
  // One hasher for the watcher's lifetime: a build re-reads only the context files whose stat changed.
  const hasher = createContextHasher({ cacheDigests: true });
  const engineFor = (connection: PodmanConnection) => {
    const key = JSON.stringify(connection);
    let engine = engines.get(key);
    if (!engine) {
      engine = (deps.createEngine ?? createPodmanEngine)(connection);
      engines.set(key, engine);
    }
    return engine;
  };
  const projectInfo = (project: string) => {
    const context = deps.getContext();
    const config = context.projectsConfigurations.projects[project];
    if (!config) throw new Error(`Project "${project}" is not in the project graph any more.`);
    return { context, root: config.root, targets: config.targets ?? {} };
  };
  const read = <T>(project: string, target: string, context: ExecutorContext): T =>
    (deps.readOptions
      ? deps.readOptions(project, target, context)
      : readTargetOptions({ project, target, configuration: context.configurationName }, context)) as T;
  const buildOptions = (project: string, quiet: boolean) => {
    const { context, root } = projectInfo(project);
    const normalized = normalizePodmanBuildOptions(read<PodmanBuildExecutorSchema>(project, options.buildTarget, context), {
      projectName: project,
      projectRoot: root,
      workspaceRoot: context.root,
      overrides: options.overrides,
    });
    return Object.freeze({ ...normalized, quiet });
  };
  const runOptions = (project: string, image: string | undefined) => {
    const { context, root } = projectInfo(project);
    const raw = read<PodmanRunExecutorSchema>(project, options.runTarget, context);
    return normalizePodmanRunOptions(image ? { ...raw, image } : raw, {
      projectName: project,
      projectRoot: root,
      workspaceRoot: context.root,
      env: process.env,
      overrides: options.overrides,
    });
  };
  const viaNx = async (project: string, target: string): Promise<boolean> => {
    const context = deps.getContext();
    let success = false;
    for await (const result of await runExecutor({ project, target, configuration: context.configurationName }, {}, context)) success = result.success;
    return success;
  };
  const gates = createRequestGates({ options, clock, logger });
  const units: TargetUnits = { options, logger, clock, git, hasher, probe: deps.probe, engineFor, projectInfo, buildOptions, runOptions, viaNx, gates };
  const workspaceRoot = deps.getContext().root;
  /**
   * A project's live update facts, resolved once per graph read (the context changes with every refresh), not on
   * every save: the options of both targets are read and normalized again only when the graph may have changed them.
   */
  const described = new WeakMap<ExecutorContext, Map<string, LiveProject>>();
  const describeOnce = (project: string): LiveProject => {
    const context = deps.getContext();
    let known = described.get(context);
    if (!known) described.set(context, (known = new Map()));
    let found = known.get(project);
    if (!found) known.set(project, (found = liveProjectOf(units, project)));
    return found;
  };
  const live = liveUpdaterOf(units, deps, workspaceRoot, describeOnce);

  return {
    live,
    container(project) {
      try {
        if (projectInfo(project).targets[options.runTarget]?.executor !== PODMAN_RUN_EXECUTOR) return undefined;
        const { container } = runOptions(project, undefined);
        return { name: container.name, ports: container.ports.map(describePublishedPort) };
      } catch {
        return undefined;
      }
    },
    warm: (projects) => warmTargets(units, projects, workspaceRoot),
    async describeBuild(project) {
      const { context, targets } = projectInfo(project);
      if (targets[options.buildTarget]?.executor !== PODMAN_BUILD_EXECUTOR) return undefined;
      const normalized = buildOptions(project, true);
      return { file: relative(context.root, normalized.file) || '.', context: relative(context.root, normalized.context) || '.' };
    },

    build: (project, options) => buildThroughTarget(units, project, options),
    run: (project, options) => runThroughTarget(units, project, options),

    async prune(project, { cancelled }) {
      const { context, targets } = projectInfo(project);
      if (targets[options.buildTarget]?.executor !== PODMAN_BUILD_EXECUTOR) return;
      const normalized = buildOptions(project, true);
      await pruneSupersededImages(project, normalized.stage, options.keepImages, {
        engine: engineFor(normalized.connection),
        records: createBuildRecordStore(context.root),
        logger,
        cancelled,
      });
    },

    stop: (project, { timeoutSeconds }) => stopAtExit(units, project, timeoutSeconds),

    takeOver: (projects) => takeOverPorts(units, projects),
    releasePorts: (release) => releasePorts(units, release, (project) => live.liveBinary(project)),
    observeHolds: (listener) => gates.observe(listener),
  };
}

/** What the target runners below share: the watcher's options and ports, and the project lookups of one targets object. */
interface TargetUnits {
  options: NormalizedWatchReloadOptions;
  logger: Logger;
  clock: Clock;
  git: GitReader;
  hasher: ReturnType<typeof createContextHasher>;
  probe: HealthProbe | undefined;
  engineFor(connection: PodmanConnection): PodmanEngine;
  projectInfo(project: string): { context: ExecutorContext; root: string; targets: Record<string, { executor?: string }> };
  buildOptions(project: string, quiet: boolean): ReturnType<typeof normalizePodmanBuildOptions> & { quiet: boolean };
  runOptions(project: string, image: string | undefined): ReturnType<typeof normalizePodmanRunOptions>;
  viaNx(project: string, target: string): Promise<boolean>;
  gates: RequestGates;
}

/** The live updater, whose container updates hold the project's connections at its gate (`holdRequests`). */
function liveUpdaterOf(units: TargetUnits, deps: NxWatchTargetsDeps, workspaceRoot: string, describe: (project: string) => LiveProject) {
  const { clock, logger, options, gates } = units;
  const files = deps.files ?? createFileReader();
  const probeFor = (engine: PodmanEngine) => deps.probe ?? createHealthProbe({ engine });
  return createLiveUpdater({
    workspaceRoot,
    describe,
    records: createBuildRecordStore(workspaceRoot),
    liveRecords: createLiveUpdateRecordStore(workspaceRoot),
    files,
    probe: probeFor,
    clock,
    logger,
    concurrency: options.concurrency,
    updater: createHoldingUpdater(
      createBinarySwapUpdater({
        files,
        probe: probeFor,
        clock,
        logger,
        inPlace: createDelveRestarter({ connect: connectDelveRpc, attached: attachedConnections, clock, logger }),
      }),
      (project) => gates.get(project),
    ),
  });
}

/** What the live updater needs of a project, from its build and run targets; throws when it cannot live-update. */
function liveProjectOf(units: TargetUnits, project: string): LiveProject {
  const { options, projectInfo, buildOptions, runOptions, engineFor } = units;
  const { targets } = projectInfo(project);
  if (targets[options.buildTarget]?.executor !== PODMAN_BUILD_EXECUTOR)
    throw new Error(`the "${options.buildTarget}" target does not use ${PODMAN_BUILD_EXECUTOR}`);
  if (targets[options.runTarget]?.executor !== PODMAN_RUN_EXECUTOR) throw new Error(`the "${options.runTarget}" target does not use ${PODMAN_RUN_EXECUTOR}`);
  const build = buildOptions(project, true);
  const run = runOptions(project, undefined);
  return {
    project,
    stage: build.stage,
    containerfile: build.file,
    context: build.context,
    // As podman-build passes them: GOPROXY & co. from the environment, unless a build arg sets them.
    buildArgs: { ...goEnvValues(build.env), ...build.buildArgs },
    buildVolumes: buildVolumes(build.extraArgs),
    hints: build.liveUpdate,
    container: run.container,
    health: run.health,
    engine: engineFor(build.connection),
  };
}

/** The build target, in process when it uses podman-build (cancellable), else through Nx. Never throws. */
async function buildThroughTarget(units: TargetUnits, project: string, { signal, quiet }: { signal: AbortSignal; quiet: boolean }): Promise<WatchBuildOutcome> {
  const { options, logger, clock, projectInfo, buildOptions, engineFor, viaNx, git, hasher } = units;
  let info: ReturnType<typeof projectInfo>;
  try {
    info = projectInfo(project);
  } catch (error) {
    logger.error('build failed', { plugin: project, reason: (error as Error).message });
    return { status: 'failed', exitCode: 1, message: (error as Error).message, outputTail: '' };
  }
  const executor = info.targets[options.buildTarget]?.executor;
  if (executor !== PODMAN_BUILD_EXECUTOR) {
    logger.debug('build target does not use podman-build: running it through Nx, which cannot be cancelled', { plugin: project, executor });
    logger.info('building plugin', { plugin: project, stage: options.stage });
    const started = clock.now();
    const ok = await viaNx(project, options.buildTarget).catch((error: Error) => {
      logger.error('build failed', { plugin: project, reason: error.message });
      return false;
    });
    if (!ok) {
      logger.error('build failed', { plugin: project, exit: 1 });
      return { status: 'failed', exitCode: 1, message: `${options.buildTarget} failed for "${project}"`, outputTail: '' };
    }
    const durationMs = clock.now() - started;
    logger.info('build completed', { plugin: project, duration: formatSeconds(durationMs) });
    return { status: 'built', imageId: undefined, durationMs };
  }
  try {
    const normalized = buildOptions(project, quiet);
    const outcome = await runPodmanBuild(normalized, {
      engine: engineFor(normalized.connection),
      logger,
      records: createBuildRecordStore(info.context.root),
      signal,
      git,
      hasher,
      clock,
    });
    switch (outcome.status) {
      case 'built':
        return { status: 'built', imageId: outcome.record.imageId, durationMs: outcome.durationMs };
      case 'up-to-date':
        return { status: 'up-to-date', imageId: outcome.record.imageId };
      default:
        return outcome;
    }
  } catch (error) {
    // Bad target options or podman missing: report like a failed build and keep watching.
    logger.error('build failed', { plugin: project, reason: (error as Error).message });
    return { status: 'failed', exitCode: 1, message: (error as Error).message, outputTail: '' };
  }
}

/** The run target, in process when it uses podman-run (cancellable), else through Nx. Never throws. */
async function runThroughTarget(
  units: TargetUnits,
  project: string,
  { imageId, signal }: { imageId: string | undefined; signal: AbortSignal },
): Promise<WatchRunOutcome> {
  const { options, logger, clock, projectInfo, runOptions, engineFor, viaNx } = units;
  try {
    const { context, targets } = projectInfo(project);
    const target = targets[options.runTarget];
    if (!target) {
      return { status: 'failed', message: `Project "${project}" has no "${options.runTarget}" target (option "runTarget"): add one, or drop "reload".` };
    }
    if (target.executor !== PODMAN_RUN_EXECUTOR) {
      logger.debug('run target does not use podman-run: running it through Nx, which cannot be cancelled', { plugin: project, executor: target.executor });
      const ok = await viaNx(project, options.runTarget);
      return ok ? { status: 'healthy', imageId: imageId ?? 'unknown' } : { status: 'failed', message: `${options.runTarget} failed for "${project}"` };
    }
    const normalized = runOptions(project, imageId);
    const engine = engineFor(normalized.connection);
    const gate = units.gates.gateFor(project, normalized.container, normalized.connection);
    const outcome = await runPodmanRun(normalized, {
      replace: gate ? (request, ports) => replaceBlueGreen(request, { ...ports, gate }) : undefined,
      engine,
      logger,
      records: createBuildRecordStore(context.root),
      probe: units.probe ?? createHealthProbe({ engine }),
      clock,
      signal,
      buildTargetName: options.buildTarget,
    });
    if (outcome.status === 'healthy') return { status: 'healthy', imageId: outcome.imageId };
    return { status: 'failed', message: outcome.message, aborted: signal.aborted };
  } catch (error) {
    return { status: 'failed', message: (error as Error).message, aborted: signal.aborted };
  }
}

/** What the first build would otherwise wait for: `podman version` (once per connection) and git's HEAD. */
async function warmTargets(units: TargetUnits, projects: readonly string[], workspaceRoot: string): Promise<void> {
  const { options, projectInfo, buildOptions, engineFor, git } = units;
  // What the first build would otherwise wait for: `podman version` (once per connection) and git's HEAD.
  // engineFor keeps one engine per connection, so the set holds each connection once.
  const engines = new Set<PodmanEngine>();
  for (const project of projects) {
    try {
      if (projectInfo(project).targets[options.buildTarget]?.executor === PODMAN_BUILD_EXECUTOR) engines.add(engineFor(buildOptions(project, true).connection));
    } catch {
      // reported when the project is built
    }
  }
  await Promise.all([...[...engines].map((engine) => engine.version().catch(() => undefined)), git.revision(workspaceRoot).catch(() => undefined)]);
}
