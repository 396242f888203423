import { EventEmitter } from 'node:events';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { watch as chokidarWatch } from 'chokidar';
import { isAlwaysExcluded } from '../core/file-filter';
import { createTempDir } from '../testing/temp-dir';
import { createChokidarWatcher, isWatchLimitError, type ChokidarLike } from './chokidar-watcher';
import type { FileWatcher, WatchEvent } from '../core/ports';

describe('chokidar watcher on a real temp dir', () => {
  let temp: ReturnType<typeof createTempDir>;
  let watcher: FileWatcher | undefined;
  let events: WatchEvent[];
  let root: string;

  beforeEach(() => {
    temp = createTempDir('nxp-watch-');
    root = join(temp.path, 'ws');
    mkdirSync(join(root, 'plugins/postgres'), { recursive: true });
    writeFileSync(join(root, 'plugins/postgres/main.go'), 'package main\n');
    events = [];
  });

  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    temp.cleanup();
  });

  const start = async (usePolling = false) => {
    watcher = createChokidarWatcher({
      paths: [join(root, 'plugins')],
      usePolling,
      pollIntervalMs: 100,
      ignored: (path) => isAlwaysExcluded(relative(root, path)),
      onEvent: (event) => events.push({ op: event.op, path: relative(root, event.path) }),
      onError: (error) => {
        throw error;
      },
    });
    await watcher.ready;
  };

  /** Waits until every expected event has been seen (order-free), polling the event list. */
  const waitForEvents = async (expected: WatchEvent[], timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    const missing = () => expected.filter((e) => !events.some((seen) => seen.op === e.op && seen.path === e.path));
    while (missing().length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    expect({ missing: missing(), events }).toEqual({ missing: [], events });
  };
  /** Gives the watcher time to report something it should not (there is no event to wait for). */
  const settle = (ms = 800) => new Promise((resolve) => setTimeout(resolve, ms));

  it.each([false, true])('reports changes, new files, deletions and renames (polling=%s)', async (polling) => {
    await start(polling);
    writeFileSync(join(root, 'plugins/postgres/main.go'), 'package main // v2\n');
    await waitForEvents([{ op: 'change', path: 'plugins/postgres/main.go' }]);
    writeFileSync(join(root, 'plugins/postgres/db.go'), 'package main\n');
    await waitForEvents([{ op: 'add', path: 'plugins/postgres/db.go' }]);
    renameSync(join(root, 'plugins/postgres/db.go'), join(root, 'plugins/postgres/store.go'));
    await waitForEvents([
      { op: 'unlink', path: 'plugins/postgres/db.go' },
      { op: 'add', path: 'plugins/postgres/store.go' },
    ]);
    rmSync(join(root, 'plugins/postgres/store.go'));
    await waitForEvents([{ op: 'unlink', path: 'plugins/postgres/store.go' }]);
  });

  it('sees files in a new directory created right after the directory, at any depth', async () => {
    await start();
    mkdirSync(join(root, 'plugins/kafka/internal/broker'), { recursive: true });
    writeFileSync(join(root, 'plugins/kafka/go.mod'), 'module prism/kafka\n');
    writeFileSync(join(root, 'plugins/kafka/internal/broker/broker.go'), 'package broker\n');
    await waitForEvents([
      { op: 'add', path: 'plugins/kafka/go.mod' },
      { op: 'add', path: 'plugins/kafka/internal/broker/broker.go' },
    ]);
    // And the new directory is watched from now on.
    writeFileSync(join(root, 'plugins/kafka/internal/broker/broker.go'), 'package broker // v2\n');
    await waitForEvents([{ op: 'change', path: 'plugins/kafka/internal/broker/broker.go' }]);
  });

  it('sees every file of a directory moved in from outside, and its removal', async () => {
    await start();
    mkdirSync(join(temp.path, 'outside/redis/cmd'), { recursive: true });
    writeFileSync(join(temp.path, 'outside/redis/go.mod'), 'module prism/redis\n');
    writeFileSync(join(temp.path, 'outside/redis/cmd/main.go'), 'package main\n');
    renameSync(join(temp.path, 'outside/redis'), join(root, 'plugins/redis'));
    await waitForEvents([
      { op: 'add', path: 'plugins/redis/go.mod' },
      { op: 'add', path: 'plugins/redis/cmd/main.go' },
    ]);
    rmSync(join(root, 'plugins/redis'), { recursive: true });
    await waitForEvents([
      { op: 'unlink', path: 'plugins/redis/cmd/main.go' },
      { op: 'unlinkDir', path: 'plugins/redis' },
    ]);
  });

  it('never reports always-excluded paths or editor temp files', async () => {
    await start();
    mkdirSync(join(root, 'plugins/postgres/node_modules/x'), { recursive: true });
    writeFileSync(join(root, 'plugins/postgres/node_modules/x/index.js'), '');
    mkdirSync(join(root, 'plugins/postgres/.git'), { recursive: true });
    writeFileSync(join(root, 'plugins/postgres/.git/index'), '');
    writeFileSync(join(root, 'plugins/postgres/.main.go.swp'), '');
    writeFileSync(join(root, 'plugins/postgres/4913'), '');
    writeFileSync(join(root, 'plugins/postgres/main.go~'), '');
    writeFileSync(join(root, 'plugins/postgres/main.go-go-tmp-umask'), '');
    writeFileSync(join(root, 'plugins/postgres/marker.go'), '');
    await waitForEvents([{ op: 'add', path: 'plugins/postgres/marker.go' }]);
    await settle();
    expect(events.filter((e) => e.op !== 'addDir' || !e.path.endsWith('postgres'))).toEqual([{ op: 'add', path: 'plugins/postgres/marker.go' }]);
  });

  it('watches paths added later', async () => {
    mkdirSync(join(root, 'libs/extra'), { recursive: true });
    await start();
    watcher!.add([join(root, 'libs/extra')]);
    await settle(300);
    writeFileSync(join(root, 'libs/extra/x.go'), 'package extra\n');
    await waitForEvents([{ op: 'add', path: 'libs/extra/x.go' }]);
  });

  it('falls back to polling on an inotify limit error and still reports changes', async () => {
    const fallbacks: Error[] = [];
    // The first (native) watcher fails like Linux does when fs.inotify.max_user_watches is exhausted; the polling one is real chokidar.
    const watch = (paths: string[], options: Parameters<typeof chokidarWatch>[1]): ChokidarLike => {
      if (options?.usePolling) return chokidarWatch(paths, options);
      const failing = Object.assign(new EventEmitter(), { add: () => undefined, close: async () => undefined });
      setTimeout(
        () => failing.emit('error', Object.assign(new Error('ENOSPC: System limit for number of file watchers reached, watch'), { code: 'ENOSPC' })),
        10,
      );
      return failing as unknown as ChokidarLike;
    };
    watcher = createChokidarWatcher(
      {
        paths: [join(root, 'plugins')],
        pollIntervalMs: 100,
        onEvent: (event) => events.push({ op: event.op, path: relative(root, event.path) }),
        onError: (error) => {
          throw error;
        },
        onFallbackToPolling: (cause) => fallbacks.push(cause),
      },
      watch,
    );
    await watcher.ready;
    expect(fallbacks.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOSPC']);
    expect(watcher.polling).toBe(true);
    writeFileSync(join(root, 'plugins/postgres/main.go'), 'package main // polled\n');
    await waitForEvents([{ op: 'change', path: 'plugins/postgres/main.go' }]);
  });

  it('close is idempotent', async () => {
    await start();
    await Promise.all([watcher!.close(), watcher!.close()]);
    await watcher!.close();
  });
});

describe('isWatchLimitError', () => {
  it.each([
    [{ code: 'ENOSPC', message: 'x' }, true],
    [{ code: 'EMFILE', message: 'x' }, true],
    [{ message: 'System limit for number of file watchers reached' }, true],
    [{ code: 'EACCES', message: 'permission denied' }, false],
  ])('%j → %s', (error, expected) => {
    expect(isWatchLimitError(error)).toBe(expected);
  });
});
