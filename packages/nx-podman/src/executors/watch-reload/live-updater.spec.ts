import type { BuildRecord } from '../../core/build-record';
import type { PodmanConnection } from '../../core/podman-version';
import type { FileReader, LiveUpdateRecord, Logger } from '../../core/ports';
import { containerRunSpec } from '../../testing/container-run-spec';
import { FakeClock } from '../../testing/fake-clock';
import { FakeEngine } from '../../testing/fake-engine';
import { FakeContainerUpdater } from '../../testing/fake-container-updater';
import { COMPILE_SERVER_PROGRAM, compileRequestToken } from '../../core/live-update-plan';
import type { RunProcessOptions } from '../../core/ports';
import { createLiveUpdater, type LiveProject } from './live-updater';

const CONTAINERFILE = `FROM localhost/prism/go-builder:1.19 AS builder
ENV CGO_ENABLED=0
WORKDIR /src
COPY core/ core/
COPY postgres/ postgres/
WORKDIR /src/postgres
RUN --mount=type=cache,target=/tmp/gocache go build -trimpath -o /out/plugin .
FROM scratch AS production
COPY --from=builder /out/plugin /plugin
USER 65532:65532
`;
const IMAGE = `sha256:${'a'.repeat(64)}`;
const BUILDER_IMAGE = 'b'.repeat(64);

/** The builder's answer to a compile: through a compile server, the output and its done line; else a plain exec's result. */
function compiler(exitCode: number, output: string) {
  return (args: readonly string[], options?: RunProcessOptions) =>
    args.at(-1) === COMPILE_SERVER_PROGRAM && typeof options?.input === 'string'
      ? { stdout: `${output}${compileRequestToken(options.input)} ${exitCode}\n` }
      : { exitCode, stderr: output };
}

function setup(
  options: {
    container?: 'running' | 'missing' | 'other-image';
    compileExit?: number;
    binary?: string;
    rootfs?: string;
    replaceRefused?: string;
    proc?: Map<string, string>;
    updater?: FakeContainerUpdater;
  } = {},
) {
  const engine = new FakeEngine();
  const lines: string[] = [];
  const logger: Logger = {
    verbose: false,
    debug: () => undefined,
    info: (msg, fields) => lines.push(`INFO ${msg}${fields?.reason ? ` reason=${String(fields.reason)}` : ''}`),
    warn: (msg) => lines.push(`WARN ${msg}`),
    error: (msg) => lines.push(`ERROR ${msg}`),
    output: () => undefined,
  };
  engine.on(['image', 'inspect'], { stdout: JSON.stringify([{ Id: BUILDER_IMAGE, Config: { Env: ['HOME=/tmp', 'GOFLAGS=-mod=mod'], WorkingDir: '/src' } }]) });
  const state = options.container ?? 'running';
  engine.on(
    ['container', 'inspect'],
    state === 'missing'
      ? { exitCode: 125, stderr: 'no such container' }
      : {
          stdout: JSON.stringify([
            {
              Id: 'c1',
              Image: state === 'running' ? IMAGE : `sha256:${'e'.repeat(64)}`,
              State: { Status: 'running', Running: true },
              GraphDriver: { Data: { MergedDir: options.rootfs } },
              ConmonPidFile: '/run/c1/userdata/conmon.pid',
            },
          ]),
        },
  );
  engine.on(['exec'], compiler(options.compileExit ?? 0, options.compileExit ? '# x\n./main.go:3:1: syntax error\n' : 'prism/core\nprism/postgres\n'));
  const written: LiveUpdateRecord[] = [];
  const replaced: string[] = [];
  const files: FileReader = {
    readText: async (path) =>
      path.endsWith('Containerfile') ? CONTAINERFILE : path === '/ws/plugins/postgres/go.mod' ? 'module prism/postgres\n' : options.proc?.get(path),
    isDirectory: async () => true,
    makeDirectory: async () => undefined,
    pathKind: async (path) => (path.endsWith('.git') ? undefined : 'dir'),
    hashFile: async () => options.binary ?? 'f'.repeat(64),
    removeDirectory: async () => undefined,
    replaceFileBelow: async (_source, root, path) => {
      replaced.push(`${root}${path}`);
      return options.replaceRefused;
    },
  };
  const info: LiveProject = {
    project: 'postgres',
    stage: 'production',
    containerfile: '/ws/plugins/postgres/Containerfile',
    context: '/ws/plugins',
    buildArgs: {},
    hints: undefined,
    container: containerRunSpec({ stopTimeoutSeconds: 10 }),
    health: { check: { kind: 'running', graceMs: 0 }, timeoutMs: 1000, intervalMs: 100 },
    engine,
  };
  const updater = createLiveUpdater({
    workspaceRoot: '/ws',
    describe: (project) => ({ ...info, project, container: containerRunSpec({ name: `${project}-plugin`, project, stopTimeoutSeconds: 10 }) }),
    records: { read: async () => ({ imageId: IMAGE }) as BuildRecord, write: async () => undefined },
    liveRecords: { read: async () => written.at(-1), write: async (record) => void written.push(record), remove: async () => undefined },
    files,
    probe: () => ({ probe: async () => ({ ok: true }) }),
    clock: new FakeClock(),
    logger,
    updater: options.updater,
  });
  const update = (files: string[], project = 'postgres') => updater.update(project, { files, fullReason: undefined, signal: new AbortController().signal });
  return { engine, lines, updater, update, written, replaced };
}

const commands = (engine: FakeEngine) => engine.calls.map((call) => (call[0] === 'container' || call[0] === 'image' ? `${call[0]} ${call[1]}` : call[0]));

describe('createLiveUpdater', () => {
  it('compiles first, checks the container alongside, copies, restarts (stop timeout at most 2 s) and records the binary', async () => {
    const { engine, update, written, updater } = setup();
    await expect(update(['plugins/postgres/main.go'])).resolves.toMatchObject({ status: 'updated' });
    // image inspect (recipe), then the builder (rm of a stale one, run), then the compile server before anything else.
    expect(commands(engine)).toEqual(['image inspect', 'rm', 'run', 'exec', 'container inspect', 'cp', 'restart', 'container inspect']);
    // The compile server reads each compile's WORKDIR, environment and command on stdin (none of it on a command line).
    expect(engine.callsStartingWith('exec')[0]).toEqual(['exec', '-i', expect.stringMatching(/^nx-podman-builder-/), '/bin/sh', '-c', COMPILE_SERVER_PROGRAM]);
    const server = engine.calls.findIndex((call) => call[0] === 'exec');
    const request =
      /^(nx-podman-compile-[\w-]+)\n\/src\/postgres\nGOFLAGS=-mod=mod -v\n\ngo build -trimpath -o \/nx-podman\/out\/postgres-\d+\/plugin \.\n\1\n$/;
    expect(engine.inputs.get(server)).toMatch(request);
    // The next compile goes to the same server: no podman process starts for it.
    await update(['plugins/postgres/main.go']);
    expect(engine.callsStartingWith('exec')).toHaveLength(1);
    const [first, second] = engine.inputs.get(server)!.split(/(?<=\n)(?=nx-podman-compile-[\w-]+\n\/src)/);
    expect([first, second]).toEqual([expect.stringMatching(request), expect.stringMatching(request)]);
    expect(compileRequestToken(first)).not.toBe(compileRequestToken(second));
    expect(engine.callsStartingWith('cp')[0]).toEqual([
      'cp',
      expect.stringMatching(/\/ws\/\.nx\/podman\/live\/out\/\w+\/postgres-\d+\/plugin$/),
      'postgres-plugin:/plugin',
    ]);
    expect(engine.callsStartingWith('restart')[0]).toEqual(['restart', '--time', '2', 'postgres-plugin']);
    expect(written).toEqual([expect.objectContaining({ project: 'postgres', containerId: 'c1', imageId: IMAGE, binarySha256: 'f'.repeat(64) })]);
    expect(updater.liveContainers()).toEqual([{ project: 'postgres', container: 'postgres-plugin' }]);
    updater.replaced('postgres');
    expect(updater.liveContainers()).toEqual([]);
  });

  it('after one inspect, a live conmon of the same container stands for it: the next update inspects nothing', async () => {
    // conmon's pid file and command line, as podman leaves them for a running container.
    const proc = new Map([
      ['/run/c1/userdata/conmon.pid', '4242\n'],
      ['/proc/4242/cmdline', '/usr/bin/conmon\0--api-version\x001\0-c\0c1\0-u\0c1\0'],
    ]);
    const { engine, update } = setup({ proc });
    await update(['plugins/postgres/main.go']);
    expect(commands(engine).filter((command) => command === 'container inspect')).toHaveLength(2);
    const before = engine.calls.length;
    await expect(update(['plugins/postgres/main.go'])).resolves.toMatchObject({ status: 'unchanged' });
    expect(commands(engine).slice(before)).toEqual([]);

    // The container stopped, removed or re-created: its conmon is gone (or another process has the pid): inspect again.
    proc.set('/proc/4242/cmdline', '/usr/bin/sleep\x00100\0');
    await update(['plugins/postgres/main.go']);
    expect(commands(engine).slice(before)).toEqual(['container inspect']);
    proc.delete('/run/c1/userdata/conmon.pid');
    const later = engine.calls.length;
    await update(['plugins/postgres/main.go']);
    expect(commands(engine).slice(later)).toEqual(['container inspect']);
  });

  it('where the container file system is visible on this host, the binary is replaced there: no podman cp', async () => {
    const { engine, update, replaced } = setup({ rootfs: '/var/lib/containers/storage/overlay/abc/merged' });
    await expect(update(['plugins/postgres/main.go'])).resolves.toMatchObject({ status: 'updated' });
    expect(replaced).toEqual(['/var/lib/containers/storage/overlay/abc/merged/plugin']);
    expect(commands(engine)).toEqual(['image inspect', 'rm', 'run', 'exec', 'container inspect', 'restart', 'container inspect']);
  });

  it('a refused in-place replace (rootless storage, a link on the way) takes podman cp; a remote podman never tries it', async () => {
    const refused = setup({ rootfs: '/merged', replaceRefused: '/plugin does not exist' });
    await expect(refused.update(['plugins/postgres/main.go'])).resolves.toMatchObject({ status: 'updated' });
    expect(refused.replaced).toEqual(['/merged/plugin']);
    expect(commands(refused.engine)).toContain('cp');

    const remote = setup({ rootfs: '/merged' });
    (remote.engine as { connection: PodmanConnection }).connection = { podman: 'podman', remote: true };
    await expect(remote.update(['plugins/postgres/main.go'])).resolves.toMatchObject({ status: 'updated' });
    expect(remote.replaced).toEqual([]);
    expect(commands(remote.engine)).toContain('cp');
  });

  it('the same binary again (a comment, a test file) is not copied: the container keeps running', async () => {
    const { engine, update, lines } = setup();
    await update(['plugins/postgres/main.go']);
    const before = engine.calls.length;
    await expect(update(['plugins/postgres/main.go'])).resolves.toEqual({ status: 'unchanged' });
    // The compile went to the server that waited for it; only the container check is a podman process.
    expect(commands(engine).slice(before)).toEqual(['container inspect']);
    expect(lines).toContain('INFO binary unchanged; container keeps running');
  });

  it('falls back, with the reason, for a go.mod change (no podman call), no running container, or a container of another image', async () => {
    const gomod = setup();
    await expect(gomod.update(['plugins/postgres/go.mod'])).resolves.toEqual({ status: 'fallback', reason: 'plugins/postgres/go.mod changed' });
    expect(commands(gomod.engine)).toEqual(['image inspect']);
    await expect(setup({ container: 'missing' }).update(['plugins/postgres/main.go'])).resolves.toEqual({
      status: 'fallback',
      reason: 'no running container "postgres-plugin"',
    });
    const other = await setup({ container: 'other-image' }).update(['plugins/postgres/main.go']);
    expect(other).toEqual({ status: 'fallback', reason: expect.stringContaining('not the image last built for this project') });
  });

  it('a builder image missing at the first save is looked up again at the next one (the full build pulled it)', async () => {
    const { engine, update } = setup();
    const found = { stdout: JSON.stringify([{ Id: BUILDER_IMAGE, Config: { Env: ['HOME=/tmp'], WorkingDir: '/src' } }]) };
    engine.on(['image', 'inspect'], { exitCode: 125, stderr: 'Error: localhost/prism/go-builder:1.19: image not known' });
    await expect(update(['plugins/postgres/main.go'])).resolves.toEqual({ status: 'fallback', reason: expect.stringContaining('build the image once first') });
    engine.on(['image', 'inspect'], found);
    await expect(update(['plugins/postgres/main.go'])).resolves.toMatchObject({ status: 'updated' });
    // Found once, it is remembered: no inspect per save.
    const inspects = commands(engine).filter((command) => command === 'image inspect').length;
    await update(['plugins/postgres/main.go']);
    expect(commands(engine).filter((command) => command === 'image inspect')).toHaveLength(inspects);
  });

  it('a builder removed by hand: that save takes the full build, saying why, and the next one starts a new builder', async () => {
    const { engine, update } = setup();
    engine.on(['exec'], { exitCode: 125, stderr: 'Error: no container with name or ID "nx-podman-builder-x" found: no such container\n' });
    await expect(update(['plugins/postgres/main.go'])).resolves.toEqual({
      status: 'fallback',
      reason: expect.stringMatching(
        /^the live update builder "nx-podman-builder-\w+-\w+" is gone \(Error: no container with name or ID .*\); the next save starts a new one$/,
      ),
    });
    expect(commands(engine).filter((command) => command === 'run')).toHaveLength(1);
    engine.on(['exec'], compiler(0, 'prism/postgres\n'));
    await expect(update(['plugins/postgres/main.go'])).resolves.toMatchObject({ status: 'updated' });
    expect(commands(engine).filter((command) => command === 'run')).toHaveLength(2);
  });

  it('a compile error is a result with the compiler output; nothing is copied', async () => {
    const { engine, update } = setup({ compileExit: 1 });
    await expect(update(['plugins/postgres/main.go'])).resolves.toEqual({ status: 'compile-failed', exitCode: 1, output: '# x\n./main.go:3:1: syntax error' });
    expect(engine.callsStartingWith('cp')).toEqual([]);
  });

  it('close removes the builder', async () => {
    const { engine, update, updater } = setup();
    await update(['plugins/postgres/main.go']);
    await updater.close();
    const builder = engine.callsStartingWith('run')[0][3];
    expect(engine.callsStartingWith('rm').at(-1)).toEqual(['rm', '--force', '--time', '0', builder]);
    // Then the sweep for any other builder of this workspace.
    expect(engine.calls.at(-1)).toEqual(['ps', '-a', '--filter', 'label=nx-podman.builder=/ws', '--format', '{{.Names}}']);
  });

  it('close removes the builder even when podman, signalled on the way out, exits with an error rather than by the signal', async () => {
    const { engine, update, updater } = setup();
    await update(['plugins/postgres/main.go']);
    let refused = 2;
    // podman traps SIGINT/SIGTERM and exits 125 itself: no signal to see, the container still there.
    engine.on(['rm'], () => (refused-- > 0 ? { exitCode: 125, stderr: 'Error: interrupted' } : { exitCode: 0 }));
    await updater.close();
    const builder = engine.callsStartingWith('run')[0][3];
    expect(engine.callsStartingWith('rm').filter((call) => call.includes(builder)).length).toBeGreaterThanOrEqual(3);
    expect(refused).toBe(-1);
  });

  it("close during prepare: no builder container is started after it, and the workspace's builders are swept by label", async () => {
    const { engine, updater } = setup();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // prepare is still looking for leftovers when the watcher stops.
    engine.on(['ps'], async () => {
      await held;
      return { stdout: '' };
    });
    const preparing = updater.prepare(['postgres']);
    await new Promise((resolve) => setImmediate(resolve));
    const closing = updater.close();
    release();
    await Promise.all([preparing, closing]);
    expect(engine.callsStartingWith('run')).toEqual([]);
    const sweep = engine.calls.findLastIndex((call) => call[0] === 'ps');
    expect(engine.calls[sweep]).toEqual(['ps', '-a', '--filter', 'label=nx-podman.builder=/ws', '--format', '{{.Names}}']);
  });

  it('compiles that start while one builds shared packages wait until it reaches its main package, then run together', async () => {
    const { engine, update, updater } = setup();
    await updater.prepare([]);
    await update(['plugins/postgres/main.go']); // starts the builder
    const events: string[] = [];
    let finishFirst!: () => void;
    let count = 0;
    engine.on(['exec'], async (_args, options) => {
      const n = ++count;
      const done = `${compileRequestToken(options?.input as string)} 0\n`;
      events.push(`start ${n}`);
      if (n === 1) {
        await new Promise(setImmediate);
        options?.onOutput?.('prism/core\n', 'stdout');
        await new Promise(setImmediate);
        events.push('main package 1');
        options?.onOutput?.('prism/postgres\n', 'stdout');
        await new Promise<void>((resolve) => (finishFirst = resolve));
      } else {
        await new Promise(setImmediate);
      }
      events.push(`end ${n}`);
      return { stdout: done };
    });
    const all = Promise.all(['a', 'b', 'c'].map((project) => update(['plugins/core/x.go'], project)));
    for (let i = 0; i < 50 && !events.includes('end 3'); i++) await new Promise(setImmediate);
    // 2 and 3 waited for 1's dependencies only, then ran side by side while 1 was still linking.
    expect(events).toEqual(['start 1', 'main package 1', 'start 2', 'start 3', 'end 2', 'end 3']);
    finishFirst();
    await all;
    expect(events.at(-1)).toBe('end 1');
  });
});

describe('createLiveUpdater start-up', () => {
  it('removes builders a killed watcher left, never one a save already started', async () => {
    const { engine, update, updater } = setup();
    await update(['plugins/postgres/main.go']);
    const ours = engine.callsStartingWith('run')[0][3];
    engine.on(['ps'], { stdout: `nx-podman-builder-left-over\n${ours}\n` });
    const before = engine.calls.length;
    await updater.prepare(['postgres']);
    expect(engine.calls.slice(before).filter((call) => call[0] === 'rm')).toEqual([['rm', '--force', '--time', '0', 'nx-podman-builder-left-over']]);
    expect(engine.callsStartingWith('rm').at(-1)).toEqual(['rm', '--force', '--time', '0', 'nx-podman-builder-left-over']);
  });
});

describe('createLiveUpdater: the container updater port', () => {
  it('hands the updater the compiled binary, its destination and the checked container; the live record is written once the binary is in', async () => {
    const updater = new FakeContainerUpdater();
    const { update, written, engine } = setup({ updater });
    await expect(update(['plugins/postgres/main.go'])).resolves.toMatchObject({ status: 'updated' });
    expect(updater.requests).toHaveLength(1);
    expect(updater.requests[0]).toMatchObject({
      project: 'postgres',
      destination: '/plugin',
      hostFile: expect.stringMatching(/\/postgres-\d+\/plugin$/),
      container: { name: 'postgres-plugin' },
      state: { id: 'c1', imageId: IMAGE },
    });
    expect(written).toEqual([expect.objectContaining({ containerId: 'c1', binarySha256: 'f'.repeat(64) })]);
    // The coordination itself never copies or restarts: that is the updater's.
    expect(commands(engine)).not.toContain('cp');
    expect(commands(engine)).not.toContain('restart');
  });

  it('an updater that cannot put the binary in: the full path, naming why, and nothing recorded as live', async () => {
    const updater = new FakeContainerUpdater([{ status: 'refused', reason: 'read-only file system' }]);
    const { update, written, updater: live } = setup({ updater });
    await expect(update(['plugins/postgres/main.go'])).resolves.toEqual({ status: 'fallback', reason: 'read-only file system' });
    expect(written).toEqual([]);
    expect(live.liveContainers()).toEqual([]);
  });

  it('an updater whose new process fails: a failed reload, and the container is known to hold the new binary', async () => {
    const updater = new FakeContainerUpdater([{ status: 'failed', message: 'not healthy within 1 s' }]);
    const { update, written, updater: live } = setup({ updater });
    await expect(update(['plugins/postgres/main.go'])).resolves.toEqual({ status: 'failed', message: 'not healthy within 1 s' });
    expect(written).toHaveLength(1);
    expect(live.liveContainers()).toEqual([{ project: 'postgres', container: 'postgres-plugin' }]);
  });
});
