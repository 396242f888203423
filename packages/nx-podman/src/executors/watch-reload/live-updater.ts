import { relative } from 'node:path';
import { builderKey, liveUpdateFallbackReason, mergeMounts, parseCompileOutput } from '../../core/live-update-plan';
import type { LiveUpdateRecipe } from '../../core/live-update-recipe';
import type { ImageConfig } from '../../core/podman-output';
import type { BuildRecordStore, ContainerUpdater, FileReader, HealthProbe, LiveUpdateRecordStore, Logger, PodmanEngine, SleepClock } from '../../core/ports';
import { formatSeconds } from '../../core/log-format';
import type { ContainerState } from '../../core/run-args';
import { normalizeWorkspacePath } from '../../core/workspace-paths';
import { createBuilderPool, type Builder, type BuilderPool, type CompileResult } from './live-builders';
import type { LiveProject } from './live-project';
import { createBinarySwapUpdater } from './container-updaters';
import { createContainerCheck } from './container-check';
import { createRecipeCache, type Prepared } from './recipe-cache';

export type { LiveProject } from './live-project';

/** One live update asked for by the job runner. */
export interface LiveUpdateRequest {
  /** Workspace-relative files of the change set. */
  files: readonly string[];
  /** Set when the job must take the full path anyway. */
  fullReason: string | undefined;
  /** Aborts the compile; once the copy starts, only shutdown aborts (the signal then ends the health wait). */
  signal: AbortSignal;
  /** Called when the update passes from compiling to changing the container. */
  onReload?(): void;
}

/** How a live update ended. `fallback` asks the job runner for the full build + replace, for `reason`. */
export type LiveUpdateOutcome =
  | { status: 'updated'; durationMs: number; compileMs: number }
  | { status: 'unchanged' }
  | { status: 'compile-failed'; exitCode: number; output: string }
  | { status: 'failed'; message: string }
  /** `noRecipe`: the project cannot live-update at all, so its container never runs anything but its image. */
  | { status: 'fallback'; reason: string; noRecipe?: boolean }
  | { status: 'aborted' };

/** The live update side of the watch targets. */
export interface LiveUpdateTargets {
  /** Compiles in the warm builder, copies into the running container, restarts it and waits for health. Never throws. */
  update(project: string, request: LiveUpdateRequest): Promise<LiveUpdateOutcome>;
  /** Infers recipes and starts builders in the background; resolves with the projects whose running container holds code of an earlier live update. */
  prepare(projects: readonly string[]): Promise<string[]>;
  /** A full reload replaced the project's container: it runs its image's code again. */
  replaced(project: string): void;
  /** Containers that run live-updated code right now. */
  liveContainers(): { project: string; container: string }[];
  /** Where the live-updated binary is in the project's container; undefined when it runs its image's code. */
  liveBinary(project: string): string | undefined;
  /** Removes the builders (and every compile in them). */
  close(): Promise<void>;
}

/** What {@link createLiveUpdater} works with. */
export interface LiveUpdaterDeps {
  workspaceRoot: string;
  /** The project's targets, read with the watcher's configuration; throws when they cannot be read. */
  describe(project: string): LiveProject;
  records: BuildRecordStore;
  liveRecords: LiveUpdateRecordStore;
  files: FileReader;
  probe(engine: PodmanEngine): HealthProbe;
  clock: SleepClock & { date(): Date };
  logger: Logger;
  /** How many projects update at once (the watcher's `concurrency`): compile servers kept per builder. @default 1 */
  concurrency?: number;
  /** Makes the running container run the new binary. @default the binary swap + restart (container-updaters.ts) */
  updater?: ContainerUpdater;
}

/** Creates the live updater; builders are named after the workspace, so one watcher's builders never meet another's. */
export function createLiveUpdater(deps: LiveUpdaterDeps): LiveUpdateTargets {
  const { logger, clock, files } = deps;
  const concurrency = Math.max(1, deps.concurrency ?? 1);
  const updater = deps.updater ?? createBinarySwapUpdater({ files, probe: deps.probe, clock, logger });
  const pool = createBuilderPool({ workspaceRoot: deps.workspaceRoot, files, clock, logger, maxIdle: concurrency });
  const { builderFor, compile } = pool;
  const warmups = new AbortController();
  const live = new Map<string, string>();
  /** The path of the live-updated binary in each of those containers. */
  const binaries = new Map<string, string>();
  let closing = false;
  let warming: Promise<void> = Promise.resolve();

  const swap: SwapUnits = { files, liveRecords: deps.liveRecords, live, binaries, updater, logger, clock };
  const { recipeFor } = createRecipeCache(files);
  const { checkContainer, inspectContainer, forget } = createContainerCheck(files, deps.records);

  const update = async (project: string, request: LiveUpdateRequest): Promise<LiveUpdateOutcome> => {
    const begin = clock.now();
    const info = deps.describe(project);
    const prepared = await recipeFor(info);
    const reason = liveUpdateFallbackReason({
      files: request.files,
      fullReason: request.fullReason,
      recipe: prepared.inference,
      containerfile: normalizeWorkspacePath(relative(deps.workspaceRoot, info.containerfile)),
      context: normalizeWorkspacePath(relative(deps.workspaceRoot, info.context)),
    });
    if (reason !== undefined || !prepared.inference.ok || !prepared.image) {
      return { status: 'fallback', reason: reason ?? 'no recipe', ...(!prepared.inference.ok && !prepared.imageMissing && { noRecipe: true }) };
    }
    const recipe = prepared.inference.recipe;
    const builder = await builderFor(info, recipe, prepared.image);
    try {
      return await compileAndUpdate(project, request, info, recipe, builder, begin);
    } finally {
      // The next compile's process starts once this update is over (see BuilderPool.standBy).
      pool.standBy(builder);
    }
  };

  const compileAndUpdate = async (
    project: string,
    request: LiveUpdateRequest,
    info: LiveProject,
    recipe: LiveUpdateRecipe,
    builder: Builder,
    begin: number,
  ): Promise<LiveUpdateOutcome> => {
    logger.info('live update', { plugin: project, files: request.files.length });
    // The compile is the first process (the hot path: change set closed → compile running); the container check
    // starts once the compile runs (or waits behind another one) and runs alongside it.
    let started!: () => void;
    const compileStarted = new Promise<void>((resolve) => (started = resolve));
    const [compiled, checked] = await Promise.all([
      compile(builder, info, recipe, project, request.signal, started, begin),
      compileStarted.then(() => checkContainer(info)),
    ]);
    if (compiled.kind === 'error') return request.signal.aborted ? { status: 'aborted' } : { status: 'fallback', reason: compiled.message };
    // Whatever happens next, the binary's host directory goes (the container gets a copy).
    try {
      if (request.signal.aborted) return { status: 'aborted' };
      if (checked.reason !== undefined) return { status: 'fallback', reason: checked.reason };
      const { result } = compiled;
      const output = parseCompileOutput(`${result.stdout}\n${result.stderr}`);
      if (result.exitCode !== 0) return { status: 'compile-failed', exitCode: result.exitCode, output: output.messages };
      logger.debug('compiled', { plugin: project, packages: output.packages.join(',') || '(none: all cached)', duration: formatSeconds(compiled.durationMs) });
      return await swapIn(swap, { project, request, info, recipe, compiled, state: checked.state, begin });
    } finally {
      await files.removeDirectory(compiled.hostDir);
    }
  };

  return {
    async update(project, request) {
      try {
        return await update(project, request);
      } catch (error) {
        return { status: 'fallback', reason: (error as Error).message };
      }
    },
    async prepare(projects) {
      const stale: string[] = [];
      const ready: { project: string; info: LiveProject; recipe: LiveUpdateRecipe; image: ImageConfig }[] = [];
      // Builders a killed watcher of this workspace left behind.
      const engines = new Set<PodmanEngine>();
      await Promise.all(
        projects.map((project) =>
          prepareProject(project, { describe: deps.describe, recipeFor, inspectContainer, liveRecords: deps.liveRecords, logger, engines, ready, stale }),
        ),
      );
      await pool.removeLeftovers(engines);
      // In project order: builders start, and warm up below, the same way on every run.
      ready.sort((a, b) => a.project.localeCompare(b.project));
      await startSharedBuilders(pool, ready);
      // Warm Go's build cache in the background: a first compile on an empty cache volume compiles the standard library too.
      warming = warmBuilders(pool, ready, { files, logger, concurrency, signal: warmups.signal, closing: () => closing }).catch((error: Error) =>
        logger.warn('live update builders not warmed; the first compile warms them', { reason: error.message }),
      );
      return stale;
    },
    replaced(project) {
      live.delete(project);
      binaries.delete(project);
      // A new container: the next check inspects it.
      forget(project);
    },
    liveBinary: (project) => (live.has(project) ? binaries.get(project) : undefined),
    liveContainers() {
      return [...live].map(([project, container]) => ({ project, container })).sort((a, b) => a.project.localeCompare(b.project));
    },
    async close() {
      if (closing) return;
      closing = true;
      warmups.abort();
      await warming;
      await pool.close();
    },
  };
}

/** What {@link swapIn} works with (the live updater's). */
interface SwapUnits {
  files: Pick<FileReader, 'hashFile'>;
  liveRecords: LiveUpdateRecordStore;
  /** The containers that run live-updated code, by project. */
  live: Map<string, string>;
  binaries: Map<string, string>;
  updater: ContainerUpdater;
  logger: Logger;
  clock: SleepClock & { date(): Date };
}

/**
 * After a successful compile: the binary goes into the checked container through the container updater, unless the
 * container already runs exactly this binary; the live record is written once it is in.
 */
async function swapIn(
  units: SwapUnits,
  job: {
    project: string;
    request: LiveUpdateRequest;
    info: LiveProject;
    recipe: LiveUpdateRecipe;
    compiled: Extract<CompileResult, { kind: 'done' }>;
    state: ContainerState;
    begin: number;
  },
): Promise<LiveUpdateOutcome> {
  const { files, liveRecords, live, binaries, updater, logger, clock } = units;
  const { project, request, info, recipe, compiled, state, begin } = job;
  const sha = await files.hashFile(compiled.hostFile);
  if (!sha) return { status: 'fallback', reason: `the compile wrote no ${recipe.artifact}` };
  const previous = await liveRecords.read(project, info.stage);
  if (previous && previous.containerId === state.id && previous.binarySha256 === sha) {
    logger.info('binary unchanged; container keeps running', { plugin: project });
    return { status: 'unchanged' };
  }
  request.onReload?.();
  const updated = await updater.update({
    project,
    engine: info.engine,
    container: info.container,
    state,
    hostFile: compiled.hostFile,
    destination: recipe.destination,
    health: info.health,
    signal: request.signal,
    installed: async () => {
      // Recorded before the process changes: from here on the container holds the new binary, whatever happens next.
      live.set(project, info.container.name);
      binaries.set(project, recipe.destination);
      await liveRecords.write({
        project,
        stage: info.stage,
        container: info.container.name,
        containerId: state.id,
        imageId: state.imageId,
        binarySha256: sha,
        updatedAt: clock.date().toISOString(),
      });
      logger.info('live update completed', { plugin: project, duration: formatSeconds(clock.now() - begin), compile: formatSeconds(compiled.durationMs) });
    },
  });
  switch (updated.status) {
    case 'updated':
      return { status: 'updated', durationMs: clock.now() - begin, compileMs: compiled.durationMs };
    case 'refused':
      return { status: 'fallback', reason: updated.reason };
    case 'aborted':
      return { status: 'aborted' };
    case 'failed':
      return { status: 'failed', message: updated.message };
  }
}

/**
 * Warms Go's build cache in each builder with one compile per project (a first compile on an empty cache volume
 * compiles the standard library too), then leaves a compile server waiting for each project that may compile at once.
 */
async function warmBuilders(
  pool: BuilderPool,
  ready: { project: string; info: LiveProject; recipe: LiveUpdateRecipe; image: ImageConfig }[],
  deps: { files: Pick<FileReader, 'removeDirectory'>; logger: Logger; concurrency: number; signal: AbortSignal; closing(): boolean },
): Promise<void> {
  const { files, logger, concurrency } = deps;
  const projectsOf = new Map<Builder, number>();
  for (const entry of ready) {
    if (deps.closing()) break;
    const builder = await pool.builderFor(entry.info, entry.recipe, entry.image);
    const failed = await builder.ready;
    if (failed) {
      logger.warn('live update builder did not start; changes take the full build', { plugin: entry.project, reason: failed });
      continue;
    }
    const warmed = await pool.compile(builder, entry.info, entry.recipe, entry.project, deps.signal);
    projectsOf.set(builder, (projectsOf.get(builder) ?? 0) + 1);
    if (warmed.kind === 'done') {
      await files.removeDirectory(warmed.hostDir);
      logger.debug('live update builder warm', { plugin: entry.project, duration: formatSeconds(warmed.durationMs), exit: warmed.result.exitCode });
    }
  }
  // A compile server for each project that may compile at once (a core change compiles them all): no podman exec
  // starts on a save's way.
  for (const [builder, projects] of projectsOf) if (!deps.closing()) pool.standBy(builder, Math.min(projects, concurrency));
}

/** One builder per key (image, context, env, user), started with the sources of every project that shares it mounted. */
async function startSharedBuilders(
  pool: BuilderPool,
  ready: { project: string; info: LiveProject; recipe: LiveUpdateRecipe; image: ImageConfig }[],
): Promise<void> {
  const keyOf = (entry: (typeof ready)[number]) => builderKey(entry.recipe, entry.image.id, entry.info.context, entry.info.buildVolumes);
  for (const entry of ready) {
    const group = ready.filter((other) => keyOf(other) === keyOf(entry));
    const mounts = mergeMounts(...group.map((other) => other.recipe.mounts)) ?? entry.recipe.mounts;
    await pool.builderFor(entry.info, entry.recipe, entry.image, mounts);
  }
}

/**
 * At start, one project: its recipe and builder image (or why it has no live update), and whether its container
 * still runs the code of an earlier watcher's live update (`stale`: rebuilt), whose record is dropped otherwise.
 */
async function prepareProject(
  project: string,
  deps: {
    describe(project: string): LiveProject;
    recipeFor(info: LiveProject): Promise<Prepared>;
    inspectContainer(info: LiveProject): Promise<ContainerState | undefined>;
    liveRecords: LiveUpdateRecordStore;
    logger: Logger;
    engines: Set<PodmanEngine>;
    ready: { project: string; info: LiveProject; recipe: LiveUpdateRecipe; image: ImageConfig }[];
    stale: string[];
  },
): Promise<void> {
  const { logger } = deps;
  try {
    const info = deps.describe(project);
    deps.engines.add(info.engine);
    const prepared = await deps.recipeFor(info);
    if (!prepared.inference.ok || !prepared.image) {
      logger.info('no live update; every change takes the full build', {
        plugin: project,
        reason: prepared.inference.ok ? 'no builder image' : prepared.inference.reason,
      });
      return;
    }
    deps.ready.push({ project, info, recipe: prepared.inference.recipe, image: prepared.image });
    const record = await deps.liveRecords.read(project, info.stage);
    if (record) {
      if ((await deps.inspectContainer(info))?.id === record.containerId) deps.stale.push(project);
      else await deps.liveRecords.remove(project, info.stage);
    }
  } catch (error) {
    logger.debug('live update not prepared', { plugin: project, reason: (error as Error).message });
  }
}
