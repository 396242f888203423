import { buildGlobalArgs, parsePodmanVersion, type PodmanConnection, type PodmanVersion } from '../core/podman-version';
import { CommandNotFoundError, createProcessRunner, lastLines, type ProcessResult, type ProcessRunner, type RunProcessOptions } from './process-runner';

/** Thrown when podman cannot be started or does not answer `podman version`. */
export class PodmanUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodmanUnavailableError';
  }
}

/**
 * The podman port. Runners build argument arrays with pure functions (core/) and hand them to `exec`;
 * the fake in `testing/fake-engine.ts` records those arrays.
 */
export interface PodmanEngine {
  readonly connection: PodmanConnection;
  /** Runs `podman [--remote --connection X] <args>`. A non-zero exit is returned, not thrown. */
  exec(args: readonly string[], options?: RunProcessOptions): Promise<ProcessResult>;
  /** `podman version`, asked once per engine and cached. Throws {@link PodmanUnavailableError}. */
  version(): Promise<PodmanVersion>;
  /** `podman image exists REF` (never pulls). */
  imageExists(ref: string): Promise<boolean>;
  /** `podman container exists NAME`. */
  containerExists(name: string): Promise<boolean>;
}

/** Creates the real podman engine. */
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
        );
      }
      throw error;
    }
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
  };
}
