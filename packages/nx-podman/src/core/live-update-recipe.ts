// Why this file is long: the recipe is one walk over the Containerfile's stages (copies, ARG/ENV scopes, the build step), and its failure reasons are the user's guide; split, the walk's state would have to travel between files.
import { posix } from 'node:path';
import { parseCopyArgs, parseInstructions, splitFlags, type ContainerfileInstruction } from './containerfile';
import { normalizeWorkspacePath } from './workspace-paths';

/**
 * The live update recipe: how to make a project's binary without an image build, read from its Containerfile. The
 * final stage's `COPY --from=<builder> <artifact> <destination>` names the builder stage and the artifact; that
 * stage's `RUN ... go build ... -o <artifact>` is the command. The dev builder container runs `builderImage` with
 * `env`, `user` and `workdir` of the stage, the context directories the stage copies mounted at the paths it copies
 * them to, and runs `command` there, so that the binary is the one the image build makes.
 */
export interface LiveUpdateRecipe {
  /** Name (or 0-based index) of the stage that compiles the binary. */
  builderStage: string;
  /** The image the builder stage starts FROM (ARGs substituted). */
  builderImage: string;
  /** ENV of the builder stage (and the stages it derives from), in order. */
  env: Record<string, string>;
  /** ARG values in scope at the build step: podman passes them to RUN as environment too. */
  args: Record<string, string>;
  /** USER of the builder stage, if it sets one. */
  user: string | undefined;
  /** WORKDIR at the build step (absolute). */
  workdir: string;
  /** Context directories and where the stage puts them (absolute, shortest first). */
  mounts: LiveUpdateMount[];
  /** The build step's shell command, `--mount` flags dropped. */
  command: string;
  /** Targets of the build step's `--mount=type=cache` mounts (a named volume goes there). */
  cacheTargets: string[];
  /** Absolute path the command writes the binary to. */
  artifact: string;
  /** Absolute path the final stage copies the binary to. */
  destination: string;
}

/** A context directory (context-relative, `.` for all of it) mounted at `target` in the builder. */
export interface LiveUpdateMount {
  source: string;
  target: string;
}

/** What the user may state where inference cannot tell (podman-build's `liveUpdate` option). */
export interface LiveUpdateHints {
  /** The stage that compiles the binary. */
  builderStage?: string;
  /** The binary's path in the builder stage (the source of the final stage's `COPY --from`). */
  artifact?: string;
  /** Where the final stage puts it. */
  destination?: string;
  /** The shell command that writes `artifact` (instead of the stage's own `go build` step). */
  command?: string;
}

/** What inference needs besides the Containerfile text. */
export interface RecipeInput {
  /** The stage being built (`production`, `debug`). */
  stage: string;
  /** podman-build's `buildArgs` (they override ARG defaults). */
  buildArgs?: Readonly<Record<string, string>>;
  hints?: LiveUpdateHints;
  /** `dir` for a directory, `file` for a file, undefined when missing; context-relative path in. */
  kindOf(path: string): 'dir' | 'file' | undefined;
  /** The builder image's own WORKDIR and ENV (from `podman image inspect`), when known. */
  image?: { workdir?: string; env?: Record<string, string> };
}

/** A recipe, or why there is none (said in the `full rebuild` log line). */
export type RecipeInference = { ok: true; recipe: LiveUpdateRecipe } | { ok: false; reason: string };

interface Stage {
  index: number;
  name: string | undefined;
  from: string;
  instructions: ContainerfileInstruction[];
}

const GLOB = /[*?[]/;
/** RUN steps before the build step that leave nothing the build needs (the module download repeats lazily). */
const HARMLESS_RUN = /^(go\s+mod\s+(download|verify|tidy)|go\s+env|go\s+version|echo|true)\b/;
/** Another binary's build step (its output is not the artifact). */
const OTHER_BUILD = /^(\S*\/)?go\s+build\b/;

/** `$NAME` / `${NAME}` replaced from `vars`; unknown names are left as written. */
function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => vars[braced ?? bare ?? ''] ?? whole);
}

function unquote(value: string): string {
  return /^(["']).*\1$/s.test(value) ? value.slice(1, -1) : value;
}

/** The words of a shell command, quotes removed: `-ldflags="-s -w" -o /out/x` → `-ldflags=-s -w`, `-o`, `/out/x`. */
export function shellWords(text: string): string[] {
  return [...text.matchAll(/(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"']+)+/g)].map((match) =>
    match[0].replace(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g, (_all, double: string | undefined, single: string | undefined) => double ?? single ?? ''),
  );
}

/** `ENV A=1 B="x y"` or the legacy `ENV A 1`. */
function parseEnv(rest: string): [string, string][] {
  if (!/^\w+=/.test(rest)) {
    const match = rest.match(/^(\w+)\s+(.*)$/s);
    return match ? [[match[1], unquote(match[2].trim())]] : [];
  }
  return [...rest.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)].map((match) => [match[1], unquote(match[2])]);
}

/** Splits a RUN into its `--flags` and the command (JSON exec form turned into a quoted shell line). */
function parseRun(rest: string): { flags: string[]; command: string } {
  const { flags, remaining } = splitFlags(rest);
  if (remaining.startsWith('[')) {
    try {
      const parsed = JSON.parse(remaining) as unknown;
      if (Array.isArray(parsed)) return { flags, command: parsed.map((part) => `'${String(part).replace(/'/g, `'\\''`)}'`).join(' ') };
    } catch {
      // shell form after all
    }
  }
  return { flags, command: remaining.trim() };
}

/** The `-o` of the `go build` in a shell command, if it has one (`-o x`, `-o=x`). */
export function goBuildOutput(command: string): string | undefined {
  for (const segment of command.split(/&&|\|\||;|\|/)) {
    const words = shellWords(segment);
    const go = words.findIndex((word, index) => /(^|\/)go$/.test(word) && words[index + 1] === 'build');
    if (go < 0) continue;
    for (let index = go + 2; index < words.length; index++) {
      if (words[index] === '-o') return words[index + 1];
      if (words[index].startsWith('-o=')) return words[index].slice(3);
    }
  }
  return undefined;
}

/** The package argument of the `go build` in a shell command (`.`, `./cmd/server`); undefined when not one relative path. */
export function goBuildPackage(command: string): string | undefined {
  for (const segment of command.split(/&&|\|\||;|\|/)) {
    const words = shellWords(segment);
    const go = words.findIndex((word, index) => /(^|\/)go$/.test(word) && words[index + 1] === 'build');
    if (go < 0) continue;
    const args: string[] = [];
    for (let index = go + 2; index < words.length; index++) {
      const word = words[index];
      // Flags with a separate value.
      if (/^-(o|ldflags|gcflags|asmflags|tags|mod|p|pkgdir|installsuffix|overlay|modfile|pgo|toolexec|buildmode|compiler|coverpkg)$/.test(word)) index++;
      else if (!word.startsWith('-')) args.push(word);
    }
    if (args.length === 0) return '.';
    return args.length === 1 && (args[0] === '.' || args[0].startsWith('./')) ? args[0] : undefined;
  }
  return undefined;
}

function stagesOf(instructions: ContainerfileInstruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const parts = instruction.rest.split(/\s+/).filter((part) => !part.startsWith('--'));
      const as = parts.findIndex((part) => part.toUpperCase() === 'AS');
      stages.push({ index: stages.length, name: as >= 0 ? parts[as + 1]?.toLowerCase() : undefined, from: parts[0] ?? '', instructions: [] });
    } else if (instruction.stageIndex >= 0) {
      stages[instruction.stageIndex]?.instructions.push(instruction);
    }
  }
  return stages;
}

function findStage(stages: Stage[], ref: string): Stage | undefined {
  const lower = ref.toLowerCase();
  return stages.find((stage) => stage.name === lower) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
}

function resolvePath(path: string, workdir: string): string {
  const resolved = posix.normalize(path.startsWith('/') ? path : posix.join(workdir, path));
  return resolved.length > 1 ? resolved.replace(/\/+$/, '') : resolved;
}

/** A COPY source as a context-relative path, normalized: `./core/` and `/core` → `core`, the context itself `.`. */
export function contextPath(source: string): string {
  return normalizeWorkspacePath(source.replace(/^\/+/, ''));
}

interface Walk {
  /** Image ENV and stage ENV, for substitution. */
  env: Record<string, string>;
  /** What the stages set (the builder container gets it with -e; the image's own ENV comes with the image). */
  stageEnv: Record<string, string>;
  args: Record<string, string>;
  user: string | undefined;
  workdir: string;
  copies: { source: string; target: string; kind: 'dir' | 'file' }[];
}

/**
 * Infers the live update recipe of `input.stage`. Pure: the caller tells which context paths are directories and,
 * once it has inspected the builder image, the image's WORKDIR and ENV.
 */
export function inferLiveUpdateRecipe(containerfile: string, input: RecipeInput): RecipeInference {
  const fail = (reason: string): RecipeInference => ({ ok: false, reason });
  const instructions = parseInstructions(containerfile);
  const stages = stagesOf(instructions);
  const target = findStage(stages, input.stage);
  if (!target) return fail(`the Containerfile has no "${input.stage}" stage`);
  const buildArgs = input.buildArgs ?? {};
  const globalArgs: Record<string, string> = {};
  for (const instruction of instructions.filter((i) => i.stageIndex < 0 && i.keyword === 'ARG')) {
    const [name, value] = instruction.rest.split('=', 2);
    const resolved = buildArgs[name.trim()] ?? (value !== undefined ? unquote(value.trim()) : undefined);
    if (resolved !== undefined) globalArgs[name.trim()] = resolved;
  }
  const hints = input.hints ?? {};

  // The final stage's copies of a build stage's file.
  let copies = target.instructions
    .filter((instruction) => instruction.keyword === 'COPY')
    .map((instruction) => ({ instruction, ...parseCopyArgs(instruction.rest) }))
    .map(({ instruction, flags, paths }) => ({ instruction, from: flags.find((flag) => flag.startsWith('--from='))?.slice(7), paths }))
    .filter(
      (copy): copy is { instruction: ContainerfileInstruction; from: string; paths: string[] } =>
        copy.from !== undefined && findStage(stages, copy.from) !== undefined,
    )
    .filter((copy) => !hints.builderStage || findStage(stages, copy.from) === findStage(stages, hints.builderStage));
  if (copies.length > 1 && !hints.artifact) {
    // A stage that takes nothing from the build context (a tool installed at a fixed version, like dlv) makes the same
    // file whatever changed: only copies of stages built from the context can go stale.
    const fromContext = copies.filter((copy) => usesContext(stages, findStage(stages, copy.from)!, globalArgs));
    const listed = copies.map((copy) => copy.paths[0]).join(', ');
    if (fromContext.length !== 1)
      return fail(
        `the "${input.stage}" stage copies several files from build stages (${listed}), and a live update would leave all but one stale; name the binary with the liveUpdate.artifact option of the build target`,
      );
    copies = fromContext;
  }
  if (copies.length === 0) {
    return fail(
      `the "${input.stage}" stage copies nothing from a build stage (no COPY --from=<stage>)${hints.builderStage ? ` named "${hints.builderStage}"` : ''}`,
    );
  }
  const candidates: LiveUpdateRecipe[] = [];
  const reasons: string[] = [];
  for (const copy of copies) {
    if (copy.paths.length !== 2) {
      reasons.push(`line ${copy.instruction.line} copies several paths`);
      continue;
    }
    const artifact = resolvePath(substitute(copy.paths[0], globalArgs), '/');
    if (hints.artifact && resolvePath(hints.artifact, '/') !== artifact) continue;
    const destinationWorkdir = workdirBefore(target, copy.instruction, globalArgs);
    let destination = resolvePath(substitute(copy.paths[1], globalArgs), destinationWorkdir);
    if (copy.paths[1].endsWith('/')) destination = posix.join(destination, posix.basename(artifact));
    if (hints.destination) destination = resolvePath(hints.destination, '/');
    const result = builderRecipe(stages, findStage(stages, copy.from)!, artifact, destination, { ...input, buildArgs }, globalArgs);
    if (result.ok) candidates.push(result.recipe);
    else reasons.push(result.reason);
  }
  if (candidates.length === 1) return { ok: true, recipe: candidates[0] };
  if (candidates.length > 1) {
    return fail(
      `the "${input.stage}" stage copies several Go binaries (${candidates.map((c) => c.artifact).join(', ')}); name one with the liveUpdate.artifact option of the build target`,
    );
  }
  return fail(reasons[0] ?? `no COPY --from in the "${input.stage}" stage copies ${hints.artifact}`);
}

/** Whether a stage, or a stage it derives from, copies from the build context. */
function usesContext(stages: Stage[], stage: Stage, vars: Record<string, string>): boolean {
  const found = chainOf(stages, stage, vars);
  if (typeof found === 'string') return true;
  return found.chain.some((link) =>
    link.instructions.some(
      (instruction) =>
        (instruction.keyword === 'COPY' || instruction.keyword === 'ADD') && !splitFlags(instruction.rest).flags.some((flag) => flag.startsWith('--from=')),
    ),
  );
}

function workdirBefore(stage: Stage, until: ContainerfileInstruction, vars: Record<string, string>): string {
  let workdir = '/';
  for (const instruction of stage.instructions) {
    if (instruction === until) break;
    if (instruction.keyword === 'WORKDIR') workdir = resolvePath(substitute(unquote(instruction.rest), vars), workdir);
  }
  return workdir;
}

/** The chain of stages the builder derives from, base first, and the image at its root. */
function chainOf(stages: Stage[], builder: Stage, vars: Record<string, string>): { chain: Stage[]; image: string } | string {
  const chain: Stage[] = [builder];
  for (let stage = builder; ;) {
    const base = findStage(stages.slice(0, stage.index), substitute(stage.from, vars));
    if (!base) return { chain, image: substitute(stage.from, vars) };
    if (chain.includes(base)) return `stage "${base.name}" derives from itself`;
    chain.unshift(base);
    stage = base;
  }
}

function builderRecipe(
  stages: Stage[],
  builder: Stage,
  artifact: string,
  destination: string,
  input: RecipeInput & { buildArgs: Readonly<Record<string, string>> },
  globalArgs: Record<string, string>,
): RecipeInference {
  const stageLabel = builder.name ?? String(builder.index);
  const fail = (reason: string): RecipeInference => ({ ok: false, reason: `builder stage "${stageLabel}": ${reason}` });
  const found = chainOf(stages, builder, globalArgs);
  if (typeof found === 'string') return fail(found);
  if (found.image === 'scratch') return fail('it starts FROM scratch (no Go toolchain)');
  const walk: Walk = { env: { ...(input.image?.env ?? {}) }, stageEnv: {}, args: {}, user: undefined, workdir: input.image?.workdir || '/', copies: [] };
  const vars = () => ({ ...globalArgs, ...walk.env, ...walk.args });
  for (const stage of found.chain) {
    for (const instruction of stage.instructions) {
      const rest = substitute(instruction.rest, vars());
      switch (instruction.keyword) {
        case 'ENV':
          for (const [name, value] of parseEnv(instruction.rest)) {
            walk.env[name] = substitute(value, vars());
            walk.stageEnv[name] = walk.env[name];
          }
          break;
        case 'ARG':
          for (const part of instruction.rest.split(/\s+/).filter(Boolean)) {
            const [name, value] = part.split('=', 2);
            const resolved = input.buildArgs[name] ?? (value !== undefined ? unquote(value) : globalArgs[name]);
            if (resolved !== undefined) walk.args[name] = resolved;
          }
          break;
        case 'WORKDIR':
          walk.workdir = resolvePath(unquote(rest), walk.workdir);
          break;
        case 'USER':
          walk.user = rest;
          break;
        case 'COPY':
        case 'ADD': {
          const { flags, paths } = parseCopyArgs(rest);
          if (flags.some((flag) => flag.startsWith('--from=')))
            return fail(`line ${instruction.line} copies from another stage or image, which live update cannot mount`);
          const sources = paths.slice(0, -1);
          const destText = paths[paths.length - 1] ?? '.';
          const dest = resolvePath(destText, walk.workdir);
          for (const source of sources) {
            if (/^[a-z]+:\/\//i.test(source)) return fail(`line ${instruction.line} adds a URL`);
            const path = contextPath(source);
            if (GLOB.test(path)) {
              // `COPY core/go.mod core/go.sum* core/` before the module download: fine when a directory mounted
              // later puts the same files at the same place (checked in finish).
              if (GLOB.test(posix.dirname(path))) return fail(`line ${instruction.line} copies a glob (${source}), which live update cannot mount`);
              walk.copies.push({ source: path, target: posix.join(dest, posix.basename(path)), kind: 'file' });
              continue;
            }
            const kind = input.kindOf(path);
            if (!kind) return fail(`line ${instruction.line} copies ${source}, which is not in the build context`);
            if (kind === 'file' && instruction.keyword === 'ADD' && /\.(tar|tgz|gz|bz2|xz)$/.test(path))
              return fail(`line ${instruction.line} adds an archive`);
            const target = kind === 'dir' ? dest : destText.endsWith('/') || sources.length > 1 ? posix.join(dest, posix.basename(path)) : dest;
            walk.copies.push({ source: path, target, kind });
          }
          break;
        }
        case 'RUN': {
          // A stated command replaces the builder stage's own steps.
          if (input.hints?.command && stage === builder) break;
          const { flags, command } = parseRun(rest);
          const built = goBuildOutput(command);
          const writes = built !== undefined && resolvePath(built, walk.workdir) === artifact;
          if (!writes) {
            if (stage === builder && command.includes(artifact)) return fail(`line ${instruction.line} changes ${artifact} before it is built`);
            if (HARMLESS_RUN.test(command) || OTHER_BUILD.test(command)) break;
            return fail(
              `line ${instruction.line} runs "${command.length > 60 ? `${command.slice(0, 57)}...` : command}" before the build step, which live update cannot repeat; state the command with the liveUpdate option of the build target`,
            );
          }
          const after = builder.instructions.slice(builder.instructions.indexOf(instruction) + 1);
          const touching = after.find((later) => later.keyword === 'RUN' && later.rest.includes(artifact));
          if (touching) return fail(`line ${touching.line} changes ${artifact} after it is built`);
          return finish(walk, command, flags, artifact, destination, stageLabel, found.image, fail);
        }
        default:
          break;
      }
    }
  }
  if (input.hints?.command) return finish(walk, input.hints.command, [], artifact, destination, stageLabel, found.image, fail);
  return fail(`no "go build ... -o ${artifact}" step`);
}

function finish(
  walk: Walk,
  command: string,
  flags: string[],
  artifact: string,
  destination: string,
  builderStage: string,
  builderImage: string,
  fail: (reason: string) => RecipeInference,
): RecipeInference {
  const mounts: LiveUpdateMount[] = [];
  // Directories are mounted; a file is fine when a mounted directory already puts it at the same place.
  for (const copy of walk.copies.filter((c) => c.kind === 'dir')) {
    const existing = mounts.findIndex((mount) => mount.target === copy.target);
    if (existing >= 0) mounts.splice(existing, 1);
    mounts.push({ source: copy.source, target: copy.target });
  }
  for (const copy of walk.copies.filter((c) => c.kind === 'file')) {
    const covered = mounts.some((mount) => {
      const inside = mount.source === '.' ? copy.source : posix.relative(mount.source, copy.source);
      return !inside.startsWith('..') && posix.join(mount.target, inside) === copy.target;
    });
    if (!covered && GLOB.test(copy.source))
      return fail(`it copies a glob (${copy.source}) that no directory it also copies covers, and live update mounts directories only`);
    if (!covered) return fail(`it copies the single file ${copy.source} to ${copy.target}, and live update mounts directories only`);
  }
  if (mounts.length === 0) return fail('it copies nothing from the build context');
  mounts.sort((a, b) => a.target.length - b.target.length);
  const cacheTargets = flags
    .filter((flag) => flag.startsWith('--mount='))
    .map((flag) =>
      Object.fromEntries(
        flag
          .slice(8)
          .split(',')
          .map((pair) => pair.split('=', 2) as [string, string]),
      ),
    )
    .filter((mount) => mount.type === 'cache' && (mount.target ?? mount.dst ?? mount.destination))
    .map((mount) => resolvePath(mount.target ?? mount.dst ?? mount.destination, walk.workdir));
  return {
    ok: true,
    recipe: {
      builderStage,
      builderImage,
      env: walk.stageEnv,
      args: walk.args,
      user: walk.user,
      workdir: walk.workdir,
      mounts,
      command,
      cacheTargets,
      artifact,
      destination,
    },
  };
}
