import type { ExecutorContext } from '@nx/devkit';
import { createBuildRecordStore } from '../../adapters/build-record-store';
import { createLogger, isNxVerbose } from '../../adapters/logger';
import { createPodmanEngine } from '../../adapters/podman-engine';
import { runUntilSignal } from '../../adapters/process-signals';
import { normalizePodmanBuildOptions, type NormalizedPodmanBuildOptions } from './normalize-options';
import { runPodmanBuild } from './run-podman-build';
import type { PodmanBuildExecutorSchema } from './schema';

/** `@prism/nx-podman:podman-build`: builds one image with podman (see docs/podman-build.md). */
export default async function podmanBuildExecutor(options: PodmanBuildExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  const verbose = context.isVerbose || isNxVerbose();
  const logger = createLogger({ verbose });
  const projectName = context.projectName;
  if (!projectName) {
    process.stderr.write('podman-build must run for a project: nx run <project>:podman-build\n');
    return { success: false };
  }
  let normalized: NormalizedPodmanBuildOptions;
  try {
    normalized = normalizePodmanBuildOptions(options, {
      projectName,
      projectRoot: context.projectsConfigurations.projects[projectName]?.root ?? '.',
      workspaceRoot: context.root,
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return { success: false };
  }
  // --verbose always shows podman's output, even for a quiet target.
  const buildOptions = verbose && normalized.quiet ? Object.freeze({ ...normalized, quiet: false }) : normalized;
  // Ctrl-C / SIGTERM: abort so the podman child is stopped rather than orphaned.
  return runUntilSignal(
    async ({ signal }) => {
      const outcome = await runPodmanBuild(buildOptions, {
        engine: createPodmanEngine(buildOptions.connection),
        logger,
        records: createBuildRecordStore(context.root),
        signal,
      });
      if (outcome.status === 'failed') process.stderr.write(`${outcome.message}\n`);
      return { success: outcome.status === 'built' || outcome.status === 'up-to-date' };
      // sentinel: Nx signals a task's leaf processes first, the sentinel hears it for us (see process-signals.ts).
    },
    { sentinel: true },
  );
}
