import { CommandNotFoundError, createProcessRunner, type ProcessRunner } from './process-runner';

/** The commit a workspace is at. */
export interface GitRevision {
  /** Full commit sha. */
  full: string;
  /** `git rev-parse --short HEAD` (abbreviated as git chooses, at least 7 characters). */
  short: string;
}

/** The git port: podman-build asks it for `{shortCommitSha}` and the `org.opencontainers.image.revision` label. */
export interface GitReader {
  /** The HEAD commit of the repository containing `cwd`, or undefined (no git, not a repository, no commit yet). */
  revision(cwd: string): Promise<GitRevision | undefined>;
}

/** Creates the real git reader (`git rev-parse` through the process runner). */
export function createGitReader(runner: ProcessRunner = createProcessRunner()): GitReader {
  return {
    async revision(cwd) {
      try {
        const result = await runner.run('git', ['rev-parse', 'HEAD', '--short', 'HEAD'], { cwd, timeoutMs: 10_000 });
        const [full, short] = result.stdout.trim().split('\n');
        if (result.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(full ?? '') || !short) return undefined;
        return { full, short };
      } catch (error) {
        if (error instanceof CommandNotFoundError) return undefined;
        throw error;
      }
    },
  };
}
