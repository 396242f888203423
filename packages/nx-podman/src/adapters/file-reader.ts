import { createHash } from 'node:crypto';
import { chmod, chown, copyFile, lstat, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
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
    isDirectory: (path) =>
      stat(path).then(
        (stats) => stats.isDirectory(),
        () => false,
      ),
    makeDirectory: async (path) => {
      await mkdir(path, { recursive: true });
    },
    pathKind: (path) =>
      stat(path).then(
        (stats) => (stats.isDirectory() ? 'dir' : 'file'),
        () => undefined,
      ),
    hashFile: (path) =>
      readFile(path).then(
        (bytes) => createHash('sha256').update(bytes).digest('hex'),
        () => undefined,
      ),
    removeDirectory: (path) => rm(path, { recursive: true, force: true }),
    replaceFileBelow,
  };
}

/** See {@link FileReader.replaceFileBelow}. */
async function replaceFileBelow(source: string, root: string, path: string): Promise<string | undefined> {
  if (path.split('/').includes('..')) return `"${path}" is not a file path`;
  const parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
  if (parts.length === 0) return `"${path}" is not a file path`;
  // Every step below the root is looked at without following links: a link in the container's file system points
  // into the container, and followed here it would point into the host.
  let at = root;
  for (const [index, part] of parts.entries()) {
    at = join(at, part);
    const shown = posix.join('/', ...parts.slice(0, index + 1));
    const last = index === parts.length - 1;
    const found = await lstat(at).catch(() => undefined);
    if (!found) return `${shown} does not exist`;
    if (found.isSymbolicLink()) return `${shown} is a symbolic link`;
    if (last ? !found.isFile() : !found.isDirectory()) return `${shown} is not a ${last ? 'file' : 'directory'}`;
  }
  const target = at;
  const temporary = `${target}.nx-podman-${process.pid}`;
  try {
    const [old, fresh] = await Promise.all([stat(target), stat(source)]);
    await copyFile(source, temporary);
    await chown(temporary, old.uid, old.gid);
    await chmod(temporary, fresh.mode & 0o7777);
    await rename(temporary, target);
    return undefined;
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    return (error as Error).message;
  }
}
