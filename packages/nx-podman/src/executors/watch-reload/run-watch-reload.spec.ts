// Why this file is long: one harness drives the whole watch lifecycle through fake ports; each describe is one semantic of docs/watch-reload.md.
import { join } from 'node:path';
import { createLogger } from '../../adapters/logger';
import type { WorkspaceGraph, WorkspaceProject } from '../../core/workspace-graph';
import { FakeClock } from '../../testing/fake-clock';
import { normalizeWatchReloadOptions } from './normalize-options';
import { runWatchReload, type StartStatusPage, type WatchBuildOutcome, type WatchRunOutcome, type WatchTargets } from './run-watch-reload';
import type { WatchReloadExecutorSchema } from './schema';
import type { FileWatcher, FileWatcherOptions } from '../../core/ports';

const ROOT = '/ws';
const BUILD = { executor: '@prism/nx-podman:podman-build' };
const plugin = (name: string, extra: Partial<WorkspaceProject> = {}): WorkspaceProject => ({
  name,
  root: `plugins/${name}`,
  tags: ['plugin'],
  targets: { 'podman-build': BUILD, 'podman-run': { executor: '@prism/nx-podman:podman-run' } },
  ...extra,
});

function workspace(): WorkspaceGraph {
  return {
    projects: {
      core: { name: 'core', root: 'plugins/core', tags: ['lib'], targets: {} },
      postgres: plugin('postgres'),
      kafka: plugin('kafka'),
      redis: plugin('redis'),
    },
    dependencies: { postgres: ['core'], kafka: ['core'], redis: ['core'], core: [] },
    namedInputs: {},
  };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Fake ports: a watcher the test fires events into, targets whose builds end when the test says so. */
function harness(
  schema: WatchReloadExecutorSchema,
  opts: {
    graphs?: (WorkspaceGraph | Error)[];
    verbose?: boolean;
    files?: Record<string, string>;
    autoFinish?: boolean;
    statusError?: Error;
    /** An aborted build ends only when the test resolves it (podman takes seconds to end one). */
    slowAbort?: boolean;
  } = {},
) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const logger = createLogger({
    verbose: opts.verbose ?? true,
    stream: { write: (chunk: string) => (lines.push(...chunk.split('\n').filter(Boolean)), true) } as never,
  });
  const graphs = opts.graphs ?? [workspace()];
  let graphReads = 0;
  const builds: { project: string; quiet: boolean; signal: AbortSignal; result: Deferred<WatchBuildOutcome> }[] = [];
  const runs: { project: string; imageId: string | undefined; result: Deferred<WatchRunOutcome> }[] = [];
  const stopped: string[] = [];
  let imageCounter = 0;
  const targets: WatchTargets = {
    describeBuild: async (project) => ({ file: `plugins/${project}/Containerfile`, context: 'plugins' }),
    build: (project, { signal, quiet }) => {
      const result = deferred<WatchBuildOutcome>();
      builds.push({ project, quiet, signal, result });
      if (!opts.slowAbort) signal.addEventListener('abort', () => result.resolve({ status: 'aborted' }));
      if (opts.autoFinish) result.resolve({ status: 'built', imageId: `sha256:${project}-${++imageCounter}`, durationMs: 10 });
      return result.promise;
    },
    run: (project, { imageId }) => {
      const result = deferred<WatchRunOutcome>();
      runs.push({ project, imageId, result });
      if (opts.autoFinish) result.resolve({ status: 'healthy', imageId: imageId ?? 'recorded' });
      return result.promise;
    },
    prune: async () => undefined,
    stop: async (project) => {
      stopped.push(project);
    },
  };
  let watcherOptions: FileWatcherOptions | undefined;
  let closed = 0;
  const added: string[][] = [];
  const readyGate = deferred<void>();
  const createWatcher = (options: FileWatcherOptions): FileWatcher => {
    watcherOptions = options;
    return { ready: readyGate.promise, polling: options.usePolling === true, add: (paths) => added.push([...paths]), close: async () => void closed++ };
  };
  const controller = new AbortController();
  const files = opts.files ?? {};
  let status: Parameters<StartStatusPage>[0] | undefined;
  let statusClosed = 0;
  const options = normalizeWatchReloadOptions(schema, { projectName: 'postgres', env: {} });
  const done = runWatchReload(options, {
    workspaceRoot: ROOT,
    graph: {
      read: async () => {
        const next = graphs[Math.min(graphReads++, graphs.length - 1)];
        if (next instanceof Error) throw next;
        return next;
      },
    },
    targets,
    createWatcher,
    clock,
    logger,
    readFile: async (path) => files[path],
    signal: controller.signal,
    startStatusPage: async (deps) => {
      status = deps;
      if (opts.statusError) throw opts.statusError;
      return { url: 'http://127.0.0.1:4000/?token=t0k', close: async () => void statusClosed++ };
    },
  });
  return {
    clock,
    lines,
    builds,
    runs,
    stopped,
    added,
    get graphReads() {
      return graphReads;
    },
    get closed() {
      return closed;
    },
    get status() {
      return status!;
    },
    get statusClosed() {
      return statusClosed;
    },
    get watcher() {
      return watcherOptions!;
    },
    async start() {
      await flush();
      readyGate.resolve();
      await flush();
    },
    change(path: string, op: 'add' | 'change' | 'unlink' | 'addDir' | 'unlinkDir' = 'change') {
      watcherOptions!.onEvent({ op, path: join(ROOT, path) });
    },
    async advance(ms: number) {
      clock.advance(ms);
      await flush();
    },
    async stop() {
      controller.abort();
      await flush();
      return done;
    },
    done,
    info: () => lines.filter((line) => !line.startsWith('DEBUG')),
  };
}

describe('runWatchReload: startup', () => {
  it('watches the selected project and what it depends on, from their parent directory, and says when ready', async () => {
    const h = harness({});
    await h.start();
    expect(h.lines[0]).toBe(
      'DEBUG options projects=postgres debounce=1000 maxWait=10000 concurrency=2 onBusyUpdate=queue stage=production build=true reload=false ignore=**/*_test.go,**/testdata/**',
    );
    expect(h.lines.slice(1)).toEqual([
      'INFO watching plugin plugin=core path=plugins/core',
      'INFO watching plugin plugin=postgres path=plugins/postgres',
      'INFO status page url=http://127.0.0.1:4000/?token=t0k',
      'INFO watcher ready projects=2 debounce=1000ms',
    ]);
    expect(h.watcher.paths).toEqual([join(ROOT, 'plugins')]);
    expect(h.watcher.usePolling).toBe(false);
    expect(h.watcher.ignored!(join(ROOT, 'plugins/postgres/node_modules'))).toBe(true);
    expect(h.watcher.ignored!(join(ROOT, 'plugins/postgres/main.go'))).toBe(false);
    await h.stop();
  });

  it('fails with a clear message for an unknown project name', async () => {
    const h = harness({ projects: ['postgre'] });
    await expect(h.done).resolves.toEqual({ success: false });
    expect(h.lines[1]).toContain('Invalid watch-reload option "projects": no project named "postgre". Known projects: core, kafka, postgres, redis.');
  });

  it('fails when no selected project has the build target', async () => {
    const h = harness({ projects: ['core'] });
    await expect(h.done).resolves.toEqual({ success: false });
    expect(h.lines.join('\n')).toContain('none of the selected projects (core) has a "podman-build" target (option "buildTarget")');
  });

  it('initialBuild builds (and reloads) every selected project once at start', async () => {
    const h = harness({ projects: ['tag:plugin'], initialBuild: true, reload: true, concurrency: 3, debounce: 0 }, { autoFinish: true });
    await h.start();
    expect(h.builds.map((b) => b.project)).toEqual(['kafka', 'postgres', 'redis']);
    expect(h.runs.map((r) => r.project)).toEqual(['kafka', 'postgres', 'redis']);
    await h.stop();
  });
});

describe('runWatchReload: what a change builds (semantics 1, 2, 5)', () => {
  it('a plugin file builds only that plugin after the debounce, then reloads exactly the image built', async () => {
    const h = harness({ projects: ['tag:plugin'], reload: true });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(999);
    expect(h.builds).toHaveLength(0);
    await h.advance(1);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    expect(h.lines).toContain('DEBUG file changed file=plugins/postgres/main.go plugin=postgres op=change');
    expect(h.lines).toContain('INFO detected changes plugin=postgres files=1');
    h.builds[0].result.resolve({ status: 'built', imageId: 'sha256:abc', durationMs: 5 });
    await flush();
    expect(h.runs.map((r) => [r.project, r.imageId])).toEqual([['postgres', 'sha256:abc']]);
    h.runs[0].result.resolve({ status: 'healthy', imageId: 'sha256:abc' });
    await h.stop();
  });

  it('a core change rebuilds and restarts each dependent once, never core; core + postgres in one window builds postgres once', async () => {
    const h = harness({ projects: ['tag:plugin'], reload: true, concurrency: 3 }, { autoFinish: true });
    await h.start();
    h.change('plugins/core/core.go');
    await h.advance(300);
    h.change('plugins/postgres/main.go');
    h.change('plugins/core/util.go');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project).sort()).toEqual(['kafka', 'postgres', 'redis']);
    expect(h.runs.map((r) => r.project).sort()).toEqual(['kafka', 'postgres', 'redis']);
    expect(h.lines).toContain('INFO detected changes plugin=postgres files=3');
    await h.stop();
  });

  it('only the target project (and its dependencies) is watched by default', async () => {
    const h = harness({}, { autoFinish: true });
    await h.start();
    h.change('plugins/kafka/main.go');
    h.change('plugins/core/core.go');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    await h.stop();
  });

  it('deletions count; tests, docs, temp files and files outside projects do not', async () => {
    const h = harness({}, { autoFinish: true });
    await h.start();
    for (const path of [
      'plugins/postgres/main_test.go',
      'plugins/postgres/README.md',
      'plugins/postgres/.main.go.swp',
      'plugins/x.go',
      'plugins/postgres/sub',
      'plugins/postgres/foo.mod',
    ]) {
      h.change(path);
    }
    await h.advance(5000);
    expect(h.builds).toHaveLength(0);
    expect(h.lines).toContain('DEBUG file ignored: not a build input file=plugins/postgres/main_test.go plugin=postgres op=change');
    h.change('plugins/postgres/old.go', 'unlink');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    await h.stop();
  });

  it('files the Containerfile copies from the project trigger; .containerignore exclusions do not', async () => {
    const h = harness(
      {},
      {
        autoFinish: true,
        files: {
          'plugins/postgres/Containerfile': 'FROM scratch\nCOPY core/*.go core/\nCOPY postgres/*.go postgres/\nCOPY postgres/config.yaml /etc/plugin/\n',
          'plugins/.containerignore': 'postgres/local.go\n',
        },
      },
    );
    await h.start();
    h.change('plugins/postgres/local.go');
    h.change('plugins/postgres/notes.txt');
    await h.advance(2000);
    expect(h.builds).toHaveLength(0);
    h.change('plugins/postgres/config.yaml');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    await h.stop();
  });

  it('a COPY of the whole project makes every file it copies trigger (as it changes the image), except ignored ones', async () => {
    const h = harness(
      {},
      {
        autoFinish: true,
        files: {
          // several sources in one COPY, JSON form after a flag
          'plugins/postgres/Containerfile': 'FROM scratch\nCOPY --chown=65532 ["core/", "postgres/", "/src/"]\n',
          'plugins/.containerignore': '**/*.md\n',
        },
      },
    );
    await h.start();
    h.change('plugins/postgres/README.md');
    await h.advance(2000);
    expect(h.builds).toHaveLength(0);
    h.change('plugins/postgres/notes.txt');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    await h.stop();
  });

  it('the include/ignore options replace the defaults', async () => {
    const h = harness({ include: ['**/*.go', '**/*.tmpl'], ignore: [] }, { autoFinish: true });
    await h.start();
    h.change('plugins/postgres/main_test.go');
    await h.advance(1000);
    h.change('plugins/postgres/page.tmpl');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres', 'postgres']);
    await h.stop();
  });

  it('build: false only logs', async () => {
    const h = harness({ build: false });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    expect(h.builds).toHaveLength(0);
    expect(h.lines).toContain('INFO build disabled; would build plugin=postgres stage=production');
    await h.stop();
  });
});

describe('runWatchReload: busy projects and failures (semantics 3, 4)', () => {
  it('a change during a build gives one follow-up build; no two builds of one project at once', async () => {
    const h = harness({});
    await h.start();
    h.change('plugins/postgres/a.go');
    await h.advance(1000);
    h.change('plugins/postgres/b.go');
    await h.advance(1000);
    h.change('plugins/postgres/c.go');
    await h.advance(1000);
    expect(h.builds).toHaveLength(1);
    h.builds[0].result.resolve({ status: 'built', imageId: 'sha256:1', durationMs: 1 });
    await flush();
    expect(h.builds).toHaveLength(2);
    h.builds[1].result.resolve({ status: 'built', imageId: 'sha256:2', durationMs: 1 });
    await flush();
    expect(h.builds).toHaveLength(2);
    await h.stop();
  });

  it('restart aborts the stale build and builds again once debounced', async () => {
    const h = harness({ onBusyUpdate: 'restart' });
    await h.start();
    h.change('plugins/postgres/a.go');
    await h.advance(1000);
    h.change('plugins/postgres/b.go');
    await flush();
    expect(h.builds[0].signal.aborted).toBe(true);
    expect(h.lines).toContain('INFO restarting build: inputs changed plugin=postgres');
    await h.advance(1000);
    expect(h.builds).toHaveLength(2);
    await h.stop();
  });

  it('a failed build prints the output tail, does not reload, keeps watching, and the next change retries', async () => {
    const h = harness({ reload: true }, { verbose: false });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    expect(h.builds[0].quiet).toBe(true);
    h.builds[0].result.resolve({ status: 'failed', exitCode: 1, message: 'podman build failed', outputTail: './main.go:3:1: syntax error' });
    await flush();
    expect(h.runs).toHaveLength(0);
    expect(h.lines).toContain('./main.go:3:1: syntax error');
    expect(h.lines).toContain('INFO keeping the running container plugin=postgres');
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    expect(h.builds).toHaveLength(2);
    h.builds[1].result.resolve({ status: 'built', imageId: 'sha256:fixed', durationMs: 1 });
    await flush();
    expect(h.runs.map((r) => r.imageId)).toEqual(['sha256:fixed']);
    h.runs[0].result.resolve({ status: 'healthy', imageId: 'sha256:fixed' });
    await h.stop();
  });

  it('a failed reload is logged and the next change tries again', async () => {
    const h = harness({ reload: true });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    h.builds[0].result.resolve({ status: 'built', imageId: 'sha256:a', durationMs: 1 });
    await flush();
    h.runs[0].result.resolve({ status: 'failed', message: 'not healthy after 30s' });
    await flush();
    expect(h.lines).toContain('ERROR reload failed plugin=postgres reason="not healthy after 30s"');
    await h.stop();
  });

  it('an up-to-date image the container already runs is not reloaded again (semantic 7)', async () => {
    const h = harness({ reload: true });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    h.builds[0].result.resolve({ status: 'built', imageId: 'sha256:a', durationMs: 1 });
    await flush();
    h.runs[0].result.resolve({ status: 'healthy', imageId: 'sha256:a' });
    await flush();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    h.builds[1].result.resolve({ status: 'up-to-date', imageId: 'sha256:a' });
    await flush();
    expect(h.runs).toHaveLength(1);
    expect(h.lines).toContain('INFO container already runs this image plugin=postgres');
    await h.stop();
  });

  it('a change during a reload does not abort it, even with restart; the follow-up build comes after', async () => {
    const h = harness({ reload: true, onBusyUpdate: 'restart' });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    h.builds[0].result.resolve({ status: 'built', imageId: 'sha256:a', durationMs: 1 });
    await flush();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    expect(h.builds).toHaveLength(1);
    h.runs[0].result.resolve({ status: 'healthy', imageId: 'sha256:a' });
    await flush();
    expect(h.builds).toHaveLength(2);
    await h.stop();
  });
});

describe('runWatchReload: graph changes (semantic 6)', () => {
  it('a new project is picked up after a graph refresh, logged and built', async () => {
    const withNew = workspace();
    const graph2: WorkspaceGraph = {
      ...withNew,
      projects: { ...withNew.projects, mysql: plugin('mysql', { root: 'plugins/mysql' }) },
      dependencies: { ...withNew.dependencies, mysql: ['core'] },
    };
    const h = harness({ projects: ['tag:plugin'] }, { graphs: [workspace(), graph2], autoFinish: true });
    await h.start();
    h.change('plugins/mysql', 'addDir');
    h.change('plugins/mysql/go.mod', 'add');
    h.change('plugins/mysql/main.go', 'add');
    h.change('plugins/mysql/Containerfile', 'add');
    await h.advance(300);
    expect(h.graphReads).toBe(2);
    expect(h.lines).toContain('INFO project added plugin=mysql path=plugins/mysql');
    expect(h.lines).toContain('INFO watching plugin plugin=mysql path=plugins/mysql');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['mysql']);
    // From now on its files count.
    h.change('plugins/mysql/main.go');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['mysql', 'mysql']);
    await h.stop();
  });

  it('a failing graph refresh keeps the previous graph', async () => {
    const h = harness({}, { graphs: [workspace(), new Error('Cannot parse plugins/postgres/project.json'), workspace()], autoFinish: true });
    await h.start();
    h.change('plugins/postgres/project.json');
    await h.advance(300);
    expect(h.graphReads).toBe(2);
    expect(h.lines).toContain('WARN project graph refresh failed; keeping the previous graph reason="Cannot parse plugins/postgres/project.json"');
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    await h.stop();
  });
});

describe('runWatchReload: shutdown (semantic 8) and watcher fallback (semantic 9)', () => {
  it('on stop: cancels the timer, aborts running builds, waits for them, closes the watcher', async () => {
    const h = harness({ projects: ['tag:plugin'] });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    h.change('plugins/kafka/main.go');
    await expect(h.stop()).resolves.toEqual({ success: true });
    expect(h.builds.map((b) => [b.project, b.signal.aborted])).toEqual([['postgres', true]]);
    expect(h.closed).toBe(1);
    expect(h.clock.pendingTimers).toBe(0);
    expect(h.info().slice(-2)).toEqual(['INFO stopping builds=1', 'INFO stopped']);
    await h.advance(10_000);
    expect(h.builds).toHaveLength(1);
  });

  it('stopOnExit stops the containers of the selected projects', async () => {
    const h = harness({ projects: ['tag:plugin'], reload: true, stopOnExit: true });
    await h.start();
    await h.stop();
    expect(h.stopped).toEqual(['kafka', 'postgres', 'redis']);
  });

  it('at exit each container is released as soon as its own job has ended, not after every job', async () => {
    const h = harness({ projects: ['tag:plugin'], reload: true, stopOnExit: true });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    h.builds[0]!.result.resolve({ status: 'built', imageId: 'sha256:abc', durationMs: 5 });
    await flush();
    expect(h.runs.map((r) => r.project)).toEqual(['postgres']); // replacing postgres's container
    const stopping = h.stop();
    await flush();
    expect(h.stopped).toEqual(['kafka', 'redis']);
    h.runs[0]!.result.resolve({ status: 'failed', message: 'aborted', aborted: true });
    await expect(stopping).resolves.toEqual({ success: true });
    expect(h.stopped).toEqual(['kafka', 'redis', 'postgres']);
  });

  it("at exit a job still building its image does not hold its container's release up: the aborted build ends meanwhile", async () => {
    const h = harness({ projects: ['tag:plugin'], reload: true, stopOnExit: true }, { slowAbort: true });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    const stopping = h.stop();
    await flush();
    expect(h.builds[0]!.signal.aborted).toBe(true);
    expect(h.stopped).toEqual(['kafka', 'postgres', 'redis']);
    h.builds[0]!.result.resolve({ status: 'aborted' });
    await expect(stopping).resolves.toEqual({ success: true });
    expect(h.runs).toEqual([]);
  });

  it('containers keep running by default', async () => {
    const h = harness({ reload: true });
    await h.start();
    await h.stop();
    expect(h.stopped).toEqual([]);
  });

  it('falls back to polling with the sysctl fix in the message, and rebuilds everything when it happens after ready', async () => {
    const h = harness({ usePolling: false }, { autoFinish: true });
    await h.start();
    h.watcher.onFallbackToPolling!(Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' }));
    expect(h.lines.find((line) => line.startsWith('ERROR file watcher limit reached'))).toContain('fs.inotify.max_user_watches=');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    await h.stop();
  });

  it('usePolling is passed to the watcher', async () => {
    const h = harness({ usePolling: true });
    await h.start();
    expect(h.watcher.usePolling).toBe(true);
    await h.stop();
  });
});

describe('runWatchReload: the status page', () => {
  const state = (h: ReturnType<typeof harness>, project: string) => h.status.state.snapshot().projects.find((p) => p.name === project)!;

  it('prints its URL, shows the buildable projects, follows a change through pending, building and reloading to healthy, and closes on stop', async () => {
    const h = harness({ projects: ['tag:plugin'], reload: true });
    await h.start();
    expect(h.lines).toContain('INFO status page url=http://127.0.0.1:4000/?token=t0k');
    expect(h.status.port).toBe(0);
    expect(h.status.state.snapshot().projects.map((p) => [p.name, p.state])).toEqual([
      ['kafka', 'idle'],
      ['postgres', 'idle'],
      ['redis', 'idle'],
    ]);
    h.change('plugins/postgres/main.go');
    expect(state(h, 'postgres')).toMatchObject({ state: 'pending', pendingFiles: ['plugins/postgres/main.go'], pendingUntil: h.clock.now() + 1000 });
    await h.advance(1000);
    expect(state(h, 'postgres')).toMatchObject({ state: 'building', pendingFiles: [], current: { files: ['plugins/postgres/main.go'], phase: 'build' } });
    await h.advance(2000);
    h.builds[0].result.resolve({ status: 'built', imageId: 'sha256:abc', durationMs: 2000 });
    await flush();
    expect(state(h, 'postgres').state).toBe('reloading');
    await h.advance(500);
    h.runs[0].result.resolve({ status: 'healthy', imageId: 'sha256:abc' });
    await flush();
    const postgres = state(h, 'postgres');
    expect(postgres).toMatchObject({ state: 'healthy', imageId: 'sha256:abc', current: undefined });
    expect(postgres.history[0]).toMatchObject({
      files: ['plugins/postgres/main.go'],
      path: 'full',
      result: 'succeeded',
      healthy: true,
      buildMs: 2000,
      reloadMs: 500,
      saveToHealthyMs: 3500,
    });
    await h.stop();
    expect(h.statusClosed).toBe(1);
  });

  it('a failed build shows its output and keeps the failure on the page', async () => {
    const h = harness({ reload: true });
    await h.start();
    h.change('plugins/postgres/main.go');
    await h.advance(1000);
    h.builds[0].result.resolve({ status: 'failed', exitCode: 1, message: 'podman build exited with 1', outputTail: './main.go:3:1: syntax error' });
    await flush();
    expect(state(h, 'postgres')).toMatchObject({
      state: 'failed',
      history: [{ result: 'failed', failure: { step: 'build', message: 'podman build exited with 1', output: './main.go:3:1: syntax error' } }],
    });
    await h.stop();
  });

  it('"build now" skips the debounce for that project only; with nothing pending it builds with the reason', async () => {
    const h = harness({ projects: ['tag:plugin'] }, { autoFinish: true });
    await h.start();
    h.change('plugins/postgres/main.go');
    h.change('plugins/kafka/main.go');
    h.status.actions.build('postgres');
    await flush();
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    expect(state(h, 'kafka').state).toBe('pending');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project)).toEqual(['postgres', 'kafka']);
    h.status.actions.build('redis');
    await flush();
    expect(h.builds.map((b) => b.project)).toEqual(['postgres', 'kafka', 'redis']);
    expect(h.lines).toContain('INFO build requested on the status page plugin=redis');
    expect(state(h, 'redis').history[0]).toMatchObject({ files: [], reason: 'build requested on the status page' });
    await h.stop();
  });

  it("pause holds a project's changes (nothing is dropped) and resume builds them; other projects go on", async () => {
    const h = harness({ projects: ['tag:plugin'] }, { autoFinish: true });
    await h.start();
    h.status.actions.pause('postgres');
    h.change('plugins/postgres/main.go');
    h.change('plugins/core/core.go');
    await h.advance(1000);
    expect(h.builds.map((b) => b.project).sort()).toEqual(['kafka', 'redis']);
    expect(state(h, 'postgres')).toMatchObject({ paused: true, heldFiles: ['plugins/postgres/main.go', 'plugins/core/core.go'], state: 'idle' });
    h.status.actions.resume('postgres');
    expect(h.lines).toContain('INFO resumed watching plugin=postgres held=2');
    expect(state(h, 'postgres')).toMatchObject({ paused: false, heldFiles: [], state: 'pending' });
    await h.advance(1000);
    expect(h.builds.map((b) => b.project).sort()).toEqual(['kafka', 'postgres', 'redis']);
    await h.stop();
  });

  it('a page that cannot listen stops the watcher at start with its message; statusPort=false starts none', async () => {
    const h = harness({}, { statusError: new Error('Invalid watch-reload option "statusPort": 9400. The status page cannot listen on 127.0.0.1:9400') });
    await expect(h.done).resolves.toEqual({ success: false });
    expect(h.lines).toContain('ERROR Invalid watch-reload option "statusPort": 9400. The status page cannot listen on 127.0.0.1:9400');
    expect(h.closed).toBe(1);
    const off = harness({ statusPort: false });
    await off.start();
    expect(off.lines.some((line) => line.includes('status page'))).toBe(false);
    await off.stop();
  });

  it('"full rebuild" builds the image even when live update is on', async () => {
    const h = harness({ reload: true }, { autoFinish: true });
    await h.start();
    h.status.actions.rebuild('postgres');
    await flush();
    expect(h.builds.map((b) => b.project)).toEqual(['postgres']);
    expect(state(h, 'postgres').history[0]).toMatchObject({ reason: 'full rebuild requested on the status page', path: 'full', healthy: true });
    await h.stop();
  });
});
