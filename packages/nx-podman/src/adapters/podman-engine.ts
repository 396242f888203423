import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containersOnLayers, rootUpperDir, storageOfUpperDir } from '../core/build-containers';
import { lastLines } from '../core/command-line';
import { CommandNotFoundError, PodmanUnavailableError } from '../core/errors';
import { fullImageId } from '../core/image-id';
import { IMAGE_LIST_FORMAT, parseImageIdLines, parseImageList, parseImageNames, parseManifestPlatforms } from '../core/podman-output';
import { execRetryingSignals } from '../core/podman-retry';
import { buildGlobalArgs, parsePodmanVersion, type PodmanConnection, type PodmanVersion } from '../core/podman-version';
import type { PodmanEngine, RunProcessOptions, ProcessRunner } from '../core/ports';
import { createProcessRunner } from './process-runner';
import { readMountInfo } from './process-tree';
import { createSystemClock } from './system-clock';

/** How long an aborted `podman build` may take to clean up after its RUN step was killed, before it is signalled. */
const BUILD_ABORT_GRACE_MS = 3000;

/** Creates the real podman engine (the {@link PodmanEngine} port over the process runner). */
export function createPodmanEngine(connection: PodmanConnection, runner: ProcessRunner = createProcessRunner()): PodmanEngine {
  const globalArgs = buildGlobalArgs(connection);
  let versionPromise: Promise<PodmanVersion> | undefined;
  const exec = async (args: readonly string[], options?: RunProcessOptions) => {
    try {
      return await runner.run(connection.podman, [...globalArgs, ...args], options);
    } catch (error) {
      if (error instanceof CommandNotFoundError) {
        throw new PodmanUnavailableError(
          `podman was not found at "${connection.podman}" (option "podman"). Install podman (Debian/Ubuntu: apt-get install podman) or set "podman" to the binary's path.`,
          { cause: error },
        );
      }
      throw error;
    }
  };
  /** Removes the build containers an aborted build left on `layers` (by storage file); a container already gone is fine. */
  const removeStepContainers = async (layers: ReadonlyMap<string, ReadonlySet<string>>) => {
    const ids: string[] = [];
    for (const [file, onLayers] of layers) ids.push(...containersOnLayers(await readFile(file, 'utf8').catch(() => '[]'), onLayers));
    if (ids.length === 0) return;
    await execRetryingSignals({ exec }, ['rm', '--force', '--ignore', '--time', '0', ...ids], { clock: createSystemClock(), timeoutMs: 20_000 });
  };
  return {
    connection,
    exec,
    version() {
      versionPromise ??= (async () => {
        const result = await exec(['version', '--format', 'json']);
        const version = result.exitCode === 0 ? parsePodmanVersion(result.stdout) : undefined;
        if (!version) {
          const where = connection.connection ? ` (connection "${connection.connection}")` : connection.remote ? ' (remote)' : '';
          throw new PodmanUnavailableError(
            `podman version failed${where} (exit ${result.exitCode}): ${lastLines(result.stderr || result.stdout, 5)}. Check that podman works: run "${result.command}".`,
          );
        }
        return version;
      })();
      return versionPromise;
    },
    async imageExists(ref) {
      return (await exec(['image', 'exists', ref])).exitCode === 0;
    },
    async containerExists(name) {
      return (await exec(['container', 'exists', name])).exitCode === 0;
    },
    async listImages(filter, options) {
      const result = await exec(['image', 'ls', ...(options?.all ? ['--all'] : []), '--no-trunc', '--filter', filter, '--format', IMAGE_LIST_FORMAT], {
        signal: options?.signal,
      });
      return result.exitCode === 0 ? parseImageList(result.stdout) : undefined;
    },
    async imageId(ref) {
      const result = await exec(['image', 'inspect', '--format', '{{.Id}}', ref]);
      const id = result.exitCode === 0 ? result.stdout.trim().split('\n')[0] : '';
      return id ? fullImageId(id) : undefined;
    },
    async imageNames(id) {
      const result = await exec(['image', 'inspect', '--format', '{{json .RepoTags}}', id]);
      return result.exitCode === 0 ? parseImageNames(result.stdout) : undefined;
    },
    async containerImageIds() {
      const result = await exec(['ps', '--all', '--no-trunc', '--format', '{{.ImageID}}']);
      return result.exitCode === 0 ? parseImageIdLines(result.stdout) : undefined;
    },
    async manifestPlatforms(manifest) {
      const result = await exec(['manifest', 'inspect', manifest]);
      return result.exitCode === 0 ? parseManifestPlatforms(result.stdout) : undefined;
    },
    async build(args, options) {
      const dir = await mkdtemp(join(tmpdir(), 'nx-podman-build-'));
      try {
        const iidfile = join(dir, 'iid');
        // An abort kills the running RUN step first, so that podman (with --force-rm) removes its build container.
        // Which container that is, is noted from the step's processes before they are killed: when podman is
        // signalled before its clean-up is done (Nx signals the task's process tree leaf by leaf after Ctrl-C, and
        // podman is a leaf once its step is gone), the container is removed here.
        const stepLayers = new Map<string, Set<string>>();
        const beforeKill = (pids: readonly number[]) => {
          for (const pid of pids) {
            const upper = rootUpperDir(readMountInfo(pid) ?? '');
            const storage = upper === undefined ? undefined : storageOfUpperDir(upper);
            if (storage) stepLayers.set(storage.containersFile, (stepLayers.get(storage.containersFile) ?? new Set()).add(storage.layer));
          }
        };
        const result = await exec([...args.slice(0, 1), '--iidfile', iidfile, ...args.slice(1)], {
          stopTreeFirst: { graceMs: BUILD_ABORT_GRACE_MS, beforeKill },
          ...options,
        });
        if (result.aborted) await removeStepContainers(stepLayers);
        const imageId = result.exitCode === 0 && !result.aborted ? await readFile(iidfile, 'utf8').then(fullImageId, () => undefined) : undefined;
        return { result, imageId };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
