import { DEFAULT_EXCLUDE } from '../../core/file-filter';
import type { LogFormat } from '../../core/log-format';
import type { OnBusyUpdate } from '../../core/reload-scheduler';
import { isStageName, STAGE_NAME_EXPECTED, type TargetOverrides } from '../../core/stage-name';
import type { WatchReloadExecutorSchema } from './schema';

/** watch-reload options after defaults and validation: frozen, no optional fields. */
export interface NormalizedWatchReloadOptions {
  /** Project selectors (names, globs, `tag:`, `!`). */
  readonly projects: readonly string[];
  readonly debounceMs: number;
  readonly maxWaitMs: number;
  readonly build: boolean;
  readonly reload: boolean;
  readonly initialBuild: boolean;
  readonly stage: string;
  /** The stage, and podman/remote/connection set on this target: set over the build and run targets' own options. */
  readonly overrides: TargetOverrides;
  readonly buildTarget: string;
  readonly runTarget: string;
  readonly concurrency: number;
  readonly onBusyUpdate: OnBusyUpdate;
  /** Project-relative globs; undefined: the build target's inputs or the defaults. */
  readonly include: readonly string[] | undefined;
  /** Project-relative globs that never trigger (the `ignore` option). */
  readonly ignore: readonly string[];
  readonly usePolling: boolean;
  readonly stopOnExit: boolean;
  /**
   * How long Nx lets the task run after Ctrl-C or SIGTERM before it SIGKILLs the task's process tree: its
   * NX_PROCESS_KILL_GRACE_PERIOD (ms), 5000 by default. The exit plans its waits within it.
   */
  readonly killGraceMs: number;
  /** With reload: the watcher listens on the published ports and holds connections while a container changes. */
  readonly holdRequests: boolean;
  /** How long a held connection waits before it is closed. */
  readonly holdTimeoutMs: number;
  /** How many connections per plugin are held at once; more are closed on arrival. */
  readonly maxHeldConnections: number;
  /** Images kept per project and stage (0: all). */
  readonly keepImages: number;
  /** `auto`: with reload, Go-only change sets update the running containers without an image build. */
  readonly liveUpdate: LiveUpdateMode;
  readonly verbose: boolean;
  readonly logFormat: LogFormat;
  /** Port of the status page on 127.0.0.1 (0: any free port), or false for no page. */
  readonly statusPort: number | false;
}

/** The `liveUpdate` option. */
export type LiveUpdateMode = 'auto' | 'off';

/** True when Go-only change sets take the live path: `liveUpdate: auto` with `reload` (and `build`). */
export function isLiveUpdateOn(options: Pick<NormalizedWatchReloadOptions, 'liveUpdate' | 'reload' | 'build'>): boolean {
  return options.liveUpdate === 'auto' && options.reload && options.build;
}

/** Invalid watch-reload options; the message names the option, the value and the fix. */
export class WatchReloadOptionsError extends Error {
  constructor(option: string, value: unknown, fix: string) {
    super(`Invalid watch-reload option "${option}": ${JSON.stringify(value)}. ${fix}`);
    this.name = 'WatchReloadOptionsError';
  }
}

const TARGET_NAME = /^[^\s:]+$/;

/** Defaults of the options, keyed like schema.json (whose `default`s must equal these: a test checks). */
export const WATCH_RELOAD_DEFAULTS = Object.freeze({
  debounce: 1000,
  maxWait: 10_000,
  build: true,
  reload: false,
  initialBuild: false,
  stage: 'production',
  buildTarget: 'podman-build',
  runTarget: 'podman-run',
  concurrency: 2,
  onBusyUpdate: 'queue' as OnBusyUpdate,
  usePolling: false,
  stopOnExit: false,
  holdRequests: true,
  holdTimeout: 30,
  maxHeldConnections: 1000,
  keepImages: 3,
  liveUpdate: 'auto' as LiveUpdateMode,
  verbose: false,
  logFormat: 'text' as LogFormat,
});

function milliseconds(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new WatchReloadOptionsError(option, value, `Expected a number of milliseconds >= 0, e.g. ${fallback}.`);
  }
  return Math.round(value);
}

function globs(option: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || item.trim() === '')) {
    throw new WatchReloadOptionsError(
      option,
      value,
      'Expected an array of non-empty glob strings relative to the project root, e.g. ["**/*.go", "config/*.yaml"].',
    );
  }
  return list.map((item: string) => item.trim().replace(/^\.\//, ''));
}

function flag(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new WatchReloadOptionsError(option, value, 'Expected true or false.');
  return value;
}

/**
 * Applies defaults and validates. `projectName` is the project the target runs for (the default selection);
 * `env` decides verbose (`NX_VERBOSE_LOGGING=true` from Nx's `--verbose`).
 */
export function normalizeWatchReloadOptions(
  options: WatchReloadExecutorSchema,
  ctx: { projectName: string | undefined; env?: NodeJS.ProcessEnv },
): NormalizedWatchReloadOptions {
  const rawProjects = typeof options.projects === 'string' ? options.projects.split(',') : options.projects;
  if (rawProjects !== undefined && (!Array.isArray(rawProjects) || rawProjects.some((p) => typeof p !== 'string' || p.trim() === ''))) {
    throw new WatchReloadOptionsError('projects', options.projects, 'Expected project names, globs or tag: selectors, e.g. ["postgres"] or ["tag:plugin"].');
  }
  const projects = rawProjects?.map((p) => p.trim()) ?? (ctx.projectName ? [ctx.projectName] : []);
  if (projects.length === 0) {
    throw new WatchReloadOptionsError(
      'projects',
      options.projects ?? null,
      'Name what to watch, e.g. "projects": ["tag:plugin"] (a target without a project has no default).',
    );
  }
  const debounceMs = milliseconds('debounce', options.debounce, WATCH_RELOAD_DEFAULTS.debounce);
  const maxWaitMs = milliseconds('maxWait', options.maxWait, WATCH_RELOAD_DEFAULTS.maxWait);
  if (maxWaitMs < debounceMs && options.maxWait !== undefined) {
    throw new WatchReloadOptionsError('maxWait', options.maxWait, `maxWait must be at least debounce (${debounceMs} ms).`);
  }
  const concurrency = options.concurrency ?? WATCH_RELOAD_DEFAULTS.concurrency;
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new WatchReloadOptionsError('concurrency', options.concurrency, 'Expected a whole number >= 1, e.g. 2.');
  }
  const onBusyUpdate = options.onBusyUpdate ?? WATCH_RELOAD_DEFAULTS.onBusyUpdate;
  if (onBusyUpdate !== 'queue' && onBusyUpdate !== 'restart') {
    throw new WatchReloadOptionsError('onBusyUpdate', options.onBusyUpdate, 'Expected "queue" or "restart".');
  }
  const keepImages = options.keepImages ?? WATCH_RELOAD_DEFAULTS.keepImages;
  if (typeof keepImages !== 'number' || !Number.isInteger(keepImages) || keepImages < 0) {
    throw new WatchReloadOptionsError('keepImages', options.keepImages, 'Expected a whole number >= 0 (0 keeps every image), e.g. 3.');
  }
  const liveUpdate = options.liveUpdate ?? WATCH_RELOAD_DEFAULTS.liveUpdate;
  if (liveUpdate !== 'auto' && liveUpdate !== 'off') {
    throw new WatchReloadOptionsError(
      'liveUpdate',
      options.liveUpdate,
      'Expected "auto" (update running containers in place when only Go sources changed) or "off" (always build the image).',
    );
  }
  const holdTimeout = options.holdTimeout ?? WATCH_RELOAD_DEFAULTS.holdTimeout;
  if (typeof holdTimeout !== 'number' || !Number.isFinite(holdTimeout) || holdTimeout <= 0) {
    throw new WatchReloadOptionsError('holdTimeout', options.holdTimeout, 'Expected a number of seconds > 0 that a held connection may wait, e.g. 30.');
  }
  const maxHeldConnections = options.maxHeldConnections ?? WATCH_RELOAD_DEFAULTS.maxHeldConnections;
  if (typeof maxHeldConnections !== 'number' || !Number.isInteger(maxHeldConnections) || maxHeldConnections < 1) {
    throw new WatchReloadOptionsError(
      'maxHeldConnections',
      options.maxHeldConnections,
      'Expected a whole number >= 1 of connections held per plugin, e.g. 1000.',
    );
  }
  const statusPort = parseStatusPort(options.statusPort);
  const logFormat = options.logFormat ?? WATCH_RELOAD_DEFAULTS.logFormat;
  if (logFormat !== 'text' && logFormat !== 'json') throw new WatchReloadOptionsError('logFormat', options.logFormat, 'Expected "text" or "json".');
  const stage = options.stage ?? WATCH_RELOAD_DEFAULTS.stage;
  if (!isStageName(stage)) throw new WatchReloadOptionsError('stage', options.stage, `Expected ${STAGE_NAME_EXPECTED}.`);
  for (const option of ['buildTarget', 'runTarget'] as const) {
    const value = options[option];
    if (value !== undefined && (typeof value !== 'string' || !TARGET_NAME.test(value))) {
      throw new WatchReloadOptionsError(option, value, 'Expected a target name such as "podman-build" (no project, no configuration).');
    }
  }
  const connectionOverrides: { -readonly [K in keyof TargetOverrides]: TargetOverrides[K] } = { stage };
  if (options.podman !== undefined) {
    if (typeof options.podman !== 'string' || options.podman === '')
      throw new WatchReloadOptionsError('podman', options.podman, 'Expected the podman binary name or path.');
    connectionOverrides.podman = options.podman;
  }
  if (options.remote !== undefined) connectionOverrides.remote = flag('remote', options.remote, false);
  if (options.connection !== undefined) {
    if (typeof options.connection !== 'string' || options.connection === '')
      throw new WatchReloadOptionsError('connection', options.connection, 'Expected a name from "podman system connection list".');
    connectionOverrides.connection = options.connection;
  }
  return Object.freeze({
    projects: Object.freeze(projects),
    debounceMs,
    maxWaitMs: Math.max(maxWaitMs, debounceMs),
    build: flag('build', options.build, WATCH_RELOAD_DEFAULTS.build),
    reload: flag('reload', options.reload, WATCH_RELOAD_DEFAULTS.reload),
    initialBuild: flag('initialBuild', options.initialBuild, WATCH_RELOAD_DEFAULTS.initialBuild),
    stage,
    overrides: Object.freeze(connectionOverrides),
    buildTarget: options.buildTarget ?? WATCH_RELOAD_DEFAULTS.buildTarget,
    runTarget: options.runTarget ?? WATCH_RELOAD_DEFAULTS.runTarget,
    concurrency,
    onBusyUpdate,
    include: globs('include', options.include),
    ignore: Object.freeze(globs('ignore', options.ignore) ?? [...DEFAULT_EXCLUDE]),
    usePolling: flag('usePolling', options.usePolling, WATCH_RELOAD_DEFAULTS.usePolling),
    stopOnExit: flag('stopOnExit', options.stopOnExit, WATCH_RELOAD_DEFAULTS.stopOnExit),
    killGraceMs: nxKillGraceMs(ctx.env),
    holdRequests: flag('holdRequests', options.holdRequests, WATCH_RELOAD_DEFAULTS.holdRequests),
    holdTimeoutMs: Math.round(holdTimeout * 1000),
    maxHeldConnections,
    keepImages,
    liveUpdate,
    verbose: flag('verbose', options.verbose, WATCH_RELOAD_DEFAULTS.verbose) || ctx.env?.NX_VERBOSE_LOGGING === 'true',
    logFormat,
    statusPort,
  });
}

/** Nx's grace period between the stop signal and SIGKILL (NX_PROCESS_KILL_GRACE_PERIOD, ms; 5000 when unset or not a number). */
function nxKillGraceMs(env: NodeJS.ProcessEnv | undefined): number {
  const value = Number(env?.NX_PROCESS_KILL_GRACE_PERIOD);
  return Number.isFinite(value) && value > 0 ? value : 5000;
}

/** `statusPort`: a port, 0 or nothing for any free one, false (or "false", from the command line) for none. */
function parseStatusPort(value: unknown): number | false {
  if (value === undefined || value === true || value === 'true') return 0;
  if (value === false || value === 'false') return false;
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new WatchReloadOptionsError('statusPort', value, 'Expected a port number from 1 to 65535, 0 for any free port, or false for no status page.');
  }
  return port;
}
