import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import type { FileReader } from '../core/ports';

/** The real {@link FileReader} over node:fs. */
export function createFileReader(): FileReader {
  return {
    async readText(path) {
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
        throw error;
      }
    },
    isDirectory: (path) => stat(path).then((stats) => stats.isDirectory(), () => false),
    makeDirectory: async (path) => {
      await mkdir(path, { recursive: true });
    },
    pathKind: (path) => stat(path).then((stats) => (stats.isDirectory() ? 'dir' : 'file'), () => undefined),
    hashFile: (path) => readFile(path).then((bytes) => createHash('sha256').update(bytes).digest('hex'), () => undefined),
    removeDirectory: (path) => rm(path, { recursive: true, force: true }),
  };
}
