import { isAbsolute, join, relative, sep } from 'node:path';
import { affectedProjects, findOwningProject } from '../../core/affected-projects';
import { isAlwaysExcluded } from '../../core/file-filter';
import type { Logger, TimerClock, TimerHandle, WatchEvent } from '../../core/ports';
import type { WorkspaceGraph } from '../../core/workspace-graph';
import type { NormalizedWatchReloadOptions } from './normalize-options';
import { buildWatchModel, isGraphChange, watchDirectories, type WatchModel, type WatchModelSources } from './watch-model';

/** A graph refresh waits this long after the last graph-relevant event (a `git checkout` touches many go.mod files). */
export const GRAPH_REFRESH_DELAY_MS = 300;

/** What the router needs: where the files are, how to re-read the graph, and where its decisions go. */
export interface ChangeRouterDeps extends WatchModelSources {
  /** Absolute workspace root (event paths are absolute). */
  workspaceRoot: string;
  options: NormalizedWatchReloadOptions;
  graph: { read(): Promise<WorkspaceGraph> };
  clock: TimerClock;
  logger: Logger;
  /** These buildable projects are affected by a change to `file` (workspace-relative). */
  notify(projects: readonly string[], file: string): void;
  /** Build these projects now, in full (`reason`: `project added`). */
  requestBuild(projects: readonly string[], reason: string): void;
  /** Absolute directories to start watching (a project appeared outside the watched ones). */
  watch(paths: readonly string[]): void;
  /** A refresh produced a new model (the status page lists its buildable projects). */
  modelChanged?(model: WatchModel): void;
}

/**
 * The change router: file events in, affected projects out. It owns the current {@link WatchModel} and refreshes it
 * (one refresh at a time, {@link GRAPH_REFRESH_DELAY_MS} after the last go.mod / project.json / Containerfile event),
 * logging projects that appear or go and building new buildable ones.
 */
export interface ChangeRouter {
  /** The model of the latest successful graph read. */
  readonly model: WatchModel;
  /** Absolute directories being watched (the initial ones, plus those added by refreshes). */
  readonly watchedDirectories: readonly string[];
  /** Handles one file event: a graph refresh when due, then the affected buildable projects to `notify`. */
  route(event: WatchEvent): void;
  /** Stops routing and refreshing; resolves once a refresh in progress has ended. Idempotent. */
  close(): Promise<void>;
}

const toPosix = (path: string) => path.split(sep).join('/');

/** Creates the router over the model read at start. */
export function createChangeRouter(initial: WatchModel, deps: ChangeRouterDeps): ChangeRouter {
  const { logger, clock, workspaceRoot } = deps;
  const absolute = (dirs: readonly string[]) => dirs.map((dir) => (dir === '.' ? workspaceRoot : join(workspaceRoot, dir)));
  let model = initial;
  let watchedDirs = absolute(watchDirectories(initial));
  let closed = false;
  let refreshTimer: TimerHandle | undefined;
  let refreshing: Promise<void> | undefined;
  let refreshAgain = false;

  const refresh = async () => {
    try {
      const next = await buildWatchModel(await deps.graph.read(), deps.options, deps);
      if (closed) return;
      const before = model;
      model = next;
      deps.modelChanged?.(next);
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
      const fresh = absolute(watchDirectories(next)).filter((dir) => !watchedDirs.some((known) => dir === known || dir.startsWith(`${known}${sep}`)));
      if (fresh.length) {
        watchedDirs = [...watchedDirs, ...fresh];
        deps.watch(fresh);
      }
      // A project that just appeared: its files came in before it was known, so build it now (if it is selected).
      const added = [...next.buildable].filter((name) => !before.buildable.has(name));
      if (added.length) deps.requestBuild(added, 'project added');
      logger.debug('project graph refreshed', { projects: Object.keys(next.graph.projects).length, watched: next.watched.size });
    } catch (error) {
      logger.warn('project graph refresh failed; keeping the previous graph', { reason: (error as Error).message });
    }
  };

  const requestRefresh = () => {
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
          await refresh();
        } while (refreshAgain && !closed);
        refreshing = undefined;
      })();
    }, GRAPH_REFRESH_DELAY_MS);
  };

  return {
    get model() {
      return model;
    },
    get watchedDirectories() {
      return watchedDirs;
    },
    route(event) {
      if (closed) return;
      const file = toPosix(isAbsolute(event.path) ? relative(workspaceRoot, event.path) : event.path);
      if (file === '' || file.startsWith('..') || isAlwaysExcluded(file)) return;
      if (isGraphChange(event.op, file)) requestRefresh();
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
      deps.notify(affected, file);
    },
    async close() {
      closed = true;
      if (refreshTimer !== undefined) clock.clearTimer(refreshTimer);
      refreshTimer = undefined;
      await refreshing;
    },
  };
}
