import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CommandNotFoundError } from '../core/errors';
import { publicSourceUrl } from '../core/build-args';
import type { GitReader, ProcessRunner } from '../core/ports';
import { createProcessRunner } from './process-runner';

/** Creates the real git reader (`git rev-parse` through the process runner). */
export function createGitReader(runner: ProcessRunner = createProcessRunner()): GitReader {
  return {
    async revision(cwd) {
      try {
        const [result, remote] = await Promise.all([
          runner.run('git', ['rev-parse', 'HEAD', '--short', 'HEAD'], { cwd, timeoutMs: 10_000 }),
          runner.run('git', ['config', '--get', 'remote.origin.url'], { cwd, timeoutMs: 10_000 }),
        ]);
        const [full, short] = result.stdout.trim().split('\n');
        if (result.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(full ?? '') || !short) return undefined;
        const source = remote.exitCode === 0 ? publicSourceUrl(remote.stdout.trim()) : undefined;
        return { full, short, ...(source && { source }) };
      } catch (error) {
        if (error instanceof CommandNotFoundError) return undefined;
        throw error;
      }
    },
  };
}

/** The stat of a file as a cache key part ('-' when missing). */
async function statKey(path: string): Promise<string> {
  try {
    const stats = await stat(path);
    return `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
  } catch {
    return '-';
  }
}

/** The `.git` directory of the repository containing `cwd` (a worktree's `.git` file is not followed: undefined). */
async function findGitDir(cwd: string): Promise<string | undefined> {
  for (let dir = cwd; ; dir = dirname(dir)) {
    const candidate = join(dir, '.git');
    const stats = await stat(candidate).catch(() => undefined);
    if (stats?.isDirectory()) return candidate;
    if (stats) return undefined;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * A {@link GitReader} for a long-running watcher: asks `inner` (a `git` process, 10-20 ms) only when HEAD, the branch
 * it points at or packed-refs changed since the last answer (a few stats), so a save's build does not wait for git.
 */
export function createCachingGitReader(inner: GitReader = createGitReader()): GitReader {
  const cache = new Map<string, { key: string; revision: Awaited<ReturnType<GitReader['revision']>> }>();
  return {
    async revision(cwd) {
      const gitDir = await findGitDir(cwd);
      if (!gitDir) return inner.revision(cwd);
      const head = await readFile(join(gitDir, 'HEAD'), 'utf8').catch(() => '');
      const ref = /^ref:\s*(\S+)/.exec(head)?.[1];
      const key = [head.trim(), ref ? await statKey(join(gitDir, ref)) : '', await statKey(join(gitDir, 'packed-refs'))].join('|');
      const known = cache.get(cwd);
      if (known?.key === key) return known.revision;
      const revision = await inner.revision(cwd);
      cache.set(cwd, { key, revision });
      return revision;
    },
  };
}
