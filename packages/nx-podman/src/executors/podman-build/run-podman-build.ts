import { join } from 'node:path';
import { createContextHasher } from '../../adapters/context-hasher';
import { createFileReader } from '../../adapters/file-reader';
import { createGitReader } from '../../adapters/git';
import { createSystemClock } from '../../adapters/system-clock';
import {
  buildPodmanBuildArgs,
  defaultLabels,
  imageNameComponent,
  qualifyImageName,
  UnsupportedPodmanError,
  expandTokens,
  goEnvBuildArgs,
  platformBuildArgs,
  usesCommitSha,
  type TokenValues,
} from '../../core/build-args';
import { INPUT_HASH_LABEL, knownImageFor, type BuildRecord } from '../../core/build-record';
import { parseContainerfile, stageNames, stagesFor, type ParsedContainerfile } from '../../core/containerfile';
import { ContextReadError, PodmanUnavailableError } from '../../core/errors';
import { fullImageId, shortImageId } from '../../core/image-id';
import { formatSeconds } from '../../core/log-format';
import { pullFromRegistryCache, pushToRegistryCache, registryCacheRef } from './registry-cache';
import { buildRecordOf, buildUntilComplete, failure, pushRecord, workspacePath } from './podman-build-steps';
import type { PodmanBuildDeps, PodmanBuildOutcome } from './podman-build-types';
import type { FileReader, GitRevision } from '../../core/ports';
import type { NormalizedPodmanBuildOptions } from './normalize-options';

export type { PodmanBuildDeps, PodmanBuildOutcome } from './podman-build-types';

/** A precondition failed before podman could build: reported as a `failed` outcome with exit 1. */
class BuildNotStarted extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BuildNotStarted';
  }
}

async function readContainerfile(options: NormalizedPodmanBuildOptions, files: FileReader): Promise<{ text: string; parsed: ParsedContainerfile }> {
  const where = workspacePath(options, options.file);
  let text: string | undefined;
  try {
    text = await files.readText(options.file);
  } catch (error) {
    throw new BuildNotStarted(`Cannot read the Containerfile of "${options.projectName}" (${where}): ${(error as Error).message}`, { cause: error });
  }
  if (text === undefined) {
    throw new BuildNotStarted(
      `No Containerfile for "${options.projectName}": ${where} does not exist. Create it, or set the "file" option to the Containerfile's path (default: Containerfile, else Dockerfile, in ${options.projectRoot || 'the project root'}).`,
    );
  }
  const parsed = parseContainerfile(text);
  if (!stagesFor(parsed, options.stage)) {
    const names = stageNames(parsed);
    const has = names.length ? `its stages are ${names.map((name) => `"${name}"`).join(', ')}` : 'it has no named stages (FROM <image> AS <name>)';
    throw new BuildNotStarted(
      `Unknown stage "${options.stage}" for "${options.projectName}": ${where} does not define it; ${has}. Set the "stage" option (or run the production/debug configuration) to a stage the Containerfile defines.`,
    );
  }
  return { text, parsed };
}

async function checkContext(options: NormalizedPodmanBuildOptions, files: FileReader): Promise<void> {
  if (!(await files.isDirectory(options.context))) {
    throw new BuildNotStarted(
      `Build context of "${options.projectName}" is not a directory: ${workspacePath(options, options.context)}. Set the "context" option to a directory (default: the project root).`,
    );
  }
}

/** Expands `{shortCommitSha}` where used; a missing commit is an error naming the option. */
function expandCommit(options: NormalizedPodmanBuildOptions, revision: GitRevision | undefined) {
  const values: TokenValues = { projectName: options.projectName, stage: options.stage, env: {}, shortCommitSha: revision?.short };
  const expand = (text: string, option: string) => {
    if (!usesCommitSha(text)) return text;
    if (!revision) {
      throw new BuildNotStarted(
        `Option "${option}" ("${text}") uses {shortCommitSha} but ${options.workspaceRoot} is not a git repository with a commit (or git is not installed). Commit first, or remove the token.`,
      );
    }
    return expandTokens(text, values, option);
  };
  const mapValues = (map: Readonly<Record<string, string>>, option: string) =>
    Object.fromEntries(Object.entries(map).map(([name, value]) => [name, expand(value, `${option}.${name}`)]));
  return {
    tags: options.tags.map((tag, index) => expand(tag, `tags[${index}]`)),
    buildArgs: mapValues(options.buildArgs, 'buildArgs'),
    labels: mapValues(options.labels, 'labels'),
    pushDestination: options.pushDestination === undefined ? undefined : expand(options.pushDestination, 'pushDestination'),
  };
}

function needsCommit(options: NormalizedPodmanBuildOptions): boolean {
  return [...options.tags, ...Object.values(options.buildArgs), ...Object.values(options.labels), options.pushDestination ?? ''].some(usesCommitSha);
}

/** The image podman already has for this input hash, if any, with the names that point at it. */
async function findUpToDateImage(
  options: NormalizedPodmanBuildOptions,
  deps: PodmanBuildDeps,
  inputHash: string,
  previous: BuildRecord | undefined,
  tags: readonly string[],
): Promise<{ id: string; names: string[] } | undefined> {
  if (options.platforms.length > 1) {
    // A manifest list carries no labels of its own: trust the record, if the list it names still exists.
    if (previous?.inputHash !== inputHash) return undefined;
    return (await deps.engine.imageExists(previous.imageId)) ? { id: previous.imageId, names: [] } : undefined;
  }
  // What this project's own builds made (the record and its history): one podman call, whatever the store holds.
  const known = knownImageFor(previous, inputHash);
  if (known !== undefined) {
    const names = await deps.engine.imageNames(known);
    if (names !== undefined) return { id: fullImageId(known), names };
  }
  // With a record, a hash it does not know was not built here lately: build (the layer cache makes an old content
  // quick) rather than search the store, which costs more the more images it holds (0.7 s with ~1,900 images).
  if (previous) return undefined;
  // No record (first build in this checkout): an image built elsewhere with the same inputs may be reused.
  const listed = await deps.engine.listImages(`label=${INPUT_HASH_LABEL}=${inputHash}`, { signal: deps.signal });
  if (!listed) return undefined;
  const images = new Map(listed.map((image) => [image.id, image.names]));
  // podman 4.3 puts --label on the images of the intermediate stages too (the builder carries the hash as well), so
  // an image counts only if it is the one the record names or it carries one of this build's tags; an untagged
  // stranger is rebuilt (cheaply, from the layer cache) rather than run.
  const wanted = new Set(tags.map(qualifyImageName));
  const id = [...images].find(([, names]) => names.some((name) => wanted.has(name)))?.[0];
  return id === undefined ? undefined : { id, names: images.get(id) ?? [] };
}

/** Errors that mean "the build could not start": reported as a `failed` outcome, never thrown. */
function isNotStarted(error: unknown): error is Error {
  return (
    error instanceof BuildNotStarted || error instanceof PodmanUnavailableError || error instanceof UnsupportedPodmanError || error instanceof ContextReadError
  );
}

/**
 * Builds one image: checks the Containerfile, stage and context first, skips the build when an image with the same
 * input hash exists (unless `force`/`noCache`), otherwise checks `podman version` (once per engine), streams podman's
 * output unless `quiet`, records the image id and pushes when asked. Never throws for a build problem: it returns a
 * `failed` outcome whose message is ready to show.
 */
export async function runPodmanBuild(options: NormalizedPodmanBuildOptions, deps: PodmanBuildDeps): Promise<PodmanBuildOutcome> {
  if (deps.signal?.aborted) return { status: 'aborted' };
  try {
    return await buildOrSkip(options, deps);
  } catch (error) {
    if (!isNotStarted(error)) throw error;
    deps.logger.error('build not started', { plugin: options.projectName, stage: options.stage });
    return { status: 'failed', exitCode: 1, message: error.message, outputTail: '' };
  }
}

async function buildOrSkip(options: NormalizedPodmanBuildOptions, deps: PodmanBuildDeps): Promise<PodmanBuildOutcome> {
  const { engine, logger, records, signal } = deps;
  const clock = deps.clock ?? createSystemClock();
  const fileReader = deps.files ?? createFileReader();
  const plugin = options.projectName;
  const stage = options.stage;
  const started = clock.now();

  const containerfile = await readContainerfile(options, fileReader);
  await checkContext(options, fileReader);
  // git only when a value needs {shortCommitSha} (it is part of the hash) or a build will label the revision.
  const git = deps.git ?? createGitReader();
  // Asked now, awaited when needed: a build labels the revision, and nothing on the way to it waits for git alone.
  const revisionLater = needsCommit(options) ? undefined : git.revision(options.workspaceRoot).catch(() => undefined);
  let revision = needsCommit(options) ? await git.revision(options.workspaceRoot) : undefined;
  const resolved = expandCommit(options, revision);
  const previousRecord = records.read(plugin, stage);

  // GOPROXY & co. from the environment: in the hash (GOFLAGS can change the binary), passed by name only.
  const goEnv = goEnvBuildArgs(containerfile.text, options.env, resolved.buildArgs);
  const { inputHash, files, wholeContext } = await (deps.hasher ?? createContextHasher()).hash({
    context: options.context,
    containerfile: containerfile.text,
    parsed: containerfile.parsed,
    stage,
    buildArgs: { ...resolved.buildArgs, ...goEnv },
    labels: resolved.labels,
    platforms: options.platforms,
    extraArgs: options.extraArgs,
    excludeDirectories: [join(options.workspaceRoot, '.nx')],
  });
  logger.debug('input hash', { plugin, stage, hash: inputHash, files: files.length, wholeContext });
  if (signal?.aborted) return { status: 'aborted' };

  const previous = await previousRecord;
  const makeRecord = (imageId: string, builtAt: string) => buildRecordOf(options, { tags: resolved.tags, inputHash, previous }, imageId, builtAt);

  const push = (record: BuildRecord) => pushRecord(options, deps, fileReader, resolved.pushDestination, record);

  const cacheRef = options.registryCache === undefined ? undefined : registryCacheRef(options.registryCache, stage, inputHash);
  if (!options.force && !options.noCache) {
    const existing =
      (await findUpToDateImage(options, deps, inputHash, previous, resolved.tags)) ??
      (cacheRef ? await pullFromRegistryCache(cacheRef, inputHash, deps, plugin) : undefined);
    if (existing) {
      const missingTags = resolved.tags.filter((tag) => !existing.names.includes(qualifyImageName(tag)));
      const tagged = missingTags.length ? await engine.exec(['tag', existing.id, ...missingTags], { signal }) : undefined;
      if (!tagged || tagged.exitCode === 0) {
        const record = makeRecord(existing.id, previous?.imageId === existing.id ? previous.builtAt : clock.date().toISOString());
        await records.write(record);
        logger.info('pulled' in existing ? 'image up to date (registry)' : 'image up to date', {
          plugin,
          stage,
          image: shortImageId(existing.id),
        });
        return (await push(record)) ?? { status: 'up-to-date', record };
      }
      logger.debug('tagging the up-to-date image failed; building', { plugin, stage, exit: tagged.exitCode });
    }
  }

  const version = await engine.version();
  revision ??= await revisionLater;
  {
    const multiPlatform = options.platforms.length > 1;
    // Build the list under a name of our own: --manifest adds to an existing list, and tags move only on success.
    const created = clock.date().toISOString();
    const manifest = multiPlatform
      ? `localhost/nx-podman-manifest/${imageNameComponent(plugin)}-${imageNameComponent(stage)}:${inputHash.slice(0, 16)}`
      : undefined;
    const argsFor = (noCache: boolean) =>
      buildPodmanBuildArgs(
        {
          file: options.file,
          context: options.context,
          stage,
          tags: resolved.tags,
          buildArgs: { ...resolved.buildArgs, ...platformBuildArgs(containerfile.text, options.platforms, resolved.buildArgs, version.osArch) },
          envBuildArgs: Object.keys(goEnv),
          labels: {
            ...defaultLabels({ projectName: plugin, stage, inputHash, revision: revision?.full, source: revision?.source, created }),
            ...resolved.labels,
            [INPUT_HASH_LABEL]: inputHash,
          },
          pull: options.pull,
          noCache,
          platforms: [...options.platforms],
          manifest,
          extraArgs: [...options.extraArgs],
        },
        version,
      );
    argsFor(options.noCache); // throws UnsupportedPodmanError before anything runs

    logger.info('building plugin', { plugin, stage });
    const built = await buildUntilComplete(options, deps, { argsFor, manifest, clock, started });
    if (typeof built !== 'string') return built;
    const imageId = built;
    if (manifest) {
      const tagged = await engine.exec(['tag', manifest, ...resolved.tags]);
      if (tagged.exitCode !== 0) return failure(options, 'podman tag', tagged, false);
      // With other names on the list, `manifest rm` only drops this one (`rmi`/`untag` resolve the name to a platform image).
      await engine.exec(['manifest', 'rm', manifest]);
    }

    const durationMs = clock.now() - started;
    const record = makeRecord(imageId, clock.date().toISOString());
    await records.write(record);
    logger.info('build completed', { plugin, duration: formatSeconds(durationMs) });
    if (cacheRef) await pushToRegistryCache(cacheRef, imageId, deps, plugin);
    return (await push(record)) ?? { status: 'built', record, durationMs };
  }
}
