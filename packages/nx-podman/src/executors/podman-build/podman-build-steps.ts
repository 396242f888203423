import { dirname, relative } from 'node:path';
import { buildPodmanPushArgs, maskBuildArgValues } from '../../core/build-args';
import { nextHistory, type BuildRecord } from '../../core/build-record';
import { formatCommand, lastLines } from '../../core/command-line';
import { shortImageId } from '../../core/image-id';
import { buildGlobalArgs } from '../../core/podman-version';
import type { Clock, FileReader, ProcessResult } from '../../core/ports';
import { explainPushFailure, registryOf } from '../../core/push-errors';
import type { NormalizedPodmanBuildOptions } from './normalize-options';
import type { PodmanBuildDeps, PodmanBuildOutcome } from './podman-build-types';

/** The steps of `runPodmanBuild` (run-podman-build.ts) after the up-to-date check: build, record, push, and failures. */

const OUTPUT_TAIL_LINES = 20;

export function workspacePath(options: NormalizedPodmanBuildOptions, path: string): string {
  return relative(options.workspaceRoot, path) || '.';
}

/** A failed podman step as the build's outcome: the end of its output, and how to see all of it. */
export function failure(
  options: NormalizedPodmanBuildOptions,
  what: string,
  result: ProcessResult,
  streamed: boolean,
): Extract<PodmanBuildOutcome, { status: 'failed' }> {
  const outputTail = lastLines(result.stderr.trim() ? result.stderr : result.stdout, OUTPUT_TAIL_LINES);
  const lines = [`${what} failed for "${options.projectName}" (exit ${result.exitCode}): ${outputTail || '(no output)'}`];
  if (!streamed) lines.push('Run with --verbose for the full output.');
  return { status: 'failed', exitCode: result.exitCode, message: lines.join('\n'), outputTail };
}

/** With `push`: pushes the recorded image to each destination; the failure outcome, or undefined when done (or off). */
export async function pushRecord(
  options: NormalizedPodmanBuildOptions,
  deps: PodmanBuildDeps,
  fileReader: Pick<FileReader, 'makeDirectory'>,
  pushDestination: string | undefined,
  record: BuildRecord,
): Promise<PodmanBuildOutcome | undefined> {
  const { engine, logger, signal } = deps;
  const plugin = options.projectName;
  const stage = options.stage;
  if (!options.push) return undefined;
  const local = pushDestination?.match(/^(?:dir|oci|oci-archive|docker-archive):([^:]+)/);
  // podman does not create the parent folder of a file destination.
  if (local) await fileReader.makeDirectory(dirname(local[1]));
  for (const args of buildPodmanPushArgs({
    tags: record.tags,
    imageId: record.imageId,
    platforms: options.platforms,
    destination: pushDestination,
  })) {
    logger.info('pushing image', { plugin, stage, destination: args.at(-1) });
    const result = await engine.exec(args, { signal, onOutput: options.quiet ? undefined : (chunk) => logger.output(chunk) });
    if (result.aborted) return { status: 'aborted' };
    if (result.exitCode !== 0) {
      const destination = args.at(-1)!;
      const registry = registryOf(destination);
      logger.error('push failed', { plugin, stage, registry, exit: result.exitCode });
      const failed = failure(options, `podman push ${destination}`, result, !options.quiet);
      // The build stands: a second run finds it up to date and only pushes.
      const kept = `The image ${shortImageId(record.imageId)} stays in local storage; once fixed, run the build again: it is up to date and only pushes.`;
      const explained = explainPushFailure(destination, `${result.stderr}\n${result.stdout}`);
      return { ...failed, message: [explained, failed.message, kept].filter(Boolean).join('\n') };
    }
  }
  return undefined;
}

/**
 * Runs `podman build` until it gives an image: once, or for a multi-platform manifest list that came out short, once
 * more without the layer cache. The image id, or the outcome that ends the build (failed, aborted).
 */
export async function buildUntilComplete(
  options: NormalizedPodmanBuildOptions,
  deps: PodmanBuildDeps,
  build: { argsFor(noCache: boolean): string[]; manifest: string | undefined; clock: Pick<Clock, 'now'>; started: number },
): Promise<string | PodmanBuildOutcome> {
  const { engine, logger, signal } = deps;
  const { argsFor, manifest, clock, started } = build;
  const plugin = options.projectName;
  const stage = options.stage;
  let imageId: string | undefined;
  for (let noCache = options.noCache; imageId === undefined; noCache = true) {
    const args = argsFor(noCache);
    if (manifest) await engine.exec(['manifest', 'rm', manifest]);
    logger.debug('podman command', {
      plugin,
      command: formatCommand(engine.connection.podman, [...buildGlobalArgs(engine.connection), ...maskBuildArgValues(args)]),
      after: `${Math.round(clock.now() - started)}ms`,
    });
    const { result, imageId: builtId } = await engine.build(args, { signal, onOutput: options.quiet ? undefined : (chunk) => logger.output(chunk) });
    if (result.aborted || signal?.aborted) {
      logger.warn('build aborted', { plugin, stage });
      return { status: 'aborted' };
    }
    if (result.exitCode !== 0) {
      logger.error('build failed', { plugin, exit: result.exitCode });
      return failure(options, 'podman build', result, !options.quiet);
    }
    if (!manifest) {
      if (builtId === undefined) return failure(options, 'podman build (no image id written)', result, !options.quiet);
      imageId = builtId;
      break;
    }
    const built = await engine.manifestPlatforms(manifest);
    const missing = options.platforms.filter((platform) => !built?.includes(platform));
    if (missing.length === 0) {
      imageId = (await engine.listImages(`reference=${manifest}`))?.[0]?.id;
      if (imageId === undefined) {
        return { status: 'failed', exitCode: 1, message: `podman built the manifest list "${manifest}" for "${plugin}" but cannot list it.`, outputTail: '' };
      }
      break;
    }
    // Podman 4.3 builds the platforms in parallel and can take one platform's cached layers (a COPY onto
    // `FROM scratch`) for another's, leaving the list short. Without the cache every platform gets its own image.
    if (noCache) {
      logger.error('build failed', { plugin, reason: 'incomplete manifest list' });
      return {
        status: 'failed',
        exitCode: 1,
        message: `podman build made an incomplete manifest list for "${plugin}": ${missing.join(', ')} missing even without the layer cache. Check that podman can build for ${missing.join(', ')} (qemu-user-static for RUN steps).`,
        outputTail: '',
      };
    }
    logger.warn('manifest list incomplete, rebuilding without the layer cache', { plugin, stage, missing: missing.join(',') });
  }
  return imageId;
}

/** The build record of `imageId`: what was built from which inputs, with the project's history of builds. */
export function buildRecordOf(
  options: NormalizedPodmanBuildOptions,
  built: { tags: string[]; inputHash: string; previous: BuildRecord | undefined },
  imageId: string,
  builtAt: string,
): BuildRecord {
  return {
    version: 1,
    project: options.projectName,
    stage: options.stage,
    imageId,
    tags: built.tags,
    inputHash: built.inputHash,
    file: workspacePath(options, options.file),
    context: workspacePath(options, options.context),
    platforms: [...options.platforms],
    builtAt,
    history: nextHistory(built.previous, { inputHash: built.inputHash, imageId }),
  };
}
