import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { INOTIFY_LIMIT_FIX, type CreateFileWatcher, type FileWatcher, type WatchEvent } from '../../adapters/chokidar-watcher';
import type { Logger } from '../../adapters/logger';
import { affectedProjects, dependencyClosure, findOwningProject } from '../../core/affected-projects';
import type { TimerClock, TimerHandle } from '../../core/clock';
import { parseContainerfile } from '../../core/containerfile';
import {
  DEFAULT_INCLUDE,
  createFileFilter,
  globsFromCopySources,
  globsFromTargetInputs,
  isAlwaysExcluded,
  parseIgnoreFile,
} from '../../core/file-filter';
import { selectProjects } from '../../core/project-selector';
import { createReloadScheduler, type BuildRequest, type BuildResultKind, type ReloadScheduler } from '../../core/reload-scheduler';
import type { WorkspaceGraph } from '../../core/workspace-graph';
import type { NormalizedWatchReloadOptions } from './normalize-options';

/** How one build through the build target ended; `imageId` is known when the podman-build runner did the build. */
export type WatchBuildOutcome =
  | { status: 'built'; imageId: string | undefined; durationMs: number }
  | { status: 'up-to-date'; imageId: string | undefined }
  | { status: 'failed'; exitCode: number; message: string; outputTail: string }
  | { status: 'aborted' };

/** How one reload through the run target ended. */
export type WatchRunOutcome = { status: 'healthy'; imageId: string } | { status: 'failed'; message: string; aborted?: boolean };

/** Runs a project's build and run targets (wired in executor.ts to readTargetOptions + the podman runners). */
export interface WatchTargets {
  /** Workspace-relative Containerfile and build context the build target uses (for the input filter), if it has one. */
  describeBuild(project: string): Promise<{ file: string; context: string } | undefined>;
  /** Builds the project's image; `quiet` keeps podman's output to the failure tail. Never throws for a failed build. */
  build(project: string, options: { signal: AbortSignal; quiet: boolean }): Promise<WatchBuildOutcome>;
  /** Replaces the project's container with `imageId` (or the recorded image) and waits for health. */
  run(project: string, options: { imageId: string | undefined; signal: AbortSignal }): Promise<WatchRunOutcome>;
  /** Stops the project's container (`stopOnExit`). */
  stop(project: string): Promise<void>;
}

/** Everything {@link runWatchReload} needs from the world. */
export interface WatchReloadPorts {
  /** Absolute workspace root. */
  workspaceRoot: string;
  graph: { read(): Promise<WorkspaceGraph> };
  targets: WatchTargets;
  createWatcher: CreateFileWatcher;
  clock: TimerClock;
  logger: Logger;
  /** Reads a workspace-relative text file; undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Aborting stops watching (SIGINT/SIGTERM). */
  signal: AbortSignal;
}

/** What the watch works from; rebuilt after every graph refresh. */
interface WatchModel {
  graph: WorkspaceGraph;
  selected: string[];
  /** Selected projects having the build target. */
  buildable: Set<string>;
  /** Selected projects and everything they depend on. */
  watched: Set<string>;
  filters: Map<string, (path: string) => boolean>;
}

/** Files whose appearance, removal or change can change the project graph. */
const GRAPH_FILES = new Set(['go.mod', 'project.json', 'Containerfile', 'Dockerfile', 'package.json']);
const GRAPH_REFRESH_DELAY_MS = 300;

const toPosix = (path: string) => path.split(sep).join('/');

/** Thrown for a selection that cannot work (typo in a project name, nothing to build). */
export class WatchSelectionError extends Error {}

async function buildModel(graph: WorkspaceGraph, options: NormalizedWatchReloadOptions, ports: WatchReloadPorts): Promise<WatchModel> {
  const { selected, unknownNames } = selectProjects(options.projects, graph.projects);
  if (unknownNames.length) {
    const known = Object.keys(graph.projects).sort().join(', ');
    throw new WatchSelectionError(
      `Invalid watch-reload option "projects": no project named ${unknownNames.map((n) => `"${n}"`).join(', ')}. Known projects: ${known}. Use names, globs (plugin-*) or tag: selectors (tag:plugin).`,
    );
  }
  const buildable = new Set(selected.filter((name) => graph.projects[name].targets[options.buildTarget] !== undefined));
  const watched = dependencyClosure(selected, graph.dependencies);
  const filters = new Map<string, (path: string) => boolean>();
  for (const name of watched) {
    const project = graph.projects[name];
    if (!project) continue;
    let include = options.include ? [...options.include] : undefined;
    let exclude = [...options.ignore];
    let ignore: { context: string; rules: ReturnType<typeof parseIgnoreFile> } | undefined;
    const target = project.targets[options.buildTarget];
    if (target) {
      const described = await ports.targets.describeBuild(name).catch(() => undefined);
      if (!include) {
        const fromInputs = globsFromTargetInputs(target.inputs, { projectRoot: project.root, namedInputs: { ...graph.namedInputs, ...project.namedInputs } });
        if (fromInputs) {
          include = fromInputs.include;
          exclude = [...exclude, ...fromInputs.exclude];
        }
      }
      if (described) {
        const containerfile = await ports.readFile(described.file);
        if (!include && containerfile !== undefined) {
          const sources = parseContainerfile(containerfile).copies.flatMap((copy) => copy.sources);
          include = [...DEFAULT_INCLUDE, ...globsFromCopySources(sources, { buildContext: described.context, projectRoot: project.root })];
        }
        const ignoreText =
          (await ports.readFile(`${described.file}.containerignore`)) ??
          (await ports.readFile(join(described.context, '.containerignore'))) ??
          (await ports.readFile(join(described.context, '.dockerignore')));
        if (ignoreText !== undefined) ignore = { context: described.context, rules: parseIgnoreFile(ignoreText) };
      }
    }
    filters.set(name, createFileFilter({ projectRoot: project.root, include: include ?? DEFAULT_INCLUDE, exclude, ignore }));
  }
  return { graph, selected, buildable, watched, filters };
}

/** Directories to watch: the parent of each watched project root, so that sibling projects created later are seen. */
function watchDirectories(model: WatchModel, workspaceRoot: string): string[] {
  const dirs = [...model.watched]
    .map((name) => model.graph.projects[name]?.root)
    .filter((root): root is string => root !== undefined)
    .map((root) => (root === '.' || root === '' ? '.' : dirname(root)))
    .map((dir) => toPosix(dir));
  const unique = [...new Set(dirs)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const dir of unique) {
    if (!kept.some((parent) => parent === '.' || dir === parent || dir.startsWith(`${parent}/`))) kept.push(dir);
  }
  return kept.map((dir) => (dir === '.' ? workspaceRoot : join(workspaceRoot, dir)));
}

/**
 * The watch loop: reads the graph, watches the selected projects and their dependencies, turns file events into
 * affected projects, lets the pure scheduler decide when to build what, runs builds and reloads through the targets,
 * and shuts down cleanly when `ports.signal` aborts. Resolves `{ success: false }` only for a startup problem.
 */
export async function runWatchReload(options: NormalizedWatchReloadOptions, ports: WatchReloadPorts): Promise<{ success: boolean }> {
  const { logger, clock, targets, workspaceRoot } = ports;
  logger.debug('options', {
    projects: options.projects.join(','),
    debounce: options.debounceMs,
    maxWait: options.maxWaitMs,
    concurrency: options.concurrency,
    onBusyUpdate: options.onBusyUpdate,
    stage: options.stage,
    build: options.build,
    reload: options.reload,
    include: options.include?.join(','),
    ignore: options.ignore.join(','),
  });
  let model: WatchModel;
  try {
    model = await buildModel(await ports.graph.read(), options, ports);
  } catch (error) {
    logger.error((error as Error).message);
    return { success: false };
  }
  if (model.buildable.size === 0) {
    logger.error(
      `Nothing to build: none of the selected projects (${model.selected.join(', ') || 'none'}) has a "${options.buildTarget}" target (option "buildTarget"). ` +
        'Add a Containerfile (graph inference adds the target) or a podman-build target, or select other projects with "projects".',
    );
    return { success: false };
  }
  for (const name of model.selected) {
    if (!model.buildable.has(name)) logger.warn('no build target; watched for its dependents only', { plugin: name, target: options.buildTarget });
  }

  const jobs = new Map<string, { controller: AbortController; phase: 'build' | 'reload'; done: Promise<void> }>();
  const lastRunImage = new Map<string, string>();
  let stopping = false;

  const buildAndReload = async (project: string, job: { controller: AbortController; phase: 'build' | 'reload' }): Promise<BuildResultKind> => {
    const signal = job.controller.signal;
    if (!options.build) {
      logger.info('build disabled; would build', { plugin: project, stage: options.stage });
      return 'succeeded';
    }
    const quiet = !logger.verbose;
    const built = await targets.build(project, { signal, quiet });
    // Stopping: podman may have been killed by the signal before our abort (Nx kills the process tree too).
    if (built.status === 'aborted' || signal.aborted || stopping) return 'aborted';
    if (built.status === 'failed') {
      if (quiet && built.outputTail) logger.output(built.outputTail.endsWith('\n') ? built.outputTail : `${built.outputTail}\n`);
      if (options.reload) logger.info('keeping the running container', { plugin: project });
      return 'failed';
    }
    if (!options.reload) return 'succeeded';
    if (built.status === 'up-to-date' && built.imageId !== undefined && lastRunImage.get(project) === built.imageId) {
      logger.info('container already runs this image', { plugin: project });
      return 'succeeded';
    }
    job.phase = 'reload';
    const ran = await targets.run(project, { imageId: built.imageId, signal });
    if (ran.status === 'healthy') {
      lastRunImage.set(project, ran.imageId);
      return 'succeeded';
    }
    if (signal.aborted || ran.aborted) return 'aborted';
    logger.error('reload failed', { plugin: project, reason: ran.message });
    return 'failed';
  };

  const scheduler: ReloadScheduler = createReloadScheduler(
    { debounceMs: options.debounceMs, maxWaitMs: options.maxWaitMs, concurrency: options.concurrency, onBusyUpdate: options.onBusyUpdate },
    {
      clock,
      driver: {
        changesDetected: (project, files) => logger.info('detected changes', { plugin: project, files: files.length }),
        startBuild: ({ project }: BuildRequest) => {
          const job = { controller: new AbortController(), phase: 'build' as 'build' | 'reload', done: Promise.resolve() };
          jobs.set(project, job);
          job.done = (async () => {
            let result: BuildResultKind = 'failed';
            try {
              result = await buildAndReload(project, job);
            } catch (error) {
              logger.error('build failed', { plugin: project, reason: (error as Error).message });
            } finally {
              jobs.delete(project);
              scheduler.buildFinished(project, result);
            }
          })();
        },
        abortBuild: (project) => {
          const job = jobs.get(project);
          if (!job) return;
          // A replacement half done would leave no container: let the reload finish, the follow-up build is queued.
          if (job.phase === 'reload' && !stopping) {
            logger.debug('changed during reload; building again after it', { plugin: project });
            return;
          }
          logger.info(stopping ? 'stopping build' : 'restarting build: inputs changed', { plugin: project });
          job.controller.abort();
        },
      },
    },
  );

  // Graph refresh: one at a time, shortly after the last graph-relevant file event.
  let refreshTimer: TimerHandle | undefined;
  let refreshing: Promise<void> | undefined;
  let refreshAgain = false;
  let watcher: FileWatcher | undefined;
  let watchedDirs = watchDirectories(model, workspaceRoot);

  const refreshGraph = async () => {
    try {
      const next = await buildModel(await ports.graph.read(), options, ports);
      if (stopping) return;
      const before = model;
      model = next;
      for (const name of next.watched) {
        if (before.watched.has(name)) continue;
        const root = next.graph.projects[name]?.root ?? '.';
        if (!before.graph.projects[name]) logger.info('project added', { plugin: name, path: root });
        logger.info('watching plugin', { plugin: name, path: root });
      }
      for (const name of before.watched) {
        if (!next.graph.projects[name]) logger.info('project removed', { plugin: name });
        else if (!next.watched.has(name)) logger.info('no longer watching plugin', { plugin: name });
      }
      const dirs = watchDirectories(next, workspaceRoot);
      const fresh = dirs.filter((dir) => !watchedDirs.some((known) => dir === known || dir.startsWith(`${known}${sep}`)));
      if (fresh.length) watcher?.add(fresh);
      watchedDirs = [...watchedDirs, ...fresh];
      // A project that just appeared: its files came in before it was known, so build it now (if it is selected).
      const added = [...next.buildable].filter((name) => !before.buildable.has(name));
      if (added.length) scheduler.notify(added, 'project added');
      logger.debug('project graph refreshed', { projects: Object.keys(next.graph.projects).length, watched: next.watched.size });
    } catch (error) {
      logger.warn('project graph refresh failed; keeping the previous graph', { reason: (error as Error).message });
    }
  };
  const requestRefresh = () => {
    if (stopping) return;
    if (refreshTimer !== undefined) clock.clearTimer(refreshTimer);
    refreshTimer = clock.setTimer(() => {
      refreshTimer = undefined;
      if (refreshing) {
        refreshAgain = true;
        return;
      }
      refreshing = (async () => {
        do {
          refreshAgain = false;
          await refreshGraph();
        } while (refreshAgain && !stopping);
        refreshing = undefined;
      })();
    }, GRAPH_REFRESH_DELAY_MS);
  };

  const onEvent = (event: WatchEvent) => {
    if (stopping) return;
    const file = toPosix(isAbsolute(event.path) ? relative(workspaceRoot, event.path) : event.path);
    if (file === '' || file.startsWith('..') || isAlwaysExcluded(file)) return;
    const name = basename(file);
    const structural = event.op === 'unlinkDir' || (GRAPH_FILES.has(name) && (event.op !== 'change' || name === 'go.mod' || name === 'project.json'));
    if (structural) requestRefresh();
    if (event.op === 'addDir' || event.op === 'unlinkDir') return;
    const owner = findOwningProject(file, model.graph.projects);
    if (owner === undefined || !model.watched.has(owner)) {
      logger.debug('file changed outside the watched projects', { file, op: event.op });
      return;
    }
    if (!model.filters.get(owner)?.(file)) {
      logger.debug('file ignored: not a build input', { file, plugin: owner, op: event.op });
      return;
    }
    logger.debug('file changed', { file, plugin: owner, op: event.op });
    const affected = affectedProjects(owner, model.graph.dependencies, model.buildable);
    if (affected.length === 0) {
      logger.debug('no selected project with a build target depends on it', { file, plugin: owner });
      return;
    }
    scheduler.notify(affected, file);
  };

  for (const name of [...model.watched].sort()) logger.info('watching plugin', { plugin: name, path: model.graph.projects[name]?.root ?? '.' });
  let ready = false;
  watcher = ports.createWatcher({
    paths: watchedDirs,
    usePolling: options.usePolling,
    ignored: (path) => {
      const rel = toPosix(relative(workspaceRoot, path));
      return rel !== '' && !rel.startsWith('..') && isAlwaysExcluded(rel);
    },
    onEvent,
    onError: (error) => logger.error('file watcher error', { reason: error.message }),
    onFallbackToPolling: (cause) => {
      logger.error('file watcher limit reached; polling instead', { reason: cause.message, fix: INOTIFY_LIMIT_FIX });
      if (ready && !stopping) {
        // Events between the failure and the polling watcher's first scan may be gone: build everything (unchanged inputs are up to date quickly).
        logger.warn('rebuilding every selected plugin: changes during the switch to polling may have been missed');
        scheduler.notify(model.buildable, 'watcher restarted');
      }
    },
  });

  const stopped = new Promise<void>((resolve) => {
    if (ports.signal.aborted) resolve();
    else ports.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await Promise.race([watcher.ready, stopped]);
  if (!ports.signal.aborted) {
    ready = true;
    logger.info('watcher ready', { projects: model.watched.size, debounce: `${options.debounceMs}ms`, polling: watcher.polling ? true : undefined });
    if (options.initialBuild) scheduler.requestBuild([...model.buildable].sort());
  }

  await stopped;
  stopping = true;
  if (refreshTimer !== undefined) clock.clearTimer(refreshTimer);
  const aborted = scheduler.dispose();
  logger.info('stopping', { builds: aborted.length || undefined });
  await Promise.all([...jobs.values()].map((job) => job.done));
  await watcher.close();
  await refreshing;
  if (options.stopOnExit && options.reload) {
    for (const project of [...model.buildable].sort()) {
      logger.info('stopping plugin container', { plugin: project });
      await targets.stop(project).catch((error: Error) => logger.warn('could not stop the container', { plugin: project, reason: error.message }));
    }
  }
  logger.info('stopped');
  return { success: true };
}
