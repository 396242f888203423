import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { createChokidarWatcher } from '../../adapters/chokidar-watcher';
import { createLogger } from '../../adapters/logger';
import { createNxGraphReader } from '../../adapters/nx-graph';
import { startStatusServer } from '../../adapters/status-server';
import { runUntilSignal } from '../../adapters/process-signals';
import { createSystemClock } from '../../adapters/system-clock';
import { normalizeWatchReloadOptions, type NormalizedWatchReloadOptions } from './normalize-options';
import { createNxWatchTargets } from './nx-targets';
import { runWatchReload } from './run-watch-reload';
import type { WatchReloadExecutorSchema } from './schema';

/**
 * `nx run <project>:watch-reload[:debug]`: watch, rebuild exactly the affected images, reload their containers
 * (see docs/watch-reload.md). Runs until Ctrl-C / SIGTERM, then aborts running builds and exits.
 */
export default async function watchReloadExecutor(options: WatchReloadExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  let normalized: NormalizedWatchReloadOptions;
  try {
    normalized = normalizeWatchReloadOptions(options, { projectName: context.projectName, env: process.env });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return { success: false };
  }
  const names = Object.keys(context.projectsConfigurations?.projects ?? {});
  const logger = createLogger({
    verbose: normalized.verbose || context.isVerbose,
    format: normalized.logFormat,
    pluginWidth: names.reduce((max, name) => Math.max(max, name.length), 0),
  });

  let current = context;
  const reader = createNxGraphReader(context.root, context.projectGraph);
  const onRepeat = (signal: string) => logger.warn('already stopping; waiting for running builds to end', { signal });
  return runUntilSignal(
    ({ signal }) =>
      runWatchReload(normalized, {
        workspaceRoot: context.root,
        graph: {
          async read() {
            const snapshot = await reader.read();
            current = { ...context, projectGraph: snapshot.projectGraph, projectsConfigurations: snapshot.projectsConfigurations };
            return snapshot.graph;
          },
        },
        targets: createNxWatchTargets({ getContext: () => current, options: normalized, logger }),
        createWatcher: createChokidarWatcher,
        clock: createSystemClock(),
        logger,
        readFile: (path) => readFile(join(context.root, path), 'utf8').catch(() => undefined),
        signal,
        startStatusPage: startStatusServer,
      }),
    // The sentinel: Nx signals a task's leaf processes first (see process-signals.ts).
    { onRepeat, sentinel: true },
  );
}
