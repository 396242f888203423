import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { createLogger } from '../../adapters/logger';
import type { PodmanConnection } from '../../core/podman-version';
import type { GitReader } from '../../core/ports';
import { FakeClock } from '../../testing/fake-clock';
import { FakeEngine } from '../../testing/fake-engine';
import { createTempDir } from '../../testing/temp-dir';
import { normalizeWatchReloadOptions } from './normalize-options';
import { createNxWatchTargets, PODMAN_BUILD_EXECUTOR, PODMAN_RUN_EXECUTOR } from './nx-targets';
import type { WatchReloadExecutorSchema } from './schema';

const CONTAINERFILE = `FROM localhost/prism/go-builder:1.19 AS builder
COPY postgres/ /src/
FROM scratch AS production
COPY --from=builder /out/plugin /plugin
FROM localhost/prism/busybox:latest AS debug
COPY --from=builder /out/plugin /plugin
`;
const IMAGE_ID = 'sha256:' + '1'.repeat(64);
const noGit: GitReader = { revision: async () => undefined };

/** Options as Nx would combine them: the target's options, then its configuration's. */
function readOptions(project: string, target: string, context: ExecutorContext): Record<string, unknown> {
  const config = context.projectsConfigurations.projects[project].targets![target];
  return { ...config.options, ...(context.configurationName ? config.configurations?.[context.configurationName] : {}) };
}

describe('createNxWatchTargets', () => {
  let ws: ReturnType<typeof createTempDir>;
  let engines: { connection: PodmanConnection; engine: FakeEngine }[];
  let out: string;
  let clock: FakeClock;

  let reads: string[];
  let context: ExecutorContext;
  const setup = (schema: WatchReloadExecutorSchema, configurationName?: string, runExtra: Record<string, unknown> = {}) => {
    context = {
      root: ws.path,
      cwd: ws.path,
      isVerbose: false,
      configurationName,
      projectName: 'postgres',
      projectsConfigurations: {
        version: 2,
        projects: {
          postgres: {
            root: 'plugins/postgres',
            targets: {
              'podman-build': {
                executor: PODMAN_BUILD_EXECUTOR,
                options: { context: 'plugins', tags: ['prism/postgres-plugin:{stage}'], podman: 'podman' },
                configurations: { debug: { stage: 'debug' } },
              },
              'podman-run': { executor: PODMAN_RUN_EXECUTOR, options: { ports: ['9090'], ...runExtra }, configurations: { debug: { stage: 'debug' } } },
            },
          },
        },
      },
    } as unknown as ExecutorContext;
    const options = normalizeWatchReloadOptions(schema, { projectName: 'postgres', env: {} });
    const logger = createLogger({ verbose: false, stream: { write: (text: string) => ((out += text), true) } as never });
    return createNxWatchTargets({
      getContext: () => context,
      options,
      logger,
      git: noGit,
      clock,
      readOptions: (project, target, current) => {
        reads.push(`${project}:${target}`);
        return readOptions(project, target, current);
      },
      createEngine: (connection) => {
        const engine = new FakeEngine();
        engine.on(['image', 'ls'], { stdout: '' });
        engine.on(['build'], async (args) => {
          await writeFile(args[args.indexOf('--iidfile') + 1], IMAGE_ID.slice(7));
          return {};
        });
        engines.push({ connection, engine });
        return engine;
      },
    });
  };

  beforeEach(() => {
    ws = createTempDir('nxp-targets-');
    mkdirSync(join(ws.path, 'plugins/postgres'), { recursive: true });
    writeFileSync(join(ws.path, 'plugins/postgres/Containerfile'), CONTAINERFILE);
    writeFileSync(join(ws.path, 'plugins/postgres/main.go'), 'package main\n');
    engines = [];
    reads = [];
    out = '';
    clock = new FakeClock();
  });
  afterEach(() => ws.cleanup());

  it('tells the status page the container name and published ports, never an env value', () => {
    const targets = setup({}, undefined, { env: { DB_PASSWORD: 's3cret-value' }, ports: ['9090', '0.0.0.0:2345:2345/udp'] });
    const container = targets.container!('postgres');
    expect(container).toEqual({
      name: 'postgres-plugin',
      ports: [{ text: '127.0.0.1:9090 → 9090', url: 'http://127.0.0.1:9090/' }, { text: '0.0.0.0:2345 → 2345/udp' }],
    });
    expect(JSON.stringify(container)).not.toContain('s3cret');
    expect(setup({}, 'debug').container!('nope')).toBeUndefined();
  });

  it("reads a project's live update facts once per graph read, not on every save", async () => {
    const targets = setup({ reload: true });
    const save = () => targets.live!.update('postgres', { files: ['plugins/postgres/main.go'], fullReason: undefined, signal: new AbortController().signal });
    await save();
    await save();
    await save();
    expect(reads).toEqual(['postgres:podman-build', 'postgres:podman-run']);
    // A graph refresh gives a new context: the facts are read again, once.
    context = { ...context };
    await save();
    await save();
    expect(reads).toEqual(['postgres:podman-build', 'postgres:podman-run', 'postgres:podman-build', 'postgres:podman-run']);
    await targets.live!.close();
  });

  it('describes the build by its workspace-relative Containerfile and context', async () => {
    await expect(setup({}).describeBuild('postgres')).resolves.toEqual({ file: 'plugins/postgres/Containerfile', context: 'plugins' });
  });

  it('builds the watch stage over the target and its configuration, and returns the recorded image id', async () => {
    const targets = setup({ stage: 'debug' });
    const outcome = await targets.build('postgres', { signal: new AbortController().signal, quiet: true });
    expect(outcome).toEqual({ status: 'built', imageId: IMAGE_ID, durationMs: 0 });
    const build = engines[0].engine.callsStartingWith('build')[0];
    expect(build).toEqual(expect.arrayContaining(['--target', 'debug', '--tag', 'prism/postgres-plugin:debug']));
  });

  it('passes podman/remote/connection set on watch-reload over the target options', async () => {
    const targets = setup({ podman: '/opt/podman', connection: 'dev' });
    await targets.build('postgres', { signal: new AbortController().signal, quiet: true });
    expect(engines[0].connection).toEqual({ podman: '/opt/podman', remote: true, connection: 'dev' });
  });

  it('reports a project that left the graph as a failed build, not a throw', async () => {
    const targets = setup({});
    const outcome = await targets.build('gone', { signal: new AbortController().signal, quiet: true });
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 1, message: 'Project "gone" is not in the project graph any more.' });
    expect(out).toContain('ERROR build failed plugin=gone');
  });

  it('stops the container of the watch stage (debug: <project>-plugin-debug) with SIGTERM, and SIGKILL when it has not stopped in time; then its pod', async () => {
    const targets = setup({ stage: 'debug' });
    await targets.stop('postgres', { timeoutSeconds: 2 });
    expect(engines[0].engine.calls).toEqual([
      ['kill', '--signal', 'SIGTERM', 'postgres-plugin-debug'],
      ['wait', '--condition', 'stopped', 'postgres-plugin-debug'],
      // The pod's infra container holds the published ports.
      ['kill', '--signal', 'SIGKILL', 'postgres-plugin-debug-pod-infra'],
    ]);
    engines[0].engine.calls.length = 0;
    engines[0].engine.on(['wait'], (args) => (args.at(-1) === 'postgres-plugin-debug' ? { exitCode: 143, timedOut: true } : {}));
    await targets.stop('postgres', { timeoutSeconds: 2 });
    expect(engines[0].engine.calls.map((call) => call.slice(0, 4).join(' '))).toEqual([
      'kill --signal SIGTERM postgres-plugin-debug',
      'wait --condition stopped postgres-plugin-debug',
      'kill --signal SIGKILL postgres-plugin-debug',
      'wait --condition stopped postgres-plugin-debug',
      'kill --signal SIGKILL postgres-plugin-debug-pod-infra',
    ]);
  });

  it('a podman call ended by a signal (Nx signalling the process tree at Ctrl-C) is made again', async () => {
    const targets = setup({});
    await targets.build('postgres', { signal: new AbortController().signal, quiet: true });
    const engine = engines[0].engine;
    engine.calls.length = 0;
    let kills = 0;
    engine.on(['kill'], () => (++kills === 1 ? { exitCode: 128, signal: 'SIGTERM' } : {}));
    const stopping = targets.stop('postgres', { timeoutSeconds: 2 });
    for (let i = 0; i < 20 && clock.pendingTimers === 0; i++) await new Promise((resolve) => setImmediate(resolve));
    clock.advance(250);
    await stopping;
    expect(engine.calls.map((call) => call.slice(0, 3).join(' '))).toEqual([
      'kill --signal SIGTERM',
      'kill --signal SIGTERM',
      'wait --condition stopped',
      'kill --signal SIGKILL',
    ]);
  });

  it('stopping a container that does not run waits for nothing (its pod is stopped all the same)', async () => {
    const targets = setup({});
    await targets.build('postgres', { signal: new AbortController().signal, quiet: true });
    engines[0].engine.calls.length = 0;
    engines[0].engine.on(['kill'], { exitCode: 125, stderr: 'Error: can only kill running containers' });
    await targets.stop('postgres', { timeoutSeconds: 2 });
    expect(engines[0].engine.calls).toEqual([
      ['kill', '--signal', 'SIGTERM', 'postgres-plugin'],
      ['kill', '--signal', 'SIGKILL', 'postgres-plugin-pod-infra'],
    ]);
  });

  it('a run target missing on the project fails with the option to fix', async () => {
    const targets = setup({ runTarget: 'serve' });
    await expect(targets.run('postgres', { imageId: IMAGE_ID, signal: new AbortController().signal })).resolves.toEqual({
      status: 'failed',
      message: 'Project "postgres" has no "serve" target (option "runTarget"): add one, or drop "reload".',
    });
  });
});
