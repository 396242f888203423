import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { stagesFor, type ParsedContainerfile } from './containerfile';

/**
 * Which context files a build of a stage can read: the `COPY`/`ADD` sources (not `--from=`) of the target stage and of
 * the stages before it. `wholeContext` when a source is the context itself (`.`), or cannot be known without
 * evaluating the Containerfile (`$VAR`).
 */
export interface ContextSelection {
  wholeContext: boolean;
  /** Normalized source patterns, relative to the context, no leading `./` or `/`, no trailing `/`. */
  sources: string[];
}

/** Returns undefined for an unknown stage (the caller reports it). */
export function selectContextSources(parsed: ParsedContainerfile, stage: string): ContextSelection | undefined {
  const stages = stagesFor(parsed, stage);
  if (!stages) return undefined;
  const indexes = new Set(stages.map((s) => s.index));
  const sources = new Set<string>();
  let wholeContext = false;
  for (const copy of parsed.copies) {
    if (!indexes.has(copy.stageIndex)) continue;
    for (const source of copy.sources) {
      if (source.includes('$')) {
        wholeContext = true;
        continue;
      }
      const normalized = normalizeContextPath(source);
      if (normalized === '') wholeContext = true;
      else if (!normalized.startsWith('../')) sources.add(normalized);
    }
  }
  return { wholeContext, sources: [...sources].sort() };
}

/** `./a/b/`, `/a/b` and `a//b` all become `a/b`; the context itself becomes ''. */
export function normalizeContextPath(path: string): string {
  const cleaned = posix.normalize(path.replace(/\\/g, '/')).replace(/^\/+/, '').replace(/\/+$/, '');
  return cleaned === '.' ? '' : cleaned;
}

/** One glob path segment (`*`, `?`, `[a-z]`, `[!a]`) as a regular expression. */
function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i];
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '\\' && i + 1 < segment.length) source += escapeRegExp(segment[++i]);
    else if (char === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) source += '\\[';
      else {
        const body = segment
          .slice(i + 1, end)
          .replace(/^[!^]/, '^')
          .replace(/\\/g, '\\\\');
        source += `[${body}]`;
        i = end;
      }
    } else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A glob compiled to path segments; `**` matches any number of segments (Docker/Podman ignore-file semantics). */
type CompiledGlob = (RegExp | '**')[];

function compileGlob(pattern: string): CompiledGlob {
  return normalizeContextPath(pattern)
    .split('/')
    .map((segment) => (segment === '**' ? '**' : segmentRegExp(segment)));
}

function matchSegments(glob: CompiledGlob, segments: string[], gi = 0, si = 0): boolean {
  if (gi === glob.length) return si === segments.length;
  const part = glob[gi];
  if (part === '**') {
    for (let skip = si; skip <= segments.length; skip++) if (matchSegments(glob, segments, gi + 1, skip)) return true;
    return false;
  }
  return si < segments.length && part.test(segments[si]) && matchSegments(glob, segments, gi + 1, si + 1);
}

/** True when some leading part of `segments` (the path itself or a parent directory) matches `glob`. */
function matchesSelfOrParent(glob: CompiledGlob, segments: string[]): boolean {
  for (let length = segments.length; length >= 1; length--) if (matchSegments(glob, segments.slice(0, length))) return true;
  return false;
}

/** Could some path inside directory `segments` match `glob`? (Used to skip directories while walking.) */
function mayMatchInside(glob: CompiledGlob, segments: string[]): boolean {
  for (let i = 0; i < segments.length; i++) {
    const part = glob[i];
    if (part === undefined) return true; // the glob matched a parent: everything below is selected
    if (part === '**') return true;
    if (!part.test(segments[i])) return false;
  }
  return true;
}

/** Decides which context paths the COPY/ADD sources select (a matched directory selects everything below it). */
export interface SourceMatcher {
  /** Is this file (context-relative, `/`-separated) copied by some source? */
  selects(path: string): boolean;
  /** Can a file below this directory be selected? */
  mayContain(directory: string): boolean;
}

export function createSourceMatcher(selection: ContextSelection): SourceMatcher {
  if (selection.wholeContext) return { selects: () => true, mayContain: () => true };
  const globs = selection.sources.map(compileGlob);
  return {
    selects: (path) => {
      const segments = path.split('/');
      return globs.some((glob) => matchesSelfOrParent(glob, segments));
    },
    mayContain: (directory) => {
      const segments = directory.split('/');
      return globs.some((glob) => mayMatchInside(glob, segments));
    },
  };
}

/** `.containerignore` / `.dockerignore` rules. */
export interface IgnoreMatcher {
  /** Is this path (context-relative, `/`-separated) left out of the build context? */
  ignores(path: string): boolean;
  /** True when a directory can be skipped whole: it is ignored and no `!exception` could bring a file back. */
  ignoresWholeDirectory(path: string): boolean;
}

/**
 * Parses an ignore file with Podman's (Docker's) rules: one pattern per line, `#` comments, `!` exceptions, the
 * last matching pattern wins, `**` spans directories, and a pattern that matches a directory matches all below it.
 */
export function parseIgnoreFile(text: string): IgnoreMatcher {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exception = line.startsWith('!');
      const pattern = normalizeContextPath(exception ? line.slice(1).trim() : line);
      return { exception, glob: pattern === '' ? undefined : compileGlob(pattern) };
    })
    .filter((rule): rule is { exception: boolean; glob: CompiledGlob } => rule.glob !== undefined);
  const hasExceptions = rules.some((rule) => rule.exception);
  const ignores = (path: string) => {
    const segments = path.split('/');
    let ignored = false;
    for (const rule of rules) if (matchesSelfOrParent(rule.glob, segments)) ignored = !rule.exception;
    return ignored;
  };
  return { ignores, ignoresWholeDirectory: (path) => !hasExceptions && ignores(path) };
}

/** One context file as it enters the input hash. */
export interface HashedFile {
  /** Context-relative, `/`-separated. */
  path: string;
  /** sha256 of the content, or of `symlink:<target>` for a symbolic link. */
  digest: string;
  /** Executable bit: COPY keeps it, so it changes the image. */
  executable: boolean;
}

/** Everything that decides what `podman build` produces, apart from the base images. */
export interface InputHashInput {
  containerfile: string;
  stage: string;
  buildArgs: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  platforms: readonly string[];
  extraArgs: readonly string[];
  files: readonly HashedFile[];
}

/** Bump when what goes into the hash changes, so old labels stop matching. */
const INPUT_HASH_VERSION = 1;

/** The input hash: sha256 over a canonical form of {@link InputHashInput} (order of files and map keys does not matter). */
export function computeInputHash(input: InputHashInput): string {
  const sortedEntries = (map: Readonly<Record<string, string>>) => Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify([
    INPUT_HASH_VERSION,
    input.containerfile,
    input.stage,
    sortedEntries(input.buildArgs),
    sortedEntries(input.labels),
    [...input.platforms].sort(),
    input.extraArgs,
    [...input.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((file) => [file.path, file.digest, file.executable]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
