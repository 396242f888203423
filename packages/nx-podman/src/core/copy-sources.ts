import { posix } from 'node:path';
import { isWithin, normalizeWorkspacePath } from './workspace-paths';

/** Where one COPY/ADD source of a Containerfile lands in the workspace. */
export interface MappedCopySource {
  /** Workspace-relative path or glob the source names (`.` for the workspace root). */
  path: string;
  /** The same, relative to the project root; undefined when the source lies outside the project. */
  inProject: string | undefined;
  /** The source is the whole project root or a directory above it (it copies every project file). */
  coversProject: boolean;
  /** Written as a directory (`dir/`, `.`): only the "everything below" form applies. */
  isDirectory: boolean;
}

/**
 * Maps a COPY/ADD source, as written (relative to the build context, `./` prefixes, globs), to the workspace.
 * Undefined for what cannot be known without building: a `$VARIABLE`, or a path that leaves the context (podman
 * refuses those). `context` and `projectRoot` are workspace-relative.
 */
export function mapCopySource(source: string, where: { context: string; projectRoot: string }): MappedCopySource | undefined {
  if (source.includes('$')) return undefined;
  const context = normalizeWorkspacePath(where.context);
  const root = normalizeWorkspacePath(where.projectRoot);
  const written = source.replace(/\\/g, '/');
  // A leading `/` is the context root to podman, not the file system root.
  const path = normalizeWorkspacePath(posix.join(context, written.replace(/^\/+/, '')));
  if (!isWithin(path, context)) return undefined;
  const coversProject = isWithin(root, path);
  const inProject = isWithin(path, root) ? (root === '.' ? path : posix.relative(root, path) || '.') : undefined;
  const isDirectory = written.endsWith('/') || written === '.' || written === './' || coversProject;
  return { path, inProject, coversProject, isDirectory };
}
