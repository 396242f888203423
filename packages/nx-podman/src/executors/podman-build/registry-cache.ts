import { imageNameComponent } from '../../core/build-args';
import { INPUT_HASH_LABEL } from '../../core/build-record';
import { lastLines } from '../../core/command-line';
import { fullImageId } from '../../core/image-id';
import { explainPushFailure, registryOf } from '../../core/push-errors';
import type { Logger, PodmanEngine } from '../../core/ports';

/**
 * The registry cache of podman-build (option `registryCache`): the registry as the image store machines share. A
 * build looks there for the image of its input hash before building, and puts its image there after.
 */

/** What the cache needs: the engine, where to log, and the build's abort signal. */
interface CacheDeps {
  engine: PodmanEngine;
  logger: Logger;
  signal?: AbortSignal;
}

/** The registry cache's tag for a build: `<repository>:nxp-<stage>-<first 32 hex digits of the input hash>`. */
export function registryCacheRef(repository: string, stage: string, inputHash: string): string {
  return `${repository}:nxp-${imageNameComponent(stage)}-${inputHash.slice(0, 32)}`;
}

/** podman's answer when the registry does not have the tag (a cache miss, not a failure). */
const NOT_IN_REGISTRY = /manifest unknown|name unknown|not found|no such image|repository does not exist/i;

/**
 * The image another machine built from the same inputs, pulled from the registry cache; undefined on a miss (then
 * the caller builds). A registry that cannot be reached is a warning, never a failed build: the cache only saves time.
 */
export async function pullFromRegistryCache(
  ref: string,
  inputHash: string,
  deps: CacheDeps,
  plugin: string,
): Promise<{ id: string; names: string[]; pulled: true } | undefined> {
  const { engine, logger, signal } = deps;
  const pulled = await engine.exec(['pull', '--quiet', ref], { signal });
  if (pulled.exitCode !== 0) {
    const reason = lastLines(pulled.stderr || pulled.stdout, 1);
    if (NOT_IN_REGISTRY.test(pulled.stderr)) logger.debug('not in the registry cache', { plugin, ref });
    else
      logger.warn('registry cache not reachable; building', {
        plugin,
        registry: registryOf(ref),
        reason: explainPushFailure(ref, pulled.stderr)?.replace(/^Push to/, 'Pull from') ?? reason,
      });
    return undefined;
  }
  const id = pulled.stdout.trim().split('\n').pop() ?? '';
  const names = await engine.imageNames(id);
  // The tag says the hash; the label must say it too (a tag can be moved by hand).
  const label = await engine.exec(['image', 'inspect', '--format', `{{index .Labels "${INPUT_HASH_LABEL}"}}`, id], { signal });
  if (label.stdout.trim() !== inputHash) {
    logger.warn('registry cache image has other inputs; building', { plugin, ref });
    return undefined;
  }
  return { id: fullImageId(id), names: names ?? [], pulled: true };
}

/** Pushes a new build to the registry cache; a failure is a warning (the image is built and tagged here). */
export async function pushToRegistryCache(ref: string, imageId: string, deps: CacheDeps, plugin: string): Promise<void> {
  const { engine, logger, signal } = deps;
  const tagged = await engine.exec(['tag', imageId, ref], { signal });
  const pushed = tagged.exitCode === 0 ? await engine.exec(['push', '--quiet', ref], { signal }) : tagged;
  if (pushed.exitCode === 0) logger.info('pushed to the registry cache', { plugin, ref });
  else
    logger.warn('could not push to the registry cache', {
      plugin,
      registry: registryOf(ref),
      reason: explainPushFailure(ref, pushed.stderr) ?? lastLines(pushed.stderr || pushed.stdout, 1),
    });
}
