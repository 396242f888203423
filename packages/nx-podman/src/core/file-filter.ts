import picomatch from 'picomatch';
import { posix } from 'node:path';
import { mapCopySource } from './copy-sources';

/** Directories never watched, at any depth: VCS data, dependencies, build output, Go vendoring, the Nx cache. */
export const ALWAYS_EXCLUDED_DIRS: readonly string[] = Object.freeze(['.git', 'node_modules', 'dist', 'vendor', '.nx']);

/** Temp files editors and tools write next to the real one (vim, vim's write test, emacs locks, JetBrains, gofmt). */
export const EDITOR_TEMP_FILES: readonly string[] = Object.freeze([
  '*.swp',
  '*.swo',
  '*.swx',
  '*~',
  '4913',
  '.#*',
  '*___jb_tmp___',
  '*___jb_old___',
  '*-go-tmp-umask',
]);

/** Project-relative globs watched when neither `include` nor the build target's `inputs` say otherwise. */
export const DEFAULT_INCLUDE: readonly string[] = Object.freeze([
  '**/*.go',
  '**/go.mod',
  '**/go.sum',
  '**/Containerfile',
  '**/Dockerfile',
  '**/*.Containerfile',
  '**/*.Dockerfile',
  '**/.containerignore',
  '**/.dockerignore',
]);

/** Project-relative globs excluded by default: Go tests do not go into an image. */
export const DEFAULT_EXCLUDE: readonly string[] = Object.freeze(['**/*_test.go', '**/testdata/**']);

const editorTemp = picomatch([...EDITOR_TEMP_FILES], { dot: true });

/** True for a path (any form, `/` separated) inside an always-excluded directory or named like an editor temp file. */
export function isAlwaysExcluded(path: string): boolean {
  const segments = path.replace(/\\/g, '/').split('/').filter(Boolean);
  if (segments.some((segment) => ALWAYS_EXCLUDED_DIRS.includes(segment))) return true;
  const base = segments[segments.length - 1] ?? '';
  return editorTemp(base);
}

/** One rule of a `.containerignore`/`.dockerignore` file. */
export interface IgnoreRule {
  pattern: string;
  /** `!pattern`: re-include what an earlier rule excluded. */
  negated: boolean;
}

/** Parses a `.containerignore`/`.dockerignore`: one pattern a line, `#` comments, `!` re-includes, paths relative to the context. */
export function parseIgnoreFile(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = posix
      .normalize((negated ? line.slice(1) : line).trim())
      .replace(/^\/+/, '')
      .replace(/\/+$/, '');
    if (pattern && pattern !== '.') rules.push({ pattern, negated });
  }
  return rules;
}

/** Whether ignore rules exclude a context-relative path: a rule matching a parent directory covers its contents; the last matching rule wins. */
export function isIgnoredBy(rules: readonly IgnoreRule[], contextRelativePath: string): boolean {
  const segments = contextRelativePath.split('/').filter(Boolean);
  const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    const matches = picomatch(rule.pattern, { dot: true });
    if (candidates.some((candidate) => matches(candidate))) ignored = !rule.negated;
  }
  return ignored;
}

/** What decides whether a changed file of one project is a build input. */
export interface FileFilterSpec {
  /** Workspace-relative project root (`.` for a root project). */
  projectRoot: string;
  /** Project-relative globs a file must match. */
  include: readonly string[];
  /** Project-relative globs that rule a file out. */
  exclude: readonly string[];
  /** Rules of the build context's `.containerignore`, with the workspace-relative context they are relative to. */
  ignore?: { context: string; rules: readonly IgnoreRule[] };
}

/** Builds a predicate over workspace-relative paths (`/` separated) of files owned by the spec's project. */
export function createFileFilter(spec: FileFilterSpec): (workspaceRelativePath: string) => boolean {
  const root = spec.projectRoot === '.' ? '' : spec.projectRoot.replace(/\/+$/, '');
  const included = picomatch([...spec.include], { dot: true });
  const excluded = spec.exclude.length ? picomatch([...spec.exclude], { dot: true }) : () => false;
  const context = spec.ignore ? (spec.ignore.context === '.' ? '' : spec.ignore.context.replace(/\/+$/, '')) : '';
  return (path) => {
    if (isAlwaysExcluded(path)) return false;
    const relative = root === '' ? path : path.startsWith(`${root}/`) ? path.slice(root.length + 1) : undefined;
    if (relative === undefined || !included(relative) || excluded(relative)) return false;
    if (spec.ignore && spec.ignore.rules.length) {
      const inContext = context === '' ? path : path.startsWith(`${context}/`) ? path.slice(context.length + 1) : undefined;
      if (inContext !== undefined && isIgnoredBy(spec.ignore.rules, inContext)) return false;
    }
    return true;
  };
}

type InputEntry = string | Readonly<Record<string, unknown>>;

/**
 * Turns a target's Nx `inputs` into project-relative include/exclude globs: `{projectRoot}/...` file sets (also inside
 * named inputs such as `default`/`production`, and `{fileset: ...}` objects), `!` negations as excludes. `^` inputs
 * (dependencies: the graph covers those), runtime/env/external inputs and file sets outside the project are skipped.
 * Undefined when nothing yields a file set, so the caller falls back to {@link DEFAULT_INCLUDE}.
 */
export function globsFromTargetInputs(
  inputs: readonly InputEntry[] | undefined,
  context: { projectRoot: string; namedInputs: Readonly<Record<string, readonly InputEntry[]>> },
): { include: string[]; exclude: string[] } | undefined {
  if (!inputs) return undefined;
  const include: string[] = [];
  const exclude: string[] = [];
  const root = context.projectRoot === '.' ? '' : context.projectRoot.replace(/\/+$/, '');
  const seen = new Set<string>();
  const toProjectGlob = (fileset: string): string | undefined => {
    if (fileset.startsWith('{projectRoot}/')) return fileset.slice('{projectRoot}/'.length);
    if (fileset === '{projectRoot}') return '**/*';
    if (fileset.startsWith('{workspaceRoot}/')) {
      const path = fileset.slice('{workspaceRoot}/'.length);
      if (root === '') return path;
      if (path.startsWith(`${root}/`)) return path.slice(root.length + 1);
    }
    return undefined;
  };
  const visit = (entries: readonly InputEntry[]) => {
    for (const entry of entries) {
      const fileset = typeof entry === 'string' ? entry : typeof entry.fileset === 'string' ? entry.fileset : undefined;
      if (fileset === undefined) continue;
      if (fileset.startsWith('^')) continue;
      const negated = fileset.startsWith('!');
      const body = negated ? fileset.slice(1) : fileset;
      if (body.startsWith('{')) {
        const glob = toProjectGlob(body);
        if (glob) (negated ? exclude : include).push(glob);
      } else if (!negated && context.namedInputs[body] && !seen.has(body)) {
        seen.add(body);
        visit(context.namedInputs[body]);
      }
    }
  };
  visit(inputs);
  return include.length ? { include, exclude } : undefined;
}

/**
 * Project-relative globs for what a Containerfile copies from inside the project (config files, templates), so that
 * changing them rebuilds (see {@link mapCopySource} for the forms). A source that is the project root or above it
 * copies every project file: `**` (the ignore file and the excludes still apply). Sources outside the project add
 * nothing here: their own project is watched and reached through the graph.
 */
export function globsFromCopySources(sources: readonly string[], context: { buildContext: string; projectRoot: string }): string[] {
  const globs: string[] = [];
  for (const source of sources) {
    const mapped = mapCopySource(source, { context: context.buildContext, projectRoot: context.projectRoot });
    if (!mapped || mapped.inProject === undefined) continue;
    if (mapped.coversProject) {
      globs.push('**');
      continue;
    }
    if (!mapped.isDirectory) globs.push(mapped.inProject);
    globs.push(`${mapped.inProject}/**`);
  }
  return [...new Set(globs)];
}
