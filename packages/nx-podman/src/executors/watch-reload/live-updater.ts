import { join, relative } from 'node:path';
import { parseContainerfile } from '../../core/containerfile';
import { sameImage, shortImageId } from '../../core/image-id';
import { builderKey, liveUpdateFallbackReason, mergeMounts, parseCompileOutput } from '../../core/live-update-plan';
import { contextPath, inferLiveUpdateRecipe, type LiveUpdateRecipe, type RecipeInference } from '../../core/live-update-recipe';
import { parseImageConfig, type ImageConfig } from '../../core/podman-output';
import type { BuildRecordStore, ContainerUpdater, FileReader, HealthProbe, LiveUpdateRecordStore, Logger, PodmanEngine, SleepClock } from '../../core/ports';
import { formatSeconds } from '../../core/log-format';
import { buildInspectArgs, parseContainerInspect, type ContainerState } from '../../core/run-args';
import { normalizeWorkspacePath } from '../../core/workspace-paths';
import { createBuilderPool, type Builder } from './live-builders';
import type { LiveProject } from './live-project';
import { createBinarySwapUpdater } from './container-updaters';

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

interface Prepared {
  text: string;
  inference: RecipeInference;
  image?: ImageConfig;
  /** The recipe was found but its builder image is not in podman (yet): not cached, looked for again. */
  imageMissing?: boolean;
}

/** Creates the live updater; builders are named after the workspace, so one watcher's builders never meet another's. */
export function createLiveUpdater(deps: LiveUpdaterDeps): LiveUpdateTargets {
  const { logger, clock, files } = deps;
  const concurrency = Math.max(1, deps.concurrency ?? 1);
  const updater = deps.updater ?? createBinarySwapUpdater({ files, probe: deps.probe, clock, logger });
  const pool = createBuilderPool({ workspaceRoot: deps.workspaceRoot, files, clock, logger, maxIdle: concurrency });
  const { builderFor, compile } = pool;
  const recipes = new Map<string, Prepared>();
  const images = new Map<string, Promise<ImageConfig | undefined>>();
  const warmups = new AbortController();
  const live = new Map<string, string>();
  let closing = false;
  let warming: Promise<void> = Promise.resolve();

  /**
   * The builder image's config, remembered once found. A missing image is not remembered: the first full build pulls
   * it (a new machine has no golang image yet), and the next save must find it there.
   */
  const imageConfig = (engine: PodmanEngine, ref: string) => {
    let found = images.get(ref);
    if (!found) {
      found = engine.exec(['image', 'inspect', ref]).then((result) => (result.exitCode === 0 ? parseImageConfig(result.stdout) : undefined));
      images.set(ref, found);
      void found.then((config) => {
        if (!config && images.get(ref) === found) images.delete(ref);
      });
    }
    return found;
  };

  /** The recipe for the Containerfile as it is now (cached by its text, stage and build args). */
  const recipeFor = async (info: LiveProject): Promise<Prepared> => {
    const text = (await files.readText(info.containerfile)) ?? '';
    const key = JSON.stringify([info.project, info.stage, info.buildArgs, info.hints ?? {}]);
    const cached = recipes.get(key);
    if (cached && cached.text === text) return cached;
    const kinds = new Map<string, 'dir' | 'file' | undefined>();
    for (const copy of parseContainerfile(text).copies) {
      for (const source of copy.sources) {
        const path = contextPath(source);
        kinds.set(path, await files.pathKind(join(info.context, path)));
      }
    }
    const input = { stage: info.stage, buildArgs: info.buildArgs, hints: info.hints, kindOf: (path: string) => kinds.get(path) };
    let inference = inferLiveUpdateRecipe(text, input);
    let image: ImageConfig | undefined;
    let imageMissing = false;
    if (inference.ok) {
      image = await imageConfig(info.engine, inference.recipe.builderImage);
      imageMissing = !image;
      if (!image) inference = { ok: false, reason: `builder image ${inference.recipe.builderImage} is not in podman (build the image once first)` };
      else inference = inferLiveUpdateRecipe(text, { ...input, image: { workdir: image.workdir, env: image.env } });
    }
    const prepared = { text, inference, image, imageMissing };
    // Without its builder image the recipe is not final: the next save looks for the image again.
    if (imageMissing) recipes.delete(key);
    else recipes.set(key, prepared);
    return prepared;
  };

  /** The project's container as podman describes it; undefined when there is none. */
  const inspectContainer = async (info: LiveProject): Promise<ContainerState | undefined> => {
    const inspected = await info.engine.exec(buildInspectArgs(info.container.name));
    return inspected.exitCode === 0 ? parseContainerInspect(inspected.stdout) : undefined;
  };

  /** What the last full inspect said of each project's running container, and its name (see {@link stillRunning}). */
  const lastSeen = new Map<string, { name: string; state: ContainerState }>();

  /**
   * The container as last inspected, when it provably still is that container and running: its conmon's pid file
   * (podman writes it at every start, and removes it with the container) names a live conmon whose command line holds
   * the container's id. Two file reads instead of a `podman inspect` (a podman process: ~0.12 CPU-s, taken from the
   * compiles when a core change updates several plugins at once). Local podman only; anything else: undefined.
   */
  const stillRunning = async (info: LiveProject): Promise<ContainerState | undefined> => {
    const seen = lastSeen.get(info.project);
    const known = seen?.name === info.container.name ? seen.state : undefined;
    if (!known?.running || !known.conmonPidFile || !known.id || info.engine.connection.remote || info.engine.connection.connection) return undefined;
    const pid = Number.parseInt((await files.readText(known.conmonPidFile).catch(() => undefined)) ?? '', 10);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const command = await files.readText(`/proc/${pid}/cmdline`).catch(() => undefined);
    return command !== undefined && command.split('\0').includes(known.id) ? known : undefined;
  };

  /** The container, if it runs this project's image: else why the full path is needed. */
  const checkContainer = async (info: LiveProject) => {
    const quick = await stillRunning(info);
    const state = quick ?? (await inspectContainer(info));
    if (state && !quick) {
      if (state.running) lastSeen.set(info.project, { name: info.container.name, state });
      else lastSeen.delete(info.project);
    }
    if (!state || !state.running) return { reason: `no running container "${info.container.name}"` };
    const record = await deps.records.read(info.project, info.stage);
    if (!record || !sameImage(record.imageId, state.imageId)) {
      return {
        reason: `container "${info.container.name}" runs image ${shortImageId(state.imageId)}, not the image last built for this project${record ? ` (${shortImageId(record.imageId)})` : ''}`,
      };
    }
    return { state };
  };

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
      const sha = await files.hashFile(compiled.hostFile);
      if (!sha) return { status: 'fallback', reason: `the compile wrote no ${recipe.artifact}` };
      const state = checked.state;
      const previous = await deps.liveRecords.read(project, info.stage);
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
          await deps.liveRecords.write({
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
    } finally {
      await files.removeDirectory(compiled.hostDir);
    }
  };

  const warmUp = async (ready: { project: string; info: LiveProject; recipe: LiveUpdateRecipe; image: ImageConfig }[]) => {
    const projectsOf = new Map<Builder, number>();
    for (const entry of ready) {
      if (closing) break;
      const builder = await builderFor(entry.info, entry.recipe, entry.image);
      const failed = await builder.ready;
      if (failed) {
        logger.warn('live update builder did not start; changes take the full build', { plugin: entry.project, reason: failed });
        continue;
      }
      const warmed = await compile(builder, entry.info, entry.recipe, entry.project, warmups.signal);
      projectsOf.set(builder, (projectsOf.get(builder) ?? 0) + 1);
      if (warmed.kind === 'done') {
        await files.removeDirectory(warmed.hostDir);
        logger.debug('live update builder warm', { plugin: entry.project, duration: formatSeconds(warmed.durationMs), exit: warmed.result.exitCode });
      }
    }
    // A compile server for each project that may compile at once (a core change compiles them all): no podman exec
    // starts on a save's way.
    for (const [builder, projects] of projectsOf) if (!closing) pool.standBy(builder, Math.min(projects, concurrency));
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
        projects.map(async (project) => {
          try {
            const info = deps.describe(project);
            engines.add(info.engine);
            const prepared = await recipeFor(info);
            if (!prepared.inference.ok || !prepared.image) {
              logger.info('no live update; every change takes the full build', {
                plugin: project,
                reason: prepared.inference.ok ? 'no builder image' : prepared.inference.reason,
              });
              return;
            }
            ready.push({ project, info, recipe: prepared.inference.recipe, image: prepared.image });
            const record = await deps.liveRecords.read(project, info.stage);
            if (record) {
              if ((await inspectContainer(info))?.id === record.containerId) stale.push(project);
              else await deps.liveRecords.remove(project, info.stage);
            }
          } catch (error) {
            logger.debug('live update not prepared', { plugin: project, reason: (error as Error).message });
          }
        }),
      );
      await pool.removeLeftovers(engines);
      // One builder per key, with every project's sources mounted.
      ready.sort((a, b) => a.project.localeCompare(b.project));
      for (const entry of ready) {
        const key = builderKey(entry.recipe, entry.image.id, entry.info.context, entry.info.buildVolumes);
        const group = ready.filter((other) => builderKey(other.recipe, other.image.id, other.info.context, other.info.buildVolumes) === key);
        const mounts = mergeMounts(...group.map((other) => other.recipe.mounts)) ?? entry.recipe.mounts;
        await builderFor(entry.info, entry.recipe, entry.image, mounts);
      }
      // Warm Go's build cache in the background: a first compile on an empty cache volume compiles the standard library too.
      warming = warmUp(ready).catch((error: Error) => logger.warn('live update builders not warmed; the first compile warms them', { reason: error.message }));
      return stale;
    },
    replaced(project) {
      live.delete(project);
      // A new container: the next check inspects it.
      lastSeen.delete(project);
    },
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
