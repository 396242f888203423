import type { ContainerUpdateRequest, DelveRpc, HealthProbe } from '../../core/ports';
import type { ContainerState } from '../../core/run-args';
import { containerRunSpec } from '../../testing/container-run-spec';
import { FakeClock } from '../../testing/fake-clock';
import { FakeEngine } from '../../testing/fake-engine';
import { recordingLogger } from '../../testing/recording-logger';
import { createBinarySwapUpdater } from './container-updaters';
import { createDelveRestarter, type DelveRestarterDeps, type InPlaceRestarter } from './delve-restarter';

const DEBUG_COMMAND = ['/usr/local/bin/dlv', 'exec', '/plugin', '--headless', '--listen=:2345', '--api-version=2', '--accept-multiclient', '--continue'];

/** The debug container as the live updater last checked it: Delve as pid 1, its port published on 11090. */
function debugState(overrides: Partial<ContainerState> = {}): ContainerState {
  return {
    id: 'c1',
    imageId: 'sha256:i',
    status: 'running',
    running: true,
    exitCode: 0,
    health: '',
    rootfs: '/var/lib/containers/storage/overlay/x/merged',
    pid: 4242,
    command: DEBUG_COMMAND,
    ports: { '2345/tcp': [{ hostIp: '127.0.0.1', hostPort: '11090' }], '9090/tcp': [{ hostIp: '127.0.0.1', hostPort: '10090' }] },
    ...overrides,
  };
}

function updateRequest(engine: FakeEngine, state: ContainerState, installed: string[] = []): ContainerUpdateRequest {
  return {
    project: 'postgres',
    engine,
    container: containerRunSpec({ name: 'postgres-plugin-debug', stage: 'debug' }),
    state,
    hostFile: '/ws/.nx/podman/live/postgres/plugin',
    destination: '/plugin',
    health: { check: { kind: 'tcp', host: '127.0.0.1', port: 10090 }, timeoutMs: 30_000, intervalMs: 1000 },
    signal: new AbortController().signal,
    installed: async () => void installed.push('installed'),
  };
}

/** A Delve server that answers a restart: the program runs, is halted, relaunched and continued. */
function delveServer(events: string[], options: { restartError?: string } = {}): DelveRpc {
  return {
    async call<T>(method: string, params: object): Promise<T> {
      events.push(method === 'RPCServer.Command' ? `delve ${(params as { name: string }).name}` : `delve ${method.replace('RPCServer.', '')}`);
      if (method === 'RPCServer.Restart' && options.restartError) throw new Error(options.restartError);
      if (method === 'RPCServer.Restart') return { DiscardedBreakpoints: [] } as T;
      return { State: { Running: true } } as T;
    },
    send: (method, params) => void events.push(`delve send ${(params as { name: string }).name}`),
    close: () => void events.push('delve close'),
  };
}

function restarterDeps(events: string[], overrides: Partial<DelveRestarterDeps> = {}): DelveRestarterDeps & { logger: ReturnType<typeof recordingLogger> } {
  return {
    connect: async (port) => {
      events.push(`connect ${port}`);
      return delveServer(events);
    },
    attached: async (pid, port) => {
      events.push(`attached ${pid} ${port}`);
      return 0;
    },
    clock: new FakeClock(),
    logger: recordingLogger(),
    ...overrides,
  } as DelveRestarterDeps & { logger: ReturnType<typeof recordingLogger> };
}

describe('createDelveRestarter', () => {
  it('counts the attached debuggers, then asks Delve on the published port to relaunch the program: no podman call', async () => {
    const events: string[] = [];
    const engine = new FakeEngine();
    const result = await createDelveRestarter(restarterDeps(events)).restart(updateRequest(engine, debugState()));
    expect(result).toEqual({ status: 'restarted' });
    expect(events).toEqual([
      'attached 4242 2345',
      'connect 11090',
      'delve State',
      'delve halt',
      'delve ListBreakpoints',
      'delve Restart',
      'delve ListBreakpoints',
      'delve send continue',
      'delve close',
    ]);
    expect(engine.calls).toEqual([]);
  });

  it('is unavailable, saying why, where it cannot keep the session; said once per project when the container runs dlv', async () => {
    const events: string[] = [];
    const deps = restarterDeps(events);
    const restarter = createDelveRestarter(deps);
    const engine = new FakeEngine();
    const remote = new FakeEngine();
    Object.assign(remote, { connection: { podman: 'podman', remote: true } });
    const cases: [FakeEngine, ContainerState, string][] = [
      [engine, debugState({ command: ['/plugin'] }), 'the container does not run dlv'],
      [engine, debugState({ command: DEBUG_COMMAND.filter((arg) => arg !== '--accept-multiclient') }), 'dlv is not started with --accept-multiclient'],
      [remote, debugState(), 'podman runs on another machine, and with it the Delve port'],
      [engine, debugState({ ports: {} }), "Delve's port 2345 is not published"],
      [
        engine,
        debugState({ command: DEBUG_COMMAND.map((arg) => (arg === '/plugin' ? '/app/server' : arg)) }),
        'dlv runs "/app/server" but the live update replaces "/plugin"',
      ],
    ];
    for (const [podman, state, reason] of cases) {
      expect(await restarter.restart(updateRequest(podman, state))).toEqual({ status: 'unavailable', reason });
    }
    expect(events).toEqual([]);
    expect(deps.logger.lines).toEqual([
      'INFO each live update ends the debug session (the container restarts) plugin=postgres reason=dlv is not started with --accept-multiclient',
    ]);
  });

  it('Delve not answering, or its restart failing, is a failure with the reason (the caller restarts the container)', async () => {
    const events: string[] = [];
    const refused = createDelveRestarter(restarterDeps(events, { connect: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:11090')) }));
    expect(await refused.restart(updateRequest(new FakeEngine(), debugState()))).toEqual({
      status: 'failed',
      reason: 'Delve on 127.0.0.1:11090 did not answer: connect ECONNREFUSED 127.0.0.1:11090',
    });
    const failing = createDelveRestarter(
      restarterDeps(events, { connect: async () => delveServer(events, { restartError: 'could not launch process: exec format error' }) }),
    );
    expect(await failing.restart(updateRequest(new FakeEngine(), debugState()))).toEqual({
      status: 'failed',
      reason: "Delve's Restart failed: could not launch process: exec format error",
    });
    expect(events.at(-1)).toBe('delve close');
  });
});

describe('createBinarySwapUpdater with an in-place restarter (the debug stage)', () => {
  const healthy: HealthProbe = { probe: async () => ({ ok: true }) };
  /** The updater with `restart` as Delve's relaunch, a passing health check and a recording logger. */
  const updaterWith = (restart: InPlaceRestarter['restart'], replaced: () => void = () => undefined) => {
    const logger = recordingLogger();
    const updater = createBinarySwapUpdater({
      files: { replaceFileBelow: async () => (replaced(), undefined) },
      probe: () => healthy,
      clock: new FakeClock(),
      logger,
      inPlace: { restart },
    });
    return { updater, logger };
  };

  it('the binary goes in, Delve relaunches the program, the health check passes: the container is not restarted', async () => {
    const events: string[] = [];
    const engine = new FakeEngine();
    const { updater, logger } = updaterWith(
      async () => (events.push('relaunched'), { status: 'restarted' }),
      () => events.push('binary replaced'),
    );
    const installed: string[] = [];
    expect(await updater.update(updateRequest(engine, debugState(), installed))).toEqual({ status: 'updated' });
    expect(events).toEqual(['binary replaced', 'relaunched']);
    expect(installed).toEqual(['installed']);
    expect(engine.callsStartingWith('restart')).toEqual([]);
    expect(logger.lines).toContainEqual(expect.stringMatching(/^INFO plugin healthy plugin=postgres .*check=tcp downtime=0\.0s$/));
  });

  it('a failed relaunch restarts the container as before, with a WARN saying why', async () => {
    const engine = new FakeEngine();
    const { updater, logger } = updaterWith(async () => ({ status: 'failed', reason: 'Delve on 127.0.0.1:11090 did not answer: timed out' }));
    expect(await updater.update(updateRequest(engine, debugState()))).toEqual({ status: 'updated' });
    expect(engine.callsStartingWith('restart')).toEqual([['restart', '--time', '2', 'postgres-plugin-debug']]);
    expect(logger.lines).toContain(
      'WARN Delve did not relaunch the plugin; restarting its container plugin=postgres reason=Delve on 127.0.0.1:11090 did not answer: timed out',
    );
  });

  it('unavailable (no Delve server): the container restarts without a warning', async () => {
    const engine = new FakeEngine();
    const { updater, logger } = updaterWith(async () => ({ status: 'unavailable', reason: 'the container does not run dlv' }));
    expect(await updater.update(updateRequest(engine, debugState({ command: ['/plugin'] })))).toEqual({ status: 'updated' });
    expect(engine.callsStartingWith('restart')).toHaveLength(1);
    expect(logger.lines.filter((line) => line.startsWith('WARN'))).toEqual([]);
  });
});
