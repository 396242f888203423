import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { isWithin } from './workspace-paths';
import type { LiveUpdateMount, LiveUpdateRecipe, RecipeInference } from './live-update-recipe';

/** Files whose change always needs the image build: they change what the image build does, not only what it compiles. */
const BUILD_DEFINITION_FILES = new Set(['go.mod', 'go.sum', 'go.work', 'go.work.sum', '.containerignore', '.dockerignore']);

/** What decides between a live update and the full build + replace. */
export interface LiveUpdateDecisionInput {
  /** Workspace-relative files the change set touched. */
  files: readonly string[];
  /** Set when the job must be a full one whatever the files (initial build, project added, an earlier full rebuild that did not finish). */
  fullReason: string | undefined;
  recipe: RecipeInference;
  /** Workspace-relative Containerfile and context of the build target. */
  containerfile: string;
  context: string;
}

/**
 * Why this change set needs the full build + replace, or undefined when a live update covers it: every file is a Go
 * source the builder mounts. Non-Go files the image copies, go.mod/go.sum, the Containerfile and its ignore file
 * change the image, not only the binary.
 */
export function liveUpdateFallbackReason(input: LiveUpdateDecisionInput): string | undefined {
  if (input.fullReason) return input.fullReason;
  if (!input.recipe.ok) return `no live update recipe: ${input.recipe.reason}`;
  if (input.files.length === 0) return 'no changed files known';
  const mounts = input.recipe.recipe.mounts;
  for (const file of [...input.files].sort()) {
    const base = posix.basename(file);
    if (file === input.containerfile || BUILD_DEFINITION_FILES.has(base) || base === `${posix.basename(input.containerfile)}.containerignore`)
      return `${file} changed`;
    if (!file.endsWith('.go')) return `${file} changed (not a Go source)`;
    const inContext = input.context === '.' ? file : posix.relative(input.context, file);
    if (inContext.startsWith('..') || !mounts.some((mount) => mount.source === '.' || isWithin(inContext, mount.source)))
      return `${file} is not in the builder's sources`;
  }
  return undefined;
}

/** The podman side of one project's live update: where things go. */
export interface LiveBuilderSpec {
  /** Container name of the dev builder. */
  name: string;
  /** Full id of the builder image (the recipe's `builderImage`, resolved once). */
  imageId: string;
  recipe: LiveUpdateRecipe;
  /** Every mount of the projects sharing the builder (the recipe's own included). */
  mounts: readonly LiveUpdateMount[];
  /** Absolute host path of the build context. */
  contextDir: string;
  /** Absolute host directory mounted at {@link BUILDER_OUT_DIR}, where compiles write their binaries. */
  outDir: string;
  /** Named volumes: Go's build cache and module cache. */
  volumes: { buildCache: string; moduleCache: string };
  /** GOCACHE and GOMODCACHE paths in the builder (from the stage and image ENV). */
  cachePaths: { buildCache: string; moduleCache: string };
  /** Context-relative directories holding a `.git` (hidden from the builder: the image context does not have it). */
  gitDirs: readonly string[];
  labels: Readonly<Record<string, string>>;
  /** `podman build` volumes (`SRC:DST[:opts]`, from its extraArgs): the build step sees them, so the builder does too. */
  extraVolumes?: readonly string[];
}

/** Where compiles write inside the builder. */
export const BUILDER_OUT_DIR = '/nx-podman/out';
/** Label on every dev builder container (value: the workspace it serves). */
export const BUILDER_LABEL = 'nx-podman.builder';
/** Keeps the builder running without needing more than `sh` and `sleep` from its image; exits at once on stop. */
const KEEP_ALIVE = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";

/** A short stable id for names: the first 12 hex digits of sha256 over the parts. */
export function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);
}

/**
 * What lets projects share one builder: the same image, context, env, user and caches. Their mounts are merged
 * ({@link mergeMounts}): a plugin's build does not read a sibling plugin's directory.
 */
export function builderKey(recipe: LiveUpdateRecipe, imageId: string, contextDir: string, extraVolumes: readonly string[] = []): string {
  const parts: unknown[] = [recipe.env, recipe.user ?? '', recipe.cacheTargets];
  if (extraVolumes.length) parts.push(extraVolumes);
  return shortHash(imageId, contextDir, JSON.stringify(parts));
}

/** The union of mounts, shortest target first; undefined when two put different sources at one target. */
export function mergeMounts(...lists: (readonly LiveUpdateMount[])[]): LiveUpdateMount[] | undefined {
  const byTarget = new Map<string, string>();
  for (const mount of lists.flat()) {
    const known = byTarget.get(mount.target);
    if (known !== undefined && known !== mount.source) return undefined;
    byTarget.set(mount.target, mount.source);
  }
  return [...byTarget].map(([target, source]) => ({ source, target })).sort((a, b) => a.target.length - b.target.length || a.target.localeCompare(b.target));
}

/** True when `mounts` has every mount of `needed`. */
export function coversMounts(mounts: readonly LiveUpdateMount[], needed: readonly LiveUpdateMount[]): boolean {
  return needed.every((want) => mounts.some((have) => have.target === want.target && have.source === want.source));
}

/** GOCACHE and GOMODCACHE as `go env` would say in the builder, from the image's and the stage's ENV. */
export function goCachePaths(env: Readonly<Record<string, string>>): { buildCache: string; moduleCache: string } {
  const home = env.HOME || '/root';
  const gopath = (env.GOPATH || `${home}/go`).split(':')[0];
  return { buildCache: env.GOCACHE || `${home}/.cache/go-build`, moduleCache: env.GOMODCACHE || `${gopath}/pkg/mod` };
}

/** `podman run -d` of the dev builder: the stage's image, env, user and workdir, sources read-only, caches on volumes. */
export function buildBuilderRunArgs(spec: LiveBuilderSpec): { args: string[]; env: Record<string, string> } {
  const { recipe } = spec;
  const args = ['run', '-d', '--name', spec.name, '--pull=never', '--stop-timeout', '1', '-w', recipe.workdir];
  for (const [key, value] of Object.entries(spec.labels)) args.push('--label', `${key}=${value}`);
  if (recipe.user) args.push('--user', recipe.user);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(recipe.env)) {
    args.push('--env', name);
    env[name] = value;
  }
  for (const mount of spec.mounts) {
    const source = mount.source === '.' ? spec.contextDir : posix.join(spec.contextDir, mount.source);
    args.push('-v', `${source}:${mount.target}:ro`);
  }
  for (const dir of spec.gitDirs) {
    const mount = [...spec.mounts].reverse().find((m) => m.source === '.' || isWithin(dir, m.source));
    if (mount)
      args.push('--mount', `type=tmpfs,destination=${posix.join(mount.target, mount.source === '.' ? dir : posix.relative(mount.source, dir), '.git')}`);
  }
  const buildCacheTargets = new Set([...recipe.cacheTargets, spec.cachePaths.buildCache]);
  buildCacheTargets.delete(spec.cachePaths.moduleCache);
  for (const target of [...buildCacheTargets].sort()) args.push('-v', `${spec.volumes.buildCache}:${target}`);
  args.push('-v', `${spec.volumes.moduleCache}:${spec.cachePaths.moduleCache}`);
  for (const volume of spec.extraVolumes ?? []) args.push('-v', volume);
  args.push('-v', `${spec.outDir}:${BUILDER_OUT_DIR}`);
  args.push('--entrypoint', '/bin/sh', spec.imageId, '-c', KEEP_ALIVE);
  return { args, env };
}

/** Puts the `go build -o` (or the artifact path, for a stated command) at `output` instead. */
export function redirectBuildOutput(command: string, artifact: string, output: string): string {
  const flag = /(\s-o(?:=|\s+))(['"]?)[^\s'"]+\2/;
  if (flag.test(command)) return command.replace(flag, (_whole, prefix: string) => `${prefix}${output}`);
  return command.split(artifact).join(output);
}

/** The environment of one compile: the stage's ARGs (podman passes build args to RUN that way) and `-v` added to GOFLAGS. */
function compileEnv(recipe: LiveUpdateRecipe, imageEnv: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = { ...recipe.args };
  // ENV (the stage's, then the image's) wins over an ARG of the same name, as in the build step.
  const goflags = recipe.env.GOFLAGS ?? imageEnv.GOFLAGS ?? recipe.args.GOFLAGS ?? '';
  // `-v` lists the packages Go compiled (not the cached ones) and changes nothing in the binary.
  env.GOFLAGS = `${goflags} -v`.trim();
  return env;
}

/**
 * `podman exec` of one compile: the build step's command, in its WORKDIR, with {@link compileEnv}, the output
 * redirected. Used when the compile cannot go through a compile server ({@link buildCompileInput}).
 */
export function buildCompileArgs(
  spec: Pick<LiveBuilderSpec, 'name' | 'recipe'>,
  output: string,
  imageEnv: Readonly<Record<string, string>>,
): { args: string[]; env: Record<string, string> } {
  const { recipe } = spec;
  const env = compileEnv(recipe, imageEnv);
  const args = ['exec', '-w', recipe.workdir];
  for (const name of Object.keys(env)) args.push('--env', name);
  args.push(spec.name, '/bin/sh', '-c', redirectBuildOutput(recipe.command, recipe.artifact, output));
  return { args, env };
}

/**
 * The program of a compile server (`podman exec -i <builder> /bin/sh -c <this>`): started once, it runs one compile
 * after another as they come on stdin ({@link buildCompileInput}) and ends each with the line `<token> <exit code>`
 * ({@link parseCompileDone}), so podman's start-up and exit (two podman processes, a conmon and a runc exec: about
 * 0.3 CPU-s) are paid once per server, not once per save. Nothing in it comes from the workspace: the WORKDIR, each
 * `NAME=value` and the command arrive as lines and are used as they are (`export "$assignment"` assigns without
 * expanding), and the command runs as the build step runs it, `sh -c`. Each compile runs in a subshell (its directory
 * and variables end with it), stdin closed, its errors on stdout (so that they come before its done line). A request
 * is read to its end before anything runs, so a failing one cannot leave the rest of it to be read as the next.
 */
export const COMPILE_SERVER_PROGRAM = [
  'exec 2>&1',
  'while IFS= read -r token; do',
  '  IFS= read -r dir || exit 125',
  '  set --',
  '  while IFS= read -r assignment && [ -n "$assignment" ]; do set -- "$@" "$assignment"; done',
  '  command=',
  '  complete=',
  '  while IFS= read -r line; do',
  '    if [ "$line" = "$token" ]; then complete=1; break; fi',
  '    command="$command$line',
  '"',
  '  done',
  '  [ -n "$complete" ] || exit 125',
  '  (',
  '    cd "$dir" || exit 125',
  '    for assignment in "$@"; do export "$assignment" || exit 125; done',
  '    exec /bin/sh -c "$command" </dev/null',
  '  )',
  '  echo "$token $?"',
  'done',
].join('\n');

/** `podman exec` of a compile server (see {@link COMPILE_SERVER_PROGRAM}). */
export function buildCompileServerArgs(builder: string): string[] {
  return ['exec', '-i', builder, '/bin/sh', '-c', COMPILE_SERVER_PROGRAM];
}

/** A variable name the server's `export` takes (an ARG's name always is). */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One request to a compile server: `token` (a line no command has: it also ends the request), the WORKDIR, one
 * `NAME=value` line per variable of {@link compileEnv}, an empty line, the command with its output redirected, `token`.
 * Undefined when a value holds a line break or a name is not a shell variable's (then {@link buildCompileArgs}).
 */
export function buildCompileInput(recipe: LiveUpdateRecipe, output: string, imageEnv: Readonly<Record<string, string>>, token: string): string | undefined {
  const env = Object.entries(compileEnv(recipe, imageEnv));
  if (env.some(([name]) => !VARIABLE_NAME.test(name))) return undefined;
  const lines = [recipe.workdir, ...env.map(([name, value]) => `${name}=${value}`)];
  if (lines.some((line) => line.includes('\n'))) return undefined;
  const command = redirectBuildOutput(recipe.command, recipe.artifact, output);
  if (command.split('\n').includes(token)) return undefined;
  return `${token}\n${lines.join('\n')}\n\n${command}\n${token}\n`;
}

/** The token of a compile server request: the first line of {@link buildCompileInput}'s text. */
export function compileRequestToken(input: string): string {
  return input.slice(0, input.indexOf('\n'));
}

/**
 * The end of one compile in a compile server's output: its exit code and everything the compile wrote before its done
 * line (`<token> <exit code>`, see {@link COMPILE_SERVER_PROGRAM}); undefined while that line has not come.
 */
export function parseCompileDone(output: string, token: string): { exitCode: number; output: string } | undefined {
  // Found in the output with a line break put before it: `at` is then where the done line starts in the output.
  const at = `\n${output}`.indexOf(`\n${token} `);
  if (at < 0) return undefined;
  const end = output.indexOf('\n', at);
  if (end < 0) return undefined;
  const exitCode = Number(output.slice(at + token.length + 1, end));
  return Number.isInteger(exitCode) ? { exitCode, output: output.slice(0, at) } : undefined;
}

/** The compiled packages `go build -v` listed, and the rest of its output (the compiler's messages). */
export function parseCompileOutput(output: string): { packages: string[]; messages: string } {
  const packages: string[] = [];
  const messages: string[] = [];
  for (const line of output.split('\n')) {
    if (/^[\w.~-]+(\/[\w.~-]+)*$/.test(line.trim()) && !line.startsWith('#')) packages.push(line.trim());
    else if (line.trim() !== '') messages.push(line);
  }
  return { packages, messages: messages.join('\n') };
}

/** `podman cp` of the binary from the host into the running container (works on scratch: no tar or shell inside). */
export function buildCopyIntoArgs(hostFile: string, container: string, destination: string): string[] {
  return ['cp', hostFile, `${container}:${destination}`];
}

/** Longest a live update waits for the old process to stop before podman kills it. */
export const LIVE_UPDATE_STOP_TIMEOUT_SECONDS = 2;
