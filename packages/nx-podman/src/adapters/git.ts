import { CommandNotFoundError } from '../core/errors';
import type { GitReader, ProcessRunner } from '../core/ports';
import { createProcessRunner } from './process-runner';

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
