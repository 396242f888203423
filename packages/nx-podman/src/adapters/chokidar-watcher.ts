import { watch as chokidarWatch, type ChokidarOptions } from 'chokidar';

/** What happened to a path. Moves arrive as `unlink` + `add` (or `unlinkDir` + `addDir` + one `add` per file). */
export type WatchOp = 'add' | 'change' | 'unlink' | 'addDir' | 'unlinkDir';

/** One file system event; `path` is absolute. */
export interface WatchEvent {
  op: WatchOp;
  path: string;
}

/** Options of {@link createChokidarWatcher}. */
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

/** The fix printed when the inotify watch limit is reached. */
export const INOTIFY_LIMIT_FIX =
  'raise the inotify limits: sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 ' +
  '(persist them in /etc/sysctl.d/90-inotify.conf), or set "usePolling": true';

/** True for the errors of an exhausted inotify watch/instance limit or file descriptor table. */
export function isWatchLimitError(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException | undefined;
  return e?.code === 'ENOSPC' || e?.code === 'EMFILE' || /file watchers|inotify/i.test(e?.message ?? '');
}

/** The subset of chokidar's watcher this adapter uses; a parameter so the fallback can be tested. */
export interface ChokidarLike {
  on(event: 'all', listener: (event: string, path: string) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  add(paths: string | string[]): unknown;
  close(): Promise<void>;
}

const OPS = new Set<string>(['add', 'change', 'unlink', 'addDir', 'unlinkDir']);

/**
 * The real {@link FileWatcher} over chokidar 5. On an inotify limit error it tells the caller (with
 * {@link INOTIFY_LIMIT_FIX} to print), closes the native watcher and starts over in polling mode on every path.
 */
export function createChokidarWatcher(
  options: FileWatcherOptions,
  watch: (paths: string[], options: ChokidarOptions) => ChokidarLike = chokidarWatch,
): FileWatcher {
  const paths = [...options.paths];
  let polling = options.usePolling === true;
  let closed = false;
  let current: ChokidarLike | undefined;
  let resolveReady!: () => void;
  let readyDone = false;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  let closing: Promise<void> | undefined;
  let settleTimer: NodeJS.Timeout | undefined;
  const interval = options.pollIntervalMs ?? 300;

  const start = () => {
    const ignored = options.ignored;
    const watcher = watch([...paths], {
      ignoreInitial: true,
      persistent: true,
      usePolling: polling,
      interval,
      binaryInterval: interval,
      // chokidar folds an unlink + add within 100 ms (editors' atomic saves) into one change.
      atomic: true,
      ignored: ignored ? (path: string) => ignored(path) : undefined,
    });
    current = watcher;
    watcher.on('all', (event, path) => {
      if (!closed && current === watcher && OPS.has(event)) options.onEvent({ op: event as WatchOp, path });
    });
    watcher.on('ready', () => {
      if (current !== watcher || readyDone) return;
      const markReady = () => {
        settleTimer = undefined;
        if (current !== watcher || readyDone) return;
        readyDone = true;
        resolveReady();
      };
      // Polling compares each file with a first stat taken asynchronously after chokidar's ready: a write before that
      // baseline would go unseen. Two intervals later every baseline exists, so "ready" means nothing is missed.
      if (polling) settleTimer = setTimeout(markReady, 2 * interval);
      else markReady();
    });
    watcher.on('error', (error) => {
      if (closed || current !== watcher) return;
      if (!polling && isWatchLimitError(error)) {
        polling = true;
        current = undefined;
        void watcher.close().catch(() => undefined);
        options.onFallbackToPolling?.(error as Error);
        start();
        return;
      }
      options.onError(error instanceof Error ? error : new Error(String(error)));
    });
  };
  start();

  return {
    ready,
    get polling() {
      return polling;
    },
    add(more) {
      const fresh = more.filter((path) => !paths.includes(path));
      if (!fresh.length || closed) return;
      paths.push(...fresh);
      current?.add(fresh);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        if (settleTimer) clearTimeout(settleTimer);
        const watcher = current;
        current = undefined;
        if (!readyDone) {
          readyDone = true;
          resolveReady();
        }
        await watcher?.close();
      })();
      return closing;
    },
  };
}
