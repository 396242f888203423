import { replaceContainer, type ReplacePorts, type ReplaceRequest, type ReplaceResult } from '../../core/container-steps';
import type { NormalizedPodmanRunOptions } from './normalize-options';
import type { BuildRecordStore, HealthProbe, Logger, PodmanEngine, SleepClock } from '../../core/ports';
import { shortImageId } from '../../core/image-id';

/** What {@link runPodmanRun} needs from the world. */
export interface PodmanRunDeps {
  engine: PodmanEngine;
  logger: Logger;
  /** Where `podman-build` recorded the last image of each project and stage. */
  records: BuildRecordStore;
  probe: HealthProbe;
  clock: SleepClock;
  /** Aborting stops waiting for health; the container is left as it is and the outcome is `failed` with message "aborted". */
  signal?: AbortSignal;
  /** Name of the build target, for the hint in "no image" errors. @default "podman-build" */
  buildTargetName?: string;
  /** How the container is replaced. @default replaceContainer (stop, start, wait); the watcher's held ports use a blue/green one */
  replace?: (request: ReplaceRequest, ports: ReplacePorts) => Promise<ReplaceResult>;
}

/**
 * The outcome of one `podman-run`. `durationMs` runs from the start (before the old container is stopped) until the
 * new container was healthy. `rolledBack` tells whether the previous image is running again after a failure.
 */
export type PodmanRunOutcome =
  { status: 'healthy'; container: string; imageId: string; durationMs: number } | { status: 'failed'; message: string; rolledBack: boolean };

function buildCommandHint(options: NormalizedPodmanRunOptions, target: string): string {
  const configuration = options.stage === 'production' ? '' : `:${options.stage}`;
  return `nx run ${options.project}:${target}${configuration}`;
}

/**
 * Resolves a local image reference to its full id (`sha256:…`); undefined when it does not exist. One `podman image
 * inspect`, which never pulls (in the watch loop the reference is the id the build just returned: it only checks it).
 */
async function resolveImage(engine: PodmanEngine, ref: string): Promise<string | undefined> {
  return engine.imageId(ref);
}

/**
 * Replaces the project's plugin container with the image the last `podman-build` recorded for the stage (or the
 * `image` option) and waits until it is healthy. Never throws for expected failures (no image, unhealthy container):
 * those are `failed` outcomes whose message says what to do. Throws only when podman itself cannot be run.
 */
export async function runPodmanRun(options: NormalizedPodmanRunOptions, deps: PodmanRunDeps): Promise<PodmanRunOutcome> {
  const { engine, records } = deps;
  const hint = buildCommandHint(options, deps.buildTargetName ?? 'podman-build');
  let imageId: string | undefined;
  if (options.image !== undefined) {
    imageId = await resolveImage(engine, options.image);
    if (!imageId) {
      return {
        status: 'failed',
        rolledBack: false,
        message: `Image "${options.image}" (option "image") does not exist in podman, and podman-run never pulls. Build it first (e.g. "${hint}") or fix "image".`,
      };
    }
  } else {
    const record = await records.read(options.project, options.stage);
    if (!record) {
      return {
        status: 'failed',
        rolledBack: false,
        message: `No image has been built for "${options.project}" (stage "${options.stage}"). Run "${hint}" first, or set "image".`,
      };
    }
    imageId = await resolveImage(engine, record.imageId);
    if (!imageId) {
      return {
        status: 'failed',
        rolledBack: false,
        message: `The image last built for "${options.project}" (stage "${options.stage}", ${shortImageId(record.imageId)}, built ${record.builtAt}) no longer exists in podman. Run "${hint}" to build it again.`,
      };
    }
  }
  const result = await (deps.replace ?? replaceContainer)(
    { container: options.container, imageId, health: options.health, rollback: options.rollback },
    { engine, probe: deps.probe, clock: deps.clock, logger: deps.logger, signal: deps.signal },
  );
  if (result.status === 'healthy') return { status: 'healthy', container: result.container, imageId: result.imageId, durationMs: result.durationMs };
  return result;
}
