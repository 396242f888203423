import { join, posix } from 'node:path';
import { shortImageId } from '../../core/image-id';
import { execRetryingSignals } from '../../core/podman-retry';
import {
  BUILDER_LABEL,
  BUILDER_OUT_DIR,
  buildBuilderRunArgs,
  buildCompileArgs,
  buildCompileInput,
  buildCompileProcessArgs,
  builderKey,
  coversMounts,
  goCachePaths,
  shortHash,
  type LiveBuilderSpec,
} from '../../core/live-update-plan';
import { goBuildPackage, type LiveUpdateMount, type LiveUpdateRecipe } from '../../core/live-update-recipe';
import type { ImageConfig } from '../../core/podman-output';
import type { FileReader, Logger, PodmanEngine, ProcessResult, SleepClock } from '../../core/ports';
import type { LiveProject } from './live-updater';

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
  /** A compile process started ahead of the next compile, waiting for it on stdin (see {@link buildCompileProcessArgs}). */
  waiting: CompileProcess | undefined;
}

/** A `podman exec` in a builder that waits on stdin for the compile it runs. */
interface CompileProcess {
  /** Gives the process its compile (and ends its stdin). */
  give(input: string): void;
  /** Where its output goes from now on. */
  listen(onOutput: (chunk: string) => void): void;
  readonly result: Promise<ProcessResult>;
  readonly ended: boolean;
  readonly controller: AbortController;
}

/** How one compile ended: podman's result and where the binary is on the host, or why the builder could not run it. */
export type CompileResult =
  | { kind: 'done'; result: ProcessResult; hostFile: string; hostDir: string; durationMs: number }
  | { kind: 'error'; message: string };

/** The builders of one watcher, what compiles in them, and their removal. */
export interface BuilderPool {
  /**
   * The builder for a project: one shared by every project with the same image, context, env and user (`mounts`: the
   * union of their directories), else one of its own. Starting it is not awaited here: see {@link Builder.ready}.
   */
  builderFor(info: LiveProject, recipe: LiveUpdateRecipe, image: ImageConfig, mounts?: readonly LiveUpdateMount[]): Promise<Builder>;
  /** Compiles `recipe` for `project` behind the builder's gate; `onStart` once it runs or waits; `since` for the hot path log. */
  compile(builder: Builder, info: LiveProject, recipe: LiveUpdateRecipe, project: string, signal: AbortSignal, onStart?: () => void, since?: number): Promise<CompileResult>;
  /**
   * Starts the process that waits for the builder's next compile, unless one waits already. Called once an update is
   * over, not when its compile starts: podman's start-up would take CPU from the compile and the restart on two cores.
   */
  standBy(builder: Builder): void;
  /** Removes builders of this workspace a killed watcher left behind. */
  removeLeftovers(engines: Iterable<PodmanEngine>): Promise<void>;
  /** Removes every builder (and every compile in it) and their output directories. */
  close(): Promise<void>;
}

/** Creates the pool; builder names carry a hash of the workspace root, so one workspace's builders are never another's. */
export function createBuilderPool(deps: { workspaceRoot: string; files: FileReader; clock: SleepClock; logger: Logger }): BuilderPool {
  const { files, clock, logger } = deps;
  const workspaceId = shortHash(deps.workspaceRoot);
  const outRoot = join(deps.workspaceRoot, '.nx', 'podman', 'live', 'out');
  // One pair of volumes per machine: Go's caches are content-addressed (Go version, flags and sources are in every
  // key) and safe to share between concurrent builds, so every workspace and every watcher warms the same cache.
  const volumes = { buildCache: 'nx-podman-gocache', moduleCache: 'nx-podman-gomodcache' };
  const builders: Builder[] = [];
  let jobSeq = 0;

  /**
   * The builder for a project: one shared by every project with the same image, context, env and user, with all their
   * source directories mounted (`mounts`: the union prepare computed), else one of its own.
   */
  const builderFor = async (info: LiveProject, recipe: LiveUpdateRecipe, image: ImageConfig, mounts: readonly LiveUpdateMount[] = recipe.mounts): Promise<Builder> => {
    const key = builderKey(recipe, image.id, info.context);
    const existing = builders.find((builder) => builder.key === key && coversMounts(builder.spec.mounts, recipe.mounts));
    if (existing) return existing;
    const gitDirs: string[] = [];
    for (const mount of mounts) if ((await files.pathKind(join(info.context, mount.source, '.git'))) === 'dir') gitDirs.push(mount.source);
    const id = builders.length === 0 ? key : shortHash(key, String(builders.length));
    const spec: LiveBuilderSpec = {
      name: `nx-podman-builder-${workspaceId}-${id.slice(0, 8)}`,
      imageId: image.id,
      recipe,
      mounts,
      contextDir: info.context,
      outDir: join(outRoot, id),
      volumes,
      cachePaths: goCachePaths({ ...image.env, ...recipe.env }),
      gitDirs,
      labels: { [BUILDER_LABEL]: deps.workspaceRoot },
    };
    const builder: Builder = { key, spec, engine: info.engine, imageEnv: image.env, gate: undefined, waiting: undefined, ready: Promise.resolve(undefined) };
    builder.ready = (async () => {
      await files.makeDirectory(spec.outDir);
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

  /** The import path of the package the recipe's command builds (its `go build -v` line means its dependencies are done). */
  const mainPackages = new Map<string, Promise<string | undefined>>();
  const mainPackageOf = (info: LiveProject, recipe: LiveUpdateRecipe): Promise<string | undefined> => {
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

  /** Every compile process not yet ended (aborted on close). */
  const processes = new Set<CompileProcess>();
  let closing = false;

  /** Starts `podman exec` of a compile process in the builder: it waits for its compile on stdin. */
  const startCompileProcess = (builder: Builder): CompileProcess => {
    let give!: (input: string) => void;
    const input = new Promise<string>((resolve) => (give = resolve));
    const controller = new AbortController();
    let onOutput: ((chunk: string) => void) | undefined;
    const started: { -readonly [K in keyof CompileProcess]: CompileProcess[K] } = {
      give,
      listen: (listener) => (onOutput = listener),
      controller,
      ended: false,
      result: builder.engine.exec(buildCompileProcessArgs(builder.spec.name), { input, signal: controller.signal, onOutput: (chunk) => onOutput?.(chunk) }),
    };
    processes.add(started);
    void started.result.finally(() => {
      started.ended = true;
      processes.delete(started);
    });
    return started;
  };

  /** The builder's process waiting for its next compile, if it is still there. */
  const waitingProcess = (builder: Builder) => (builder.waiting?.ended ? undefined : builder.waiting);

  /**
   * Compiles in the builder, behind the builder's gate (see {@link Builder.gate}); `onStart` once it runs or waits.
   * `since`: when the update began (the DEBUG line says how long the way to the compile took: the hot path). The
   * compile goes to the process started ahead for it, so podman's start-up is not on the way.
   */
  const compile = async (builder: Builder, info: LiveProject, recipe: LiveUpdateRecipe, project: string, signal: AbortSignal, onStart?: () => void, since?: number): Promise<CompileResult> => {
    const startupError = await builder.ready;
    if (startupError) {
      onStart?.();
      return { kind: 'error' as const, message: startupError };
    }
    const mainPackage = await mainPackageOf(info, recipe);
    const dir = `${project}-${++jobSeq}`;
    const name = posix.basename(recipe.artifact);
    const output = posix.join(BUILDER_OUT_DIR, dir, name);
    const input = buildCompileInput(recipe, output, builder.imageEnv);
    // The process started ahead, else one started now: before the gate, so that its start-up overlaps the wait.
    let compiler: CompileProcess | undefined;
    let startedAhead = false;
    if (input !== undefined) {
      compiler = waitingProcess(builder);
      startedAhead = compiler !== undefined;
      compiler ??= startCompileProcess(builder);
      builder.waiting = undefined;
    }
    const abortProcess = () => compiler?.controller.abort();
    signal.addEventListener('abort', abortProcess, { once: true });
    try {
      // The compiles that waited for one gate start together, none of them a gate for the others.
      const waited = builder.gate;
      if (waited) {
        onStart?.();
        await waited;
      }
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      if (!waited) builder.gate = gate;
      const release = () => {
        if (builder.gate === gate) builder.gate = undefined;
        open();
      };
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
      if (compiler && input !== undefined) {
        compiler.listen(onOutput);
        compiler.give(input);
        running = compiler.result;
      } else {
        const { args, env } = buildCompileArgs({ name: builder.spec.name, recipe }, output, builder.imageEnv);
        running = builder.engine.exec(args, { env, signal, onOutput });
      }
      onStart?.();
      logger.debug('compile started', {
        plugin: project,
        builder: builder.spec.name,
        process: compiler ? (startedAhead ? 'waiting' : 'new') : 'exec',
        after: since === undefined ? undefined : `${Math.round(clock.now() - since)}ms`,
      });
      try {
        const result = await running;
        if (result.exitCode === 125 && BUILDER_GONE.test(result.stderr)) {
          // Removed or stopped by hand: the next save starts a new builder; this one takes the full build.
          const index = builders.indexOf(builder);
          if (index >= 0) builders.splice(index, 1);
          return { kind: 'error' as const, message: `the live update builder "${builder.spec.name}" is gone (${result.stderr.trim().split('\n')[0]}); the next save starts a new one` };
        }
        return { kind: 'done' as const, result, hostFile: join(builder.spec.outDir, dir, name), hostDir: join(builder.spec.outDir, dir), durationMs: clock.now() - started };
      } finally {
        release();
      }
    } finally {
      signal.removeEventListener('abort', abortProcess);
    }
  };

  return {
    builderFor,
    compile,
    standBy(builder) {
      if (closing || waitingProcess(builder)) return;
      void builder.ready.then((failed) => {
        if (!failed && !closing && !waitingProcess(builder)) builder.waiting = startCompileProcess(builder);
      });
    },
    async removeLeftovers(engines) {
      for (const engine of engines) {
        const left = await engine.exec(['ps', '-a', '--filter', `label=${BUILDER_LABEL}=${deps.workspaceRoot}`, '--format', '{{.Names}}']);
        // Never one of ours: a save may have started a builder while the watcher was still preparing.
        const ours = new Set(builders.map((builder) => builder.spec.name));
        const names = left.exitCode === 0 ? left.stdout.split('\n').map((line) => line.trim()).filter((name) => name !== '' && !ours.has(name)) : [];
        if (names.length) await engine.exec(['rm', '--force', '--time', '0', ...names]);
      }
    },
    async close() {
      closing = true;
      for (const waiting of processes) waiting.controller.abort();
      await Promise.all(
        builders.map(async (builder) => {
          await builder.ready;
          // Removing the container ends every compile in it (an aborted `podman exec` leaves its process running).
          await execRetryingSignals(builder.engine, ['rm', '--force', '--time', '0', builder.spec.name], { clock });
          await files.removeDirectory(builder.spec.outDir);
        }),
      );
    },
  };
}
