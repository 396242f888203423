import { relative, sep } from 'node:path';
import { INOTIFY_LIMIT_FIX } from '../../core/errors';
import { isAlwaysExcluded } from '../../core/file-filter';
import type { CreateFileWatcher, Logger, TimerClock } from '../../core/ports';
import { createReloadScheduler, type ReloadScheduler } from '../../core/reload-scheduler';
import { createWatchState, type StatusActions, type StatusPage, type WatchStateView } from '../../core/watch-state';
import type { WorkspaceGraph } from '../../core/workspace-graph';
import { createChangeRouter } from './change-router';
import { createJobRunner, type WatchTargets } from './job-runner';
import { isLiveUpdateOn, type NormalizedWatchReloadOptions } from './normalize-options';
import { buildWatchModel, type WatchModel } from './watch-model';

export type { WatchBuildOutcome, WatchRunOutcome, WatchTargets } from './job-runner';

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
  /** Serves the status page (`statusPort`); absent, there is none. */
  startStatusPage?: StartStatusPage;
}

/** Starts the status page server on `port` (0: any free port) over the watch state; rejects when it cannot listen. */
export type StartStatusPage = (deps: { state: WatchStateView; actions: StatusActions; port: number; logger: Logger }) => Promise<StatusPage>;

/**
 * The watch lifecycle: reads the graph, starts the three units (change router: events → affected projects; the pure
 * scheduler: when to build what; the job runner: build + reload), waits for the watcher to be ready, and on abort shuts
 * them down in order: router, scheduler (aborting running jobs), jobs, watcher, then `stopOnExit` containers all at
 * once. Resolves `{ success: false }` only for a startup problem.
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
  const sources = { describeBuild: (project: string) => targets.describeBuild(project), readFile: ports.readFile };
  const initial = await readInitialModel(options, ports, sources);
  if (!initial) return { success: false };

  // Wired once, each unit to the next: router → scheduler → job runner → state. The lifecycle only starts and stops them.
  const state = createWatchState({ now: () => clock.now(), stage: options.stage, reload: options.reload });
  const showProjects = (buildable: ReadonlySet<string>) => {
    const names = [...buildable].sort();
    state.setProjects(names);
    for (const name of names) state.setContainer(name, options.reload ? targets.container?.(name) : undefined);
  };
  showProjects(initial.buildable);
  targets.observeHolds?.((project, hold) => state.setHold(project, hold));
  const runner = createJobRunner({ options, targets, logger, state });
  const scheduler = createReloadScheduler(
    { debounceMs: options.debounceMs, maxWaitMs: options.maxWaitMs, concurrency: options.concurrency, onBusyUpdate: options.onBusyUpdate },
    { clock, driver: runner, state },
  );
  // The router announces new directories to the watcher, which is created after it (its events go to the router).
  let watcher: ReturnType<CreateFileWatcher> | undefined;
  const router = createChangeRouter(initial, {
    ...sources,
    workspaceRoot,
    options,
    graph: ports.graph,
    clock,
    logger,
    notify: scheduler.notify,
    requestBuild: scheduler.requestBuild,
    watch: (paths) => watcher?.add(paths),
    modelChanged: (model) => showProjects(model.buildable),
  });

  for (const name of [...initial.watched].sort()) logger.info('watching plugin', { plugin: name, path: initial.graph.projects[name]?.root ?? '.' });
  let ready = false;
  let stopping = false;
  let preparing: Promise<void> | undefined;
  let warmingDone: Promise<void> | undefined;
  watcher = ports.createWatcher({
    paths: router.watchedDirectories,
    usePolling: options.usePolling,
    ignored: (path) => {
      const rel = relative(workspaceRoot, path).split(sep).join('/');
      return rel !== '' && !rel.startsWith('..') && isAlwaysExcluded(rel);
    },
    onEvent: (event) => {
      if (!stopping) router.route(event);
    },
    onError: (error) => logger.error('file watcher error', { reason: error.message }),
    onFallbackToPolling: (cause) => {
      logger.error('file watcher limit reached; polling instead', { reason: cause.message, fix: INOTIFY_LIMIT_FIX });
      if (ready && !stopping) {
        // Events between the failure and the polling watcher's first scan may be gone: build everything (unchanged inputs are up to date quickly).
        logger.warn('rebuilding every selected plugin: changes during the switch to polling may have been missed');
        scheduler.requestBuild([...router.model.buildable].sort(), 'the file watcher restarted');
      }
    },
  });

  const stopped = new Promise<void>((resolve) => {
    if (ports.signal.aborted) resolve();
    else ports.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  let statusPage: StatusPage | undefined;
  if (options.statusPort !== false && ports.startStatusPage) {
    const actions = statusActions(scheduler, logger);
    try {
      statusPage = await ports.startStatusPage({ state, actions, port: options.statusPort, logger });
      logger.info('status page', { url: statusPage.url });
    } catch (error) {
      logger.error((error as Error).message);
      stopping = true;
      await router.close();
      scheduler.dispose();
      await watcher.close();
      return { success: false };
    }
  }
  await Promise.race([watcher.ready, stopped]);
  if (!ports.signal.aborted) {
    ready = true;
    logger.info('watcher ready', { projects: initial.watched.size, debounce: `${options.debounceMs}ms`, polling: watcher.polling ? true : undefined });
    ({ preparing, warmingDone } = startBackgroundWork([...router.model.buildable].sort(), options, ports, scheduler, () => stopping));
  }

  await stopped;
  const killedAt = clock.now() + options.killGraceMs; // Nx's SIGKILL: the exit plans its waits within it
  stopping = true;
  runner.beginShutdown();
  const routing = router.close();
  const aborted = scheduler.dispose();
  logger.info('stopping', { builds: aborted.length || undefined });
  // Each plugin's container is released (ports handed back, or stopped) as soon as its own job has ended: an aborted
  // build elsewhere takes seconds of Nx's ~5 s.
  const releasing = releaseContainers([...router.model.buildable].sort(), options, ports, { settled: (project) => runner.settled(project), killedAt });
  await runner.idle();
  await watcher.close();
  await routing;
  // The builders' warm-up and preparation are not waited for: close aborts them and removes every builder, within Nx's
  // kill window (a warm-up on a cold cache takes longer than that).
  await Promise.all([preparing, warmingDone, releasing, closeLiveBuilders(ports)]);
  await statusPage?.close();
  reportLiveContainers(options, ports);
  logger.info('stopped');
  return { success: true };
}

/** The watch model of the first graph read; undefined (after saying why) when the watcher cannot start. */
async function readInitialModel(
  options: NormalizedWatchReloadOptions,
  ports: WatchReloadPorts,
  sources: Parameters<typeof buildWatchModel>[2],
): Promise<WatchModel | undefined> {
  const { logger } = ports;
  let initial: WatchModel;
  try {
    initial = await buildWatchModel(await ports.graph.read(), options, sources);
  } catch (error) {
    logger.error((error as Error).message);
    return undefined;
  }
  if (initial.buildable.size === 0) {
    logger.error(
      `Nothing to build: none of the selected projects (${initial.selected.join(', ') || 'none'}) has a "${options.buildTarget}" target (option "buildTarget"). ` +
        'Add a Containerfile (graph inference adds the target) or a podman-build target, or select other projects with "projects".',
    );
    return undefined;
  }
  for (const name of initial.selected) {
    if (!initial.buildable.has(name)) logger.warn('no build target; watched for its dependents only', { plugin: name, target: options.buildTarget });
  }
  return initial;
}

/**
 * Once the watcher is ready: the initial build, and in the background what the first build and the first live update
 * would otherwise wait for (podman's version and git's HEAD; warm live update builders). Builders whose container runs
 * code of an earlier watcher's live update are rebuilt.
 */
function startBackgroundWork(
  projects: string[],
  options: NormalizedWatchReloadOptions,
  ports: WatchReloadPorts,
  scheduler: ReloadScheduler,
  stopping: () => boolean,
): { preparing?: Promise<void>; warmingDone?: Promise<void> } {
  const { logger, targets } = ports;
  if (options.initialBuild) scheduler.requestBuild(projects, 'initial build');
  else if (options.reload && targets.takeOver) {
    // Running containers publish their ports themselves: a replace (blue/green) moves them behind the watcher's gate.
    void targets.takeOver(projects).then((running) => {
      if (running.length > 0 && !stopping()) scheduler.requestBuild(running, 'holding requests: the watcher takes the published ports over');
    });
  }
  const warmingDone = options.build ? targets.warm?.(projects).catch(() => undefined) : undefined;
  if (!targets.live || !isLiveUpdateOn(options)) return { warmingDone };
  const preparing = targets.live
    .prepare(projects)
    .then((stale) => {
      if (stale.length === 0 || stopping()) return;
      logger.warn('containers run code of an earlier live update; rebuilding them', { plugins: stale.join(',') });
      scheduler.requestBuild(stale, 'the container runs code of an earlier live update');
    })
    .catch((error: Error) => logger.warn('live update builders not prepared; the first live update starts them', { reason: error.message }));
  return { preparing, warmingDone };
}

/** What the status page's buttons do: each goes straight to the scheduler, with a log line. */
function statusActions(scheduler: ReloadScheduler, logger: Logger): StatusActions {
  return {
    build: (project) => {
      logger.info('build requested on the status page', { plugin: project });
      scheduler.buildNow(project, 'build requested on the status page');
    },
    rebuild: (project) => {
      logger.info('full rebuild requested on the status page', { plugin: project });
      scheduler.requestBuild([project], 'full rebuild requested on the status page');
    },
    pause: (project) => {
      if (scheduler.pause(project)) logger.info('paused watching', { plugin: project });
    },
    resume: (project) => {
      const held = scheduler.resume(project);
      if (held !== undefined) logger.info('resumed watching', { plugin: project, held: held || undefined });
    },
  };
}

/** One line naming the containers that run live-updated code, and the command that bakes that code into images. */
function reportLiveContainers(options: NormalizedWatchReloadOptions, ports: WatchReloadPorts): void {
  const running = ports.targets.live?.liveContainers() ?? [];
  if (running.length === 0) return;
  const projects = running.map((entry) => entry.project).join(',');
  const configuration = options.stage === 'production' ? '' : ` -c ${options.stage}`;
  ports.logger.info('containers run live-updated code', {
    containers: running.map((entry) => entry.container).join(','),
    bake: `nx run-many -t ${options.buildTarget} -p ${projects}${configuration} && nx run-many -t ${options.runTarget} -p ${projects}${configuration}`,
  });
}

/**
 * At exit: with `stopOnExit` the containers stop and the gates close; else podman publishes the held ports again (the
 * containers keep running). Each project once its job has `settled`; waits end by `killedAt` (Nx's SIGKILL) less a reserve.
 */
async function releaseContainers(
  projects: readonly string[],
  options: NormalizedWatchReloadOptions,
  ports: WatchReloadPorts,
  exit: { settled(project: string): Promise<void>; killedAt: number },
): Promise<void> {
  const { targets, logger } = ports;
  const release = { timeoutSeconds: STOP_ON_EXIT_TIMEOUT_SECONDS, settled: exit.settled, deadline: exit.killedAt - EXIT_RESERVE_MS };
  if (options.stopOnExit && options.reload) {
    await stopContainers(projects, ports, exit.settled);
    await targets.releasePorts?.({ ...release, handBack: false });
    return;
  }
  await targets
    .releasePorts?.({ ...release, handBack: true })
    .catch((error: Error) => logger.warn('could not hand the ports back to podman', { reason: error.message }));
}

/** At exit, once every job has ended: the live update builders go (removing a builder ends every compile in it). */
async function closeLiveBuilders(ports: WatchReloadPorts): Promise<void> {
  await ports.targets.live?.close().catch((error: Error) => ports.logger.warn('could not remove the live update builders', { reason: error.message }));
}

/**
 * How long a container may take to stop at exit before podman kills it: each one with `stopOnExit`, else the one behind
 * the gate once the hand-back's container serves. Nx 24 gives a task ~5 s after Ctrl-C or
 * SIGTERM (its killProcessTreeGraceful grace period) before it SIGKILLs the task's process tree: the stops, podman's
 * own start-up and clean-up (~0.5-1 s) and the rest of the shutdown must fit in that.
 */
export const STOP_ON_EXIT_TIMEOUT_SECONDS = 2;

/** What the exit keeps of Nx's grace period for its last podman calls (a pod's removal) and its own end. */
const EXIT_RESERVE_MS = 1000;

/**
 * Stops every container at once: Nx kills the whole process tree ~5 s after Ctrl-C, so one after another would leave
 * the last ones half stopped. One container ignoring SIGTERM costs its own (capped) stop timeout, not the others'.
 */
async function stopContainers(projects: readonly string[], ports: WatchReloadPorts, settled: (project: string) => Promise<void>): Promise<void> {
  const { logger, targets } = ports;
  if (projects.length === 0) return;
  logger.info('stopping plugin containers', { plugins: projects.join(',') });
  await Promise.all(
    projects.map((project) =>
      settled(project)
        .then(() => targets.stop(project, { timeoutSeconds: STOP_ON_EXIT_TIMEOUT_SECONDS }))
        .then(
          () => logger.debug('plugin container stopped', { plugin: project }),
          (error: Error) => logger.warn('could not stop the container', { plugin: project, reason: error.message }),
        ),
    ),
  );
}
