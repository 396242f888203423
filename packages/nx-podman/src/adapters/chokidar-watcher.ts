import { watch as chokidarWatch, type ChokidarOptions } from 'chokidar';
import type { FileWatcher, FileWatcherOptions, WatchOp } from '../core/ports';

export { INOTIFY_LIMIT_FIX } from '../core/errors';

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
