import { posix } from 'node:path';

/** A project of the workspace, as far as ownership of directories goes. */
export interface ProjectRoot {
  name: string;
  /** Workspace-relative root, posix separators; `.` (or empty) for a root project. */
  root: string;
}

/** Normalizes a workspace-relative path: posix separators, no `./`, no trailing slash; the workspace root is `.`. */
export function normalizeWorkspacePath(path: string): string {
  const normalized = posix.normalize(path.replace(/\\/g, '/')).replace(/\/+$/, '');
  return normalized === '' ? '.' : normalized;
}

/** True when `path` is `dir` or inside it (both workspace-relative). */
export function isWithin(path: string, dir: string): boolean {
  const p = normalizeWorkspacePath(path);
  const d = normalizeWorkspacePath(dir);
  if (d === '.') return !p.startsWith('../') && p !== '..' && !p.startsWith('/');
  return p === d || p.startsWith(`${d}/`);
}

/** The project whose root contains `dir`, the deepest one when roots are nested (as Nx assigns files). */
export function findProjectForDir(dir: string, projects: readonly ProjectRoot[]): string | undefined {
  let best: { name: string; depth: number } | undefined;
  for (const project of projects) {
    const root = normalizeWorkspacePath(project.root);
    if (!isWithin(dir, root)) continue;
    const depth = root === '.' ? 0 : root.split('/').length;
    if (!best || depth > best.depth) best = { name: project.name, depth };
  }
  return best?.name;
}

/** Nearest common ancestor directory of workspace-relative directories (`.` when they only share the workspace root). */
export function commonAncestorDir(dirs: readonly string[]): string {
  if (dirs.length === 0) return '.';
  const split = dirs.map((dir) => {
    const normalized = normalizeWorkspacePath(dir);
    return normalized === '.' ? [] : normalized.split('/');
  });
  const common: string[] = [];
  for (let i = 0; split.every((parts) => i < parts.length && parts[i] === split[0][i]); i++) common.push(split[0][i]);
  return common.length ? common.join('/') : '.';
}
