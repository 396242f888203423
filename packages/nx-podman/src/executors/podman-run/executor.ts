import type { ExecutorContext } from '@nx/devkit';
import { createBuildRecordStore } from '../../adapters/build-record-store';
import { createHealthProbe } from '../../adapters/health-probe';
import { createLogger } from '../../adapters/logger';
import { createPodmanEngine } from '../../adapters/podman-engine';
import { runUntilSignal } from '../../adapters/process-signals';
import { createSystemClock } from '../../adapters/system-clock';
import { normalizePodmanRunOptions } from './normalize-options';
import { runPodmanRun } from './run-podman-run';
import type { PodmanRunExecutorSchema } from './schema';

/** `nx run <project>:podman-run[:debug]`: replace the plugin's container and wait until it is healthy. */
export default async function podmanRunExecutor(options: PodmanRunExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  const logger = createLogger();
  const projectName = context.projectName;
  if (!projectName) {
    logger.error('podman-run needs a project: run it as "nx run <project>:podman-run"');
    return { success: false };
  }
  const projectRoot = context.projectsConfigurations?.projects[projectName]?.root ?? '.';
  return runUntilSignal(
    async ({ signal }) => {
      try {
        const normalized = normalizePodmanRunOptions(options, { projectName, projectRoot, workspaceRoot: context.root, env: process.env });
        const engine = createPodmanEngine(normalized.connection);
        await engine.version();
        const outcome = await runPodmanRun(normalized, {
          engine,
          logger,
          records: createBuildRecordStore(context.root),
          probe: createHealthProbe({ engine }),
          clock: createSystemClock(),
          signal,
        });
        if (outcome.status === 'healthy') return { success: true };
        logger.error(outcome.message === 'aborted' ? `podman-run for "${projectName}" was interrupted` : outcome.message);
        return { success: false };
      } catch (error) {
        logger.error((error as Error).message);
        return { success: false };
      }
      // sentinel: Nx signals a task's leaf processes first, the sentinel hears it for us (see process-signals.ts).
    },
    { sentinel: true },
  );
}
