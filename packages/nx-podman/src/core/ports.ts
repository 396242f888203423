/**
 * The ports: every interface through which the runners reach the world. Declared here, in core, and implemented by
 * `adapters/` (one file per outside system) and by the fakes in `testing/`. Nothing here does I/O.
 */
import type { BuildRecord } from './build-record';
import type { ParsedContainerfile } from './containerfile';
import type { HealthCheck, HealthSettings, ProbeResult } from './health-check';
import type { InputHashInput } from './input-hash';
import type { LogFields } from './log-format';
import type { PodmanConnection, PodmanVersion } from './podman-version';
import type { ContainerRunSpec, ContainerState } from './run-args';

// ---------------------------------------------------------------------------------------------------------------
// Time

/** An opaque handle returned by {@link Clock.setTimer}. */
export type TimerHandle = object;

/**
 * The time port: `adapters/system-clock.ts` is the real one, `testing/fake-clock.ts` moves only when told.
 * Awaiting code uses `sleep`; callback-driven logic (the reload scheduler) uses `setTimer`.
 */
export interface Clock {
  /** Milliseconds, monotonic within one clock (durations). */
  now(): number;
  /** The wall-clock time (timestamps in records). */
  date(): Date;
  /** Resolves after `ms`, or right away when `signal` aborts (it never rejects); the timer is cleared either way. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimer(handle: TimerHandle): void;
}

/** The timer half of {@link Clock}, for callback-driven code that never sleeps. */
export type TimerClock = Pick<Clock, 'now' | 'setTimer' | 'clearTimer'>;
/** The awaiting half of {@link Clock}, for code that only measures and waits. */
export type SleepClock = Pick<Clock, 'now' | 'sleep'>;

// ---------------------------------------------------------------------------------------------------------------
// Logging

/** The logging port every runner takes. Text lines read `INFO building plugin plugin=postgres stage=production`. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Raw output (podman's build progress, container logs), written as is. */
  output(text: string): void;
  readonly verbose: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes and podman

/** Options of one child process run. */
export interface RunProcessOptions {
  /** Working directory. @default process.cwd() */
  cwd?: string;
  /** Extra environment variables, merged over the parent's. The parent's `process.env` is never mutated. */
  env?: Record<string, string | undefined>;
  /** Aborting kills the process: `killSignal`, then SIGKILL after `forceKillAfterMs`. */
  signal?: AbortSignal;
  /** Called with every chunk of stdout and stderr as it arrives (live build output). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /**
   * Text written to stdin, then stdin is closed. A promise: the process starts now and gets its input (and the end of
   * it) when the promise resolves. An async iterable: each chunk is written as it comes, stdin closes when it ends (a
   * process serving requests for as long as it runs reads them that way).
   */
  input?: string | Promise<string> | AsyncIterable<string>;
  /**
   * Keep stdout and stderr for the result. `false`: they only go to `onOutput` and the result's are empty (a process
   * that runs for as long as the watcher must not hold everything it ever wrote). @default true
   */
  buffer?: boolean;
  /** Kill the process after this many milliseconds. @default no timeout */
  timeoutMs?: number;
  /** Delay between the first signal and SIGKILL. @default 5000 */
  forceKillAfterMs?: number;
  /** The first signal an abort sends. @default 'SIGTERM' */
  killSignal?: 'SIGTERM' | 'SIGINT';
  /**
   * On abort, stop the work below the child first: SIGKILL what runs below its own children (a build step's
   * container: `podman build` → `buildah-oci-runtime` → the RUN command), wait up to `graceMs` for the child to see
   * that and exit by itself (podman then removes its build container), and only then signal the child. Whatever the
   * child leaves running below it is killed after it exits. Without it, an abort signals the child only. The child
   * runs in a process group of its own, so that a terminal's Ctrl-C reaches it only through this order.
   * `beforeKill` sees the pids of that work while they still run (the engine finds a build step's container from them).
   */
  stopTreeFirst?: { graceMs: number; beforeKill?: (pids: readonly number[]) => void };
}

/** What a finished child process left behind. A non-zero exit is a result, not an exception. */
export interface ProcessResult {
  /** The command line, for messages only (arguments are never joined for execution). */
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the process was killed because `signal` aborted. */
  aborted: boolean;
  timedOut: boolean;
  /** Signal that ended the process, if any. */
  signal?: string;
}

/** The port every adapter uses to run a child process: argument arrays only, never a shell string. */
export interface ProcessRunner {
  run(file: string, args: readonly string[], options?: RunProcessOptions): Promise<ProcessResult>;
}

/** One image of `podman image ls`: its full id and the names (`repo:tag`) pointing at it. */
export interface ImageListing {
  id: string;
  names: string[];
}

/** What one `podman build` produced: podman's result, and the built image's full id when it succeeded. */
export interface ImageBuildResult {
  result: ProcessResult;
  /** Full id (`sha256:…`) from `--iidfile`; undefined when the build failed or was aborted. */
  imageId: string | undefined;
}

/**
 * The podman port. Runners build argument arrays with pure functions (core/) and hand them to `exec`; the queries
 * below parse podman's output in core (podman-output.ts). The fake in `testing/fake-engine.ts` records the arrays.
 */
export interface PodmanEngine {
  readonly connection: PodmanConnection;
  /** Runs `podman [--remote --connection X] <args>`. A non-zero exit is returned, not thrown. */
  exec(args: readonly string[], options?: RunProcessOptions): Promise<ProcessResult>;
  /** `podman version`, asked once per engine and cached. Throws {@link PodmanUnavailableError}. */
  version(): Promise<PodmanVersion>;
  /** `podman image exists REF` (never pulls). */
  imageExists(ref: string): Promise<boolean>;
  /** `podman container exists NAME`. */
  containerExists(name: string): Promise<boolean>;
  /**
   * `podman image ls --filter FILTER` (`label=k=v`, `reference=name`), with names; `all` includes intermediate images.
   * Undefined when podman failed to list.
   */
  listImages(filter: string, options?: { signal?: AbortSignal; all?: boolean }): Promise<ImageListing[] | undefined>;
  /** Full id of a local image or manifest list; undefined when it does not exist. */
  imageId(ref: string): Promise<string | undefined>;
  /** The names (`repo:tag`) pointing at a local image; undefined when it does not exist. One podman call whatever the store size. */
  imageNames(id: string): Promise<string[] | undefined>;
  /** Full ids of the images every container (running or not) was created from; undefined when podman cannot list them. */
  containerImageIds(): Promise<Set<string> | undefined>;
  /** The platforms (`os/arch[/variant]`) a manifest list holds; undefined when it cannot be inspected. */
  manifestPlatforms(manifest: string): Promise<string[] | undefined>;
  /**
   * Runs `podman build <args>` with an `--iidfile` of the engine's own (the args must not carry one) and returns the
   * built image's id from it.
   */
  build(args: readonly string[], options?: RunProcessOptions): Promise<ImageBuildResult>;
}

// ---------------------------------------------------------------------------------------------------------------
// Health

/** A health check that talks to something (everything except `running`, which the replace sequence handles). */
export type ProbeCheck = Exclude<HealthCheck, { kind: 'running' }>;

/** Options of one probe attempt. */
export interface ProbeOptions {
  /** The container being checked (for `command` and `image` checks). */
  container: string;
  /** Give up this attempt after this long. */
  timeoutMs: number;
  /** Aborting ends the attempt at once (a failed result); sockets and timers are released. */
  signal?: AbortSignal;
}

/** The health probe port: one attempt of a check. Never throws; failures are results. */
export interface HealthProbe {
  probe(check: ProbeCheck, options: ProbeOptions): Promise<ProbeResult>;
}

// ---------------------------------------------------------------------------------------------------------------
// Files: watching, hashing, reading

/** What happened to a path. Moves arrive as `unlink` + `add` (or `unlinkDir` + `addDir` + one `add` per file). */
export type WatchOp = 'add' | 'change' | 'unlink' | 'addDir' | 'unlinkDir';

/** One file system event; `path` is absolute. */
export interface WatchEvent {
  op: WatchOp;
  path: string;
}

/** Options of a {@link FileWatcher}. */
export interface FileWatcherOptions {
  /** Absolute directories (or files) to watch, recursively. */
  paths: readonly string[];
  /** Paths never watched nor reported (absolute path in); directories returning true are not descended into. */
  ignored?: (absolutePath: string) => boolean;
  /** Poll instead of using inotify (network file systems, containers, an exhausted inotify limit). @default false */
  usePolling?: boolean;
  /** Polling interval in milliseconds. @default 300 */
  pollIntervalMs?: number;
  onEvent(event: WatchEvent): void;
  /** An error that is not handled by falling back to polling. The watcher keeps running. */
  onError(error: Error): void;
  /** The inotify limit was hit (ENOSPC/EMFILE): the watcher switched to polling. */
  onFallbackToPolling?(cause: Error): void;
}

/** A running watcher: the port watch-reload takes. */
export interface FileWatcher {
  /** Resolves once the initial scan is done and every event after it will be reported. */
  readonly ready: Promise<void>;
  /** True when polling (asked for, or after a fallback). */
  readonly polling: boolean;
  /** Starts watching more paths (a project that appeared). */
  add(paths: readonly string[]): void;
  /** Stops watching; idempotent. */
  close(): Promise<void>;
}

/** Creates a {@link FileWatcher}; the port's factory type. */
export type CreateFileWatcher = (options: FileWatcherOptions) => FileWatcher;

/** What to hash for one build: everything in the input hash but the files, which the hasher reads from `context`. */
export interface ContextHashRequest extends Omit<InputHashInput, 'files'> {
  /** Absolute build context directory. */
  context: string;
  /** The parse of `containerfile`: its COPY/ADD sources select the context files. */
  parsed: ParsedContainerfile;
  /** Absolute directories never hashed (the workspace's `.nx`: build records must not change the next hash). */
  excludeDirectories?: readonly string[];
}

/** The input hash and the context files that went into it. */
export interface ContextHash {
  inputHash: string;
  /** Context-relative paths of the hashed files, sorted. */
  files: string[];
  /** True when a COPY source was the whole context (`.`) or not known (`$VAR`). */
  wholeContext: boolean;
}

/** The port that hashes build inputs; podman-build takes it as a dependency. Throws {@link ContextReadError}. */
export interface ContextHasher {
  hash(request: ContextHashRequest): Promise<ContextHash>;
}

/** Plain file access for the runners (absolute paths). */
export interface FileReader {
  /** The file's text; undefined when it does not exist or is a directory. Other errors throw. */
  readText(path: string): Promise<string | undefined>;
  /** True when `path` is an existing directory. */
  isDirectory(path: string): Promise<boolean>;
  /** Creates a directory and its parents (podman does not create the parent of a file push destination). */
  makeDirectory(path: string): Promise<void>;
  /** `dir`, `file`, or undefined when nothing is there. */
  pathKind(path: string): Promise<'dir' | 'file' | undefined>;
  /** sha256 (hex) of a file's bytes; undefined when it does not exist. */
  hashFile(path: string): Promise<string | undefined>;
  /** Removes a directory and everything in it; a missing one is fine. */
  removeDirectory(path: string): Promise<void>;
  /**
   * Replaces the existing file `path` below the directory `root` (a container's root file system as the host sees it)
   * with a copy of `source`: written beside it, then renamed over it (a running binary is never written in place),
   * with the source's mode and the replaced file's owner. Undefined when done, else why not (the file is missing, a
   * symbolic link is on the way, no permission, another file system); nothing is changed then.
   */
  replaceFileBelow(source: string, root: string, path: string): Promise<string | undefined>;
}

// ---------------------------------------------------------------------------------------------------------------
// Git and build records

/** The commit a workspace is at. */
export interface GitRevision {
  /** Full commit sha. */
  full: string;
  /** `git rev-parse --short HEAD` (abbreviated as git chooses, at least 7 characters). */
  short: string;
  /** The `origin` remote's URL without credentials (the `org.opencontainers.image.source` label), if there is one. */
  source?: string;
}

/** The git port: podman-build asks it for `{shortCommitSha}` and the `org.opencontainers.image.revision` label. */
export interface GitReader {
  /** The HEAD commit of the repository containing `cwd`, or undefined (no git, not a repository, no commit yet). */
  revision(cwd: string): Promise<GitRevision | undefined>;
}

/** What a container runs after a live update: the watcher's record against drift (a re-created container loses it). */
export interface LiveUpdateRecord {
  project: string;
  stage: string;
  /** Name and id of the container that got the binary. */
  container: string;
  containerId: string;
  /** The image the container was created from. */
  imageId: string;
  /** sha256 (hex) of the binary copied in. */
  binarySha256: string;
  /** ISO time of the update. */
  updatedAt: string;
}

/** Reads and writes live update records (`.nx/podman/live/<project>/<stage>.json`). */
export interface LiveUpdateRecordStore {
  read(project: string, stage: string): Promise<LiveUpdateRecord | undefined>;
  write(record: LiveUpdateRecord): Promise<void>;
  remove(project: string, stage: string): Promise<void>;
}

/** Reads and writes build records (`.nx/podman/builds/<project>/<stage>.json`). */
export interface BuildRecordStore {
  read(project: string, stage: string): Promise<BuildRecord | undefined>;
  write(record: BuildRecord): Promise<void>;
}

/** One JSON-RPC connection to a headless Delve server (`adapters/delve-rpc.ts`): the debug stage's live update uses it. */
export interface DelveRpc {
  /** Calls `RPCServer.<method>` and resolves with its result; rejects with Delve's error, or after `timeoutMs`. */
  call<T>(method: string, params: object, timeoutMs: number): Promise<T>;
  /** Sends a call whose answer nobody waits for (a `continue` answers only when the program stops again). */
  send(method: string, params: object): void;
  /** Closes the connection once what was sent is written. */
  close(): void;
}

/** One new binary for a running container, as the live updater asks for it. */
export interface ContainerUpdateRequest {
  project: string;
  engine: PodmanEngine;
  container: ContainerRunSpec;
  /** The container as last checked: it runs the project's image. */
  state: ContainerState;
  /** The compiled binary on the host, and where it goes in the container. */
  hostFile: string;
  destination: string;
  health: HealthSettings;
  /** Once the new process starts, only shutdown aborts (the signal then ends the health wait). */
  signal: AbortSignal;
  /** Called once the binary is in the container, before the process changes: from here on it holds the new code. */
  installed(): Promise<void>;
}

/** How a container update ended: `refused` (the binary could not go in) leaves the old process running. */
export type ContainerUpdateResult =
  { status: 'updated' } | { status: 'refused'; reason: string } | { status: 'failed'; message: string } | { status: 'aborted' };

/**
 * Makes a running container run a new binary (the live update's last step): the binary swapped in its file system,
 * then the process restarted, by Delve in place or by a container restart (`container-updaters.ts`); the holding
 * updater wraps it. Another way to change a container's process is another implementation of this one method.
 */
export interface ContainerUpdater {
  update(request: ContainerUpdateRequest): Promise<ContainerUpdateResult>;
}
