// Why this file is long: the builder pool, its compile servers, the compile gate and the way-out removal share one
// closed-over state (the builders and their servers); splitting them apart is the watch-loop restructuring (issue 24).
import { randomUUID } from 'node:crypto';
import { join, posix } from 'node:path';
import { shortImageId } from '../../core/image-id';
import { execRetryingSignals } from '../../core/podman-retry';
import {
  BUILDER_LABEL,
  BUILDER_OUT_DIR,
  buildBuilderRunArgs,
  buildCompileArgs,
  buildCompileInput,
  buildCompileServerArgs,
  builderKey,
  compileRequestToken,
  coversMounts,
  goCachePaths,
  parseCompileDone,
  shortHash,
  type LiveBuilderSpec,
} from '../../core/live-update-plan';
import { goBuildPackage, type LiveUpdateMount, type LiveUpdateRecipe } from '../../core/live-update-recipe';
import type { ImageConfig } from '../../core/podman-output';
import type { FileReader, Logger, PodmanEngine, ProcessResult, SleepClock } from '../../core/ports';
import type { LiveProject } from './live-project';

/** podman's answer to an exec in a container that is not there or not running (exit 125). */
const BUILDER_GONE = /no such container|container state improper/;

/** A warm dev builder container (one per builder image, context, env and user). */
export interface Builder {
  key: string;
  spec: LiveBuilderSpec;
  engine: PodmanEngine;
  imageEnv: Record<string, string>;
  /** Resolves once the container runs; the message when it could not start. */
  ready: Promise<string | undefined>;
  /**
   * Set while a compile builds packages others may share (core): compiles that start meanwhile wait for it, so
   * that Go compiles them once; it opens when that compile reaches its main package (every dependency is then in
   * Go's cache) or ends. Then the waiting compiles run in parallel with it.
   */
  gate: Promise<void> | undefined;
  /** Compile servers that wait for a compile (see {@link COMPILE_SERVER_PROGRAM}). */
  idle: CompileServer[];
}

/** A `podman exec` in a builder that runs one compile after another, for as long as the watcher runs. */
interface CompileServer {
  /** Sends one request ({@link buildCompileInput}); resolves when the compile's done line came, or the server ended. */
  run(input: string, onOutput: (chunk: string) => void): Promise<ProcessResult>;
  readonly ended: boolean;
  /** Kills the `podman exec` (close: the builder's removal ends what ran in it). */
  readonly controller: AbortController;
  /** Ends its stdin: it exits once its compile is done. */
  retire(): void;
}

/** How one compile ended: podman's result and where the binary is on the host, or why the builder could not run it. */
export type CompileResult = { kind: 'done'; result: ProcessResult; hostFile: string; hostDir: string; durationMs: number } | { kind: 'error'; message: string };

/** The builders of one watcher, what compiles in them, and their removal. */
export interface BuilderPool {
  /**
   * The builder for a project: one shared by every project with the same image, context, env and user (`mounts`: the
   * union of their directories), else one of its own. Starting it is not awaited here: see {@link Builder.ready}.
   */
  builderFor(info: LiveProject, recipe: LiveUpdateRecipe, image: ImageConfig, mounts?: readonly LiveUpdateMount[]): Promise<Builder>;
  /** Compiles `recipe` for `project` behind the builder's gate; `onStart` once it runs or waits; `since` for the hot path log. */
  compile(
    builder: Builder,
    info: LiveProject,
    recipe: LiveUpdateRecipe,
    project: string,
    signal: AbortSignal,
    onStart?: () => void,
    since?: number,
  ): Promise<CompileResult>;
  /**
   * Starts compile servers until `count` wait in the builder. Called once an update is over, not when its compile
   * starts (podman's start-up would take CPU from the compile and the restart on two cores), and after the warm-up with
   * as many as the builder's projects can compile at once.
   */
  standBy(builder: Builder, count?: number): void;
  /** Removes builders of this workspace a killed watcher left behind. */
  removeLeftovers(engines: Iterable<PodmanEngine>): Promise<void>;
  /** Removes every builder (and every compile in it) and their output directories. */
  close(): Promise<void>;
}

/**
 * Creates the pool; builder names carry a hash of the workspace root, so one workspace's builders are never another's.
 * `maxIdle`: compile servers kept waiting per builder (the watcher's concurrency); one more that ends a compile exits.
 */
export function createBuilderPool(deps: { workspaceRoot: string; files: FileReader; clock: SleepClock; logger: Logger; maxIdle?: number }): BuilderPool {
  const { files, clock, logger } = deps;
  // One pair of volumes per machine: Go's caches are content-addressed (Go version, flags and sources are in every
  // key) and safe to share between concurrent builds, so every workspace and every watcher warms the same cache.
  const volumes = { buildCache: 'nx-podman-gocache', moduleCache: 'nx-podman-gomodcache' };
  const builders: Builder[] = [];
  let jobSeq = 0;
  /** Every engine a builder was looked for on: close sweeps each of them. */
  const sweptEngines = new Set<PodmanEngine>();

  const buildersIn = (engine: PodmanEngine) => builderNamesIn(engine, deps.workspaceRoot);
  const removeOnTheWayOut = (engine: PodmanEngine, names: readonly string[]) => removeRetrying(engine, names, clock);

  /**
   * The builder for a project: one shared by every project with the same image, context, env and user, with all their
   * source directories mounted (`mounts`: the union prepare computed), else one of its own.
   */
  const builderFor = async (
    info: LiveProject,
    recipe: LiveUpdateRecipe,
    image: ImageConfig,
    mounts: readonly LiveUpdateMount[] = recipe.mounts,
  ): Promise<Builder> => {
    const key = builderKey(recipe, image.id, info.context, info.buildVolumes);
    const existing = builders.find((builder) => builder.key === key && coversMounts(builder.spec.mounts, recipe.mounts));
    if (existing) return existing;
    const id = builders.length === 0 ? key : shortHash(key, String(builders.length));
    const spec = await builderSpec({ id, info, recipe, image, mounts, workspaceRoot: deps.workspaceRoot, volumes, files });
    const builder: Builder = { key, spec, engine: info.engine, imageEnv: image.env, gate: undefined, idle: [], ready: Promise.resolve(undefined) };
    builder.ready = (async () => {
      // The watcher is stopping: no container may start now (close may already have swept).
      if (closing) return 'the watcher is stopping';
      await files.makeDirectory(spec.outDir);
      if (closing) return 'the watcher is stopping';
      // A builder left by a watcher that was killed: ours now.
      await info.engine.exec(['rm', '--force', '--time', '0', spec.name]);
      const { args, env } = buildBuilderRunArgs(spec);
      const started = await info.engine.exec(args, { env });
      if (started.exitCode !== 0) return `the builder container did not start (exit ${started.exitCode}): ${(started.stderr || started.stdout).trim()}`;
      logger.debug('live update builder started', { builder: spec.name, image: shortImageId(image.id), stage: recipe.builderStage, mounts: mounts.length });
      return undefined;
    })();
    builders.push(builder);
    return builder;
  };

  const mainPackageOf = createMainPackageLookup(files);

  /** Every compile server not yet ended (killed on close). */
  const servers = new Set<CompileServer>();
  let closing = false;
  const maxIdle = Math.max(1, deps.maxIdle ?? 1);

  const startServer = (builder: Builder) => startCompileServer(builder, servers);

  /** A server waiting in the builder, if one still runs. */
  const takeIdle = (builder: Builder): CompileServer | undefined => {
    builder.idle = builder.idle.filter((server) => !server.ended);
    return builder.idle.shift();
  };

  /** A server whose compile is done waits for the next one, unless enough wait already. */
  const putBack = (builder: Builder, server: CompileServer) => {
    if (server.ended) return;
    if (closing || builder.idle.length >= maxIdle) server.retire();
    else builder.idle.push(server);
  };

  const units: CompileUnits = { files, clock, logger, builders, mainPackageOf, nextJob: () => ++jobSeq, takeIdle, putBack, startServer };
  const compile: BuilderPool['compile'] = (builder, info, recipe, project, signal, onStart, since) =>
    compileBehindGate(units, builder, info, recipe, project, signal, onStart, since);

  return {
    builderFor,
    compile,
    standBy(builder, count = 1) {
      if (closing) return;
      void builder.ready.then((failed) => {
        builder.idle = builder.idle.filter((server) => !server.ended);
        while (!failed && !closing && builder.idle.length < Math.min(count, maxIdle)) builder.idle.push(startServer(builder));
      });
    },
    async removeLeftovers(engines) {
      for (const engine of engines) {
        if (closing) return;
        sweptEngines.add(engine);
        // Never one of ours: a save may have started a builder while the watcher was still preparing.
        const ours = new Set(builders.map((builder) => builder.spec.name));
        const names = (await buildersIn(engine)).filter((name) => !ours.has(name));
        if (names.length) await engine.exec(['rm', '--force', '--time', '0', ...names]);
      }
    },
    async close() {
      closing = true;
      for (const server of servers) server.controller.abort();
      await Promise.all(
        builders.map(async (builder) => {
          await builder.ready;
          // Removing the container ends every compile in it (a killed `podman exec` leaves its process running).
          await removeOnTheWayOut(builder.engine, [builder.spec.name]);
          await files.removeDirectory(builder.spec.outDir);
        }),
      );
      // Then every builder of this workspace podman still has: one a race started as the watcher stopped is not left
      // running, holding the workspace's directories mounted.
      for (const engine of new Set([...sweptEngines, ...builders.map((builder) => builder.engine)])) {
        const names = await buildersIn(engine);
        if (names.length) await removeOnTheWayOut(engine, names);
      }
    },
  };
}

/** Text for a process's stdin as it comes: `push` each chunk, `end` to close it. */
function inputQueue(): AsyncIterable<string> & { push(text: string): void; end(): void } {
  const chunks: string[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  return {
    push(text) {
      if (ended) return;
      chunks.push(text);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const chunk = chunks.shift();
        if (chunk !== undefined) yield chunk;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

/** The import path of the package the recipe's command builds (its `go build -v` line means its dependencies are done). */
function createMainPackageLookup(files: Pick<FileReader, 'readText'>) {
  const mainPackages = new Map<string, Promise<string | undefined>>();
  return (info: LiveProject, recipe: LiveUpdateRecipe): Promise<string | undefined> => {
    const key = `${info.context}\0${recipe.workdir}\0${recipe.command}`;
    let found = mainPackages.get(key);
    if (!found) {
      found = (async () => {
        const pkg = goBuildPackage(recipe.command);
        if (pkg === undefined) return undefined;
        const target = posix.resolve(recipe.workdir, pkg);
        const mount = [...recipe.mounts].reverse().find((m) => target === m.target || target.startsWith(`${m.target}/`));
        if (!mount) return undefined;
        // Up from the package directory to its go.mod, inside the mount.
        for (let dir = target; dir === mount.target || dir.startsWith(`${mount.target}/`); dir = posix.dirname(dir)) {
          const host = join(info.context, mount.source, posix.relative(mount.target, dir));
          const module = /^module\s+(\S+)/m.exec((await files.readText(join(host, 'go.mod'))) ?? '')?.[1];
          if (module) return posix.join(module, posix.relative(dir, target)) || module;
          if (dir === mount.target) break;
        }
        return undefined;
      })();
      mainPackages.set(key, found);
    }
    return found;
  };
}

/** Starts `podman exec` of a compile server in the builder (see {@link COMPILE_SERVER_PROGRAM}). */
function startCompileServer(builder: Pick<Builder, 'spec' | 'engine'>, servers: Set<CompileServer>): CompileServer {
  const requests = inputQueue();
  const controller = new AbortController();
  /** The compile running now: its token, what it wrote so far, and who waits for it. */
  let current: { token: string; text: string; onOutput: (chunk: string) => void; resolve: (result: ProcessResult) => void } | undefined;
  let stderr = '';
  let endResult: ProcessResult | undefined;
  const args = buildCompileServerArgs(builder.spec.name);
  const onOutput = (chunk: string, stream: 'stdout' | 'stderr') => {
    // podman's own messages (the builder is gone); the compile's all come on stdout.
    if (stream === 'stderr') stderr = `${stderr}${chunk}`.slice(-8192);
    if (!current || stream === 'stderr') return;
    current.text += chunk;
    current.onOutput(chunk);
    const done = parseCompileDone(current.text, current.token);
    if (!done) return;
    const { resolve } = current;
    current = undefined;
    resolve({ command: args.join(' '), exitCode: done.exitCode, stdout: done.output, stderr: '', aborted: false, timedOut: false });
  };
  const server: CompileServer = {
    controller,
    get ended() {
      return endResult !== undefined;
    },
    retire: () => requests.end(),
    run: (input, listener) =>
      new Promise<ProcessResult>((resolve) => {
        if (endResult) return resolve({ ...endResult, stderr: stderr || endResult.stderr });
        current = { token: compileRequestToken(input), text: '', onOutput: listener, resolve };
        requests.push(input);
      }),
  };
  servers.add(server);
  void builder.engine.exec(args, { input: requests, signal: controller.signal, onOutput, buffer: false }).then((result) => {
    endResult = result;
    requests.end();
    servers.delete(server);
    if (current) current.resolve({ ...result, stdout: current.text, stderr: stderr || result.stderr });
    current = undefined;
  });
  return server;
}

/** What {@link compileBehindGate} works with: the pool's ports, its builders and its compile servers. */
interface CompileUnits {
  files: Pick<FileReader, 'removeDirectory'>;
  clock: Pick<SleepClock, 'now'>;
  logger: Logger;
  /** The pool's builders: a builder found gone is dropped from it. */
  builders: Builder[];
  mainPackageOf(info: LiveProject, recipe: LiveUpdateRecipe): Promise<string | undefined>;
  nextJob(): number;
  takeIdle(builder: Builder): CompileServer | undefined;
  putBack(builder: Builder, server: CompileServer): void;
  startServer(builder: Builder): CompileServer;
}

/**
 * Compiles in the builder, behind the builder's gate (see {@link Builder.gate}); `onStart` once it runs or waits.
 * `since`: when the update began (the DEBUG line says how long the way to the compile took: the hot path). The
 * compile goes to a waiting compile server, so no podman process starts on the way. An abort gives the compile up at
 * once; its server finishes it (Go cannot be stopped from here without killing the server) and waits again.
 */
async function compileBehindGate(
  units: CompileUnits,
  builder: Builder,
  info: LiveProject,
  recipe: LiveUpdateRecipe,
  project: string,
  signal: AbortSignal,
  onStart?: () => void,
  since?: number,
): Promise<CompileResult> {
  const { files, clock, logger, builders, mainPackageOf, takeIdle, putBack, startServer } = units;
  const startupError = await builder.ready;
  if (startupError) {
    onStart?.();
    return { kind: 'error' as const, message: startupError };
  }
  const mainPackage = await mainPackageOf(info, recipe);
  const dir = `${project}-${units.nextJob()}`;
  const name = posix.basename(recipe.artifact);
  const output = posix.join(BUILDER_OUT_DIR, dir, name);
  const hostDir = join(builder.spec.outDir, dir);
  const input = buildCompileInput(recipe, output, builder.imageEnv, `nx-podman-compile-${randomUUID()}`);
  // A waiting server, else one started now: before the gate, so that its start-up overlaps the wait.
  const idle = input === undefined ? undefined : takeIdle(builder);
  const server = input === undefined ? undefined : (idle ?? startServer(builder));
  let abandoned = false;
  let giveUp!: () => void;
  const aborted = new Promise<void>((resolve) => (giveUp = resolve));
  const onAbort = () => {
    abandoned = true;
    giveUp();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    // The compiles that waited for one gate start together, none of them a gate for the others.
    const waited = builder.gate;
    if (waited) {
      onStart?.();
      await Promise.race([waited, aborted]);
    }
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    if (!waited) builder.gate = gate;
    const release = () => {
      if (builder.gate === gate) builder.gate = undefined;
      open();
    };
    if (abandoned) {
      release();
      if (server) putBack(builder, server);
      return { kind: 'error' as const, message: 'aborted' };
    }
    let pending = '';
    const onOutput = (chunk: string) => {
      if (mainPackage === undefined) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (lines.some((line) => line.trim() === mainPackage)) release();
    };
    const started = clock.now();
    let running: Promise<ProcessResult>;
    if (server && input !== undefined) {
      running = server.run(input, onOutput);
      // Given up or not, the server is free again once this compile is done.
      void running.then(() => putBack(builder, server));
    } else {
      const { args, env } = buildCompileArgs({ name: builder.spec.name, recipe }, output, builder.imageEnv);
      running = builder.engine.exec(args, { env, signal, onOutput });
    }
    onStart?.();
    logger.debug('compile started', {
      plugin: project,
      builder: builder.spec.name,
      process: server ? (idle ? 'waiting' : 'new') : 'exec',
      after: since === undefined ? undefined : `${Math.round(clock.now() - since)}ms`,
    });
    try {
      const result = await Promise.race([running, aborted.then(() => undefined)]);
      if (result === undefined) {
        // Its binary, when it comes, is nobody's.
        void running.then(() => files.removeDirectory(hostDir));
        return { kind: 'error' as const, message: 'aborted' };
      }
      if (result.exitCode === 125 && BUILDER_GONE.test(result.stderr)) {
        // Removed or stopped by hand: the next save starts a new builder; this one takes the full build.
        const index = builders.indexOf(builder);
        if (index >= 0) builders.splice(index, 1);
        return {
          kind: 'error' as const,
          message: `the live update builder "${builder.spec.name}" is gone (${result.stderr.trim().split('\n')[0]}); the next save starts a new one`,
        };
      }
      return { kind: 'done' as const, result, hostFile: join(hostDir, name), hostDir, durationMs: clock.now() - started };
    } finally {
      release();
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The builder container for `id`: named after the workspace, its mounts, output directory, caches and labels. */
async function builderSpec(input: {
  id: string;
  info: LiveProject;
  recipe: LiveUpdateRecipe;
  image: ImageConfig;
  mounts: readonly LiveUpdateMount[];
  workspaceRoot: string;
  volumes: LiveBuilderSpec['volumes'];
  files: Pick<FileReader, 'pathKind'>;
}): Promise<LiveBuilderSpec> {
  const { id, info, recipe, image, mounts, workspaceRoot } = input;
  // A mounted directory holding a .git: it is hidden from the builder, as the image's context does not have it.
  const gitDirs: string[] = [];
  for (const mount of mounts) if ((await input.files.pathKind(join(info.context, mount.source, '.git'))) === 'dir') gitDirs.push(mount.source);
  return {
    name: `nx-podman-builder-${shortHash(workspaceRoot)}-${id.slice(0, 8)}`,
    imageId: image.id,
    recipe,
    mounts,
    contextDir: info.context,
    outDir: join(workspaceRoot, '.nx', 'podman', 'live', 'out', id),
    volumes: input.volumes,
    cachePaths: goCachePaths({ ...image.env, ...recipe.env }),
    gitDirs,
    labels: { [BUILDER_LABEL]: workspaceRoot },
    ...(info.buildVolumes?.length && { extraVolumes: info.buildVolumes }),
  };
}

/** Names of this workspace's builder containers podman has (running or not). */
async function builderNamesIn(engine: PodmanEngine, workspaceRoot: string): Promise<string[]> {
  const left = await engine.exec(['ps', '-a', '--filter', `label=${BUILDER_LABEL}=${workspaceRoot}`, '--format', '{{.Names}}']);
  return left.exitCode === 0
    ? left.stdout
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean)
    : [];
}

/**
 * `podman rm --force` as the watcher stops, again until it succeeds (at most 5 calls): Nx signals the task's process
 * tree in its first rounds after Ctrl-C or SIGTERM, and podman, which traps those signals, then exits 125 itself (no
 * signal to see) with the container still there.
 */
async function removeRetrying(engine: PodmanEngine, names: readonly string[], clock: SleepClock): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const result = await execRetryingSignals(engine, ['rm', '--force', '--time', '0', ...names], { clock });
    if (result.exitCode === 0 || result.timedOut) return;
  }
}
