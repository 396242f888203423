import { createHash } from 'node:crypto';
import { createReadStream, lstatSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ContextReadError } from '../core/errors';
import type { ContextHasher } from '../core/ports';
import {
  computeInputHash,
  createSourceMatcher,
  parseIgnoreFile,
  selectContextSources,
  type HashedFile,
  type IgnoreMatcher,
  type SourceMatcher,
} from '../core/input-hash';

/** Reads `.containerignore`, else `.dockerignore`, at the context root (what podman build uses). */
async function readIgnoreMatcher(context: string): Promise<IgnoreMatcher> {
  for (const name of ['.containerignore', '.dockerignore']) {
    try {
      return parseIgnoreFile(await readFile(join(context, name), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return parseIgnoreFile('');
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

const toPosix = (path: string) => (sep === '/' ? path : path.split(sep).join('/'));

/** Walks the context, keeping files the COPY/ADD sources select and the ignore file does not exclude. */
async function listContextFiles(
  context: string,
  sources: SourceMatcher,
  ignore: IgnoreMatcher,
  exclude: readonly string[],
): Promise<{ path: string; absolute: string }[]> {
  const found: { path: string; absolute: string }[] = [];
  const walk = async (directory: string): Promise<void> => {
    const entries = await readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      // A sub-directory removed while we walk is just gone; a missing context is an error.
      if (error.code === 'ENOENT' && directory !== context) return [];
      throw error;
    });
    for (const entry of entries) {
      const absolute = join(directory, entry.name);
      const path = toPosix(relative(context, absolute));
      if (entry.isDirectory()) {
        if (exclude.includes(absolute) || ignore.ignoresWholeDirectory(path) || !sources.mayContain(path)) continue;
        await walk(absolute);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && sources.selects(path) && !ignore.ignores(path)) {
        found.push({ path, absolute });
      }
    }
  };
  await walk(context);
  return found;
}

/** A file's digest and the stat it was read at (size, mtime, ctime, inode: any change means read again). */
type DigestCache = Map<string, { key: string; digest: string }>;

/**
 * Hashes files a few at a time: fast on many small Go files without opening thousands at once. With a cache (the
 * watcher's hasher), a file whose stat did not change since it was last read is not read again.
 */
async function hashFiles(files: { path: string; absolute: string }[], cache?: DigestCache): Promise<HashedFile[]> {
  const result: HashedFile[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const index = next++;
      const file = files[index];
      try {
        // Synchronous on purpose: a stat is a few microseconds, while a round trip through libuv's thread pool costs
        // tens under load, and a watcher's save re-stats every context file (300 extra files: 20 ms → 2 ms).
        const stats = lstatSync(file.absolute, { bigint: true });
        const key = `${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}:${stats.ino}:${stats.isSymbolicLink()}`;
        const cached = cache?.get(file.absolute);
        const digest =
          cached?.key === key
            ? cached.digest
            : stats.isSymbolicLink()
              ? createHash('sha256')
                  .update(`symlink:${await readlink(file.absolute)}`)
                  .digest('hex')
              : await hashFile(file.absolute);
        cache?.set(file.absolute, { key, digest });
        result[index] = { path: file.path, digest, executable: (stats.mode & 0o111n) !== 0n };
      } catch (error) {
        // Deleted between listing and hashing (an editor's save, a watch event in flight): it is simply not there.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, files.length) }, worker));
  return result.filter((file) => file !== undefined);
}

/**
 * Creates the real hasher (`cacheDigests`: keep each file's digest while its stat is unchanged, for a long-running
 * watcher whose next build re-reads only what changed): only the context files the target stage's COPY/ADD sources select (minus ignored ones),
 * plus the Containerfile, stage, build args, labels, platforms and extra args.
 */
export function createContextHasher(options: { cacheDigests?: boolean } = {}): ContextHasher {
  const cache: DigestCache | undefined = options.cacheDigests ? new Map() : undefined;
  return {
    async hash(request) {
      const selection = selectContextSources(request.parsed, request.stage);
      if (!selection) throw new Error(`stage "${request.stage}" is not in the Containerfile`);
      let hashed: HashedFile[];
      try {
        const ignore = await readIgnoreMatcher(request.context);
        hashed = await hashFiles(await listContextFiles(request.context, createSourceMatcher(selection), ignore, request.excludeDirectories ?? []), cache);
      } catch (error) {
        throw new ContextReadError(`Cannot read the build context "${request.context}": ${(error as Error).message}`, { cause: error });
      }
      const inputHash = computeInputHash({
        containerfile: request.containerfile,
        stage: request.stage,
        buildArgs: request.buildArgs,
        labels: request.labels,
        platforms: request.platforms,
        extraArgs: request.extraArgs,
        files: hashed,
      });
      return { inputHash, files: hashed.map((file) => file.path).sort(), wholeContext: selection.wholeContext };
    },
  };
}
