import { FakeClock } from '../testing/fake-clock';
import { recordingLogger } from '../testing/recording-logger';
import {
  announceDebugSessionEnd,
  configuredHostPort,
  delveServerOf,
  describeDiscarded,
  establishedConnections,
  restartUnderDelve,
  type DiscardedBreakpoint,
} from './delve';
import type { DelveRpc } from './ports';
import type { ContainerState } from './run-args';

/** The generated debug stage's entrypoint, as `podman inspect` gives it (Path, then Args). */
const GENERATED = ['/usr/local/bin/dlv', 'exec', '/plugin', '--headless', '--listen=:2345', '--api-version=2', '--accept-multiclient', '--continue'];

describe('delveServerOf', () => {
  it("finds the generated debug stage's server: its port inside the container and the program a live update replaces", () => {
    expect(delveServerOf(GENERATED)).toEqual({ containerPort: 2345, program: '/plugin' });
    expect(delveServerOf(['dlv', '--headless=true', '-l', '0.0.0.0:40000', '--accept-multiclient', 'exec', './app', '--', '-v'])).toEqual({
      containerPort: 40000,
      program: './app',
    });
  });

  it('says why another command cannot keep the session', () => {
    expect(delveServerOf(['/plugin'])).toEqual({ reason: 'the container does not run dlv' });
    expect(delveServerOf(['dlv', 'debug', '--headless', '--listen=:2345', '--accept-multiclient'])).toEqual({ reason: expect.stringContaining('not "exec"') });
    expect(delveServerOf(GENERATED.filter((arg) => arg !== '--accept-multiclient'))).toEqual({ reason: expect.stringContaining('--accept-multiclient') });
    expect(delveServerOf(GENERATED.filter((arg) => arg !== '--headless'))).toEqual({ reason: 'dlv is not --headless' });
    expect(delveServerOf(GENERATED.map((arg) => (arg === '--listen=:2345' ? '--listen=127.0.0.1:0' : arg)))).toEqual({
      reason: 'dlv has no fixed --listen port',
    });
  });
});

describe('establishedConnections', () => {
  // /proc/<pid>/net/tcp: Delve listening on :2345 (0929, state 0A), two debuggers connected (01), and a request on :8080.
  const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0929 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65532        0 1 1 0000000000000000 100 0 0 10 0
   1: 0200580A:0929 0100580A:A0F2 01 00000000:00000000 00:00000000 00000000 65532        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0200580A:1F90 0100580A:B112 01 00000000:00000000 00:00000000 00000000 65532        0 3 1 0000000000000000 20 4 30 10 -1
`;
  const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000200580A:0929 0000000000000000FFFF00000100580A:C350 01 00000000:00000000 00:00000000 00000000 65532 0 4 1
`;

  it("counts the established connections to the port across both tables, not its listener or other ports' connections", () => {
    expect(establishedConnections([TCP, TCP6], 2345)).toBe(2);
    expect(establishedConnections([TCP], 8080)).toBe(1);
    expect(establishedConnections(['', ''], 2345)).toBe(0);
  });
});

describe('describeDiscarded', () => {
  it('names each breakpoint by file and line, by its own name when it has one', () => {
    const discarded: DiscardedBreakpoint[] = [
      { Breakpoint: { id: 1, file: '/src/plugins/postgres/main.go', line: 42, functionName: 'main.answer' }, Reason: 'could not find statement' },
      { Breakpoint: { id: 2, name: 'retry', file: '/src/core/retry.go', line: 7 } },
      { Breakpoint: { id: 3, functionName: 'main.gone' } },
    ];
    expect(describeDiscarded(discarded)).toBe('main.go:42,retry,main.gone');
  });
});

describe('announceDebugSessionEnd', () => {
  const previous: ContainerState = {
    id: 'c1',
    imageId: 'i',
    status: 'running',
    running: true,
    exitCode: 0,
    health: '',
    rootfs: '',
    command: GENERATED,
    ports: { '2345/tcp': [{ hostIp: '127.0.0.1', hostPort: '40123' }] },
  };

  it('tells where to attach again: the port the run target publishes, else the one podman published', () => {
    const logger = recordingLogger();
    announceDebugSessionEnd(previous, { project: 'postgres', ports: ['127.0.0.1:11090:2345', '127.0.0.1:10090:9090'] }, logger);
    announceDebugSessionEnd(previous, { project: 'kafka', ports: [] }, logger);
    expect(logger.lines).toEqual([
      'INFO debug session restarted; attach again plugin=postgres debugger=127.0.0.1:11090',
      'INFO debug session restarted; attach again plugin=kafka debugger=127.0.0.1:40123',
    ]);
    expect(configuredHostPort(['127.0.0.1:11090:2345/tcp'], 2345)).toBe(11090);
  });

  it('says nothing when no debug session ended: no container before, a stopped one, or one without Delve', () => {
    const logger = recordingLogger();
    const spec = { project: 'postgres', ports: [] };
    announceDebugSessionEnd(undefined, spec, logger);
    announceDebugSessionEnd({ ...previous, running: false }, spec, logger);
    announceDebugSessionEnd({ ...previous, command: ['/plugin'] }, spec, logger);
    expect(logger.lines).toEqual([]);
  });
});

/**
 * A scripted Delve server: it records the calls, runs or stops the program as halt/continue/Restart would, lists
 * `breakpoints` (`placedAfter` once restarted), reports `discarded` from Restart, and fails `failOn`. `debuggerContinuesAfter`: an attached debugger continues the program
 * after that many State calls following the Restart.
 */
function fakeDelve(
  options: {
    running?: boolean;
    exited?: boolean;
    discarded?: DiscardedBreakpoint[];
    failOn?: string;
    debuggerContinuesAfter?: number;
    breakpoints?: object[];
    placedAfter?: object[];
  } = {},
) {
  let running = options.running ?? true;
  let exited = options.exited ?? false;
  let restarted = false;
  let polls: number | undefined;
  const calls: string[] = [];
  const rpc: DelveRpc = {
    async call<T>(method: string, params: object): Promise<T> {
      const name = method === 'RPCServer.Command' ? `Command ${(params as { name: string }).name}` : method.replace('RPCServer.', '');
      calls.push(name);
      if (name === options.failOn) throw new Error(`${name}: could not launch process: fork/exec /plugin: text file busy`);
      if (exited && name !== 'Restart') throw new Error('Process 37 has exited with status 2');
      switch (name) {
        case 'State':
          if (polls !== undefined && ++polls > (options.debuggerContinuesAfter ?? Infinity)) running = true;
          return { State: { Running: running } } as T;
        case 'Command halt':
          running = false;
          return { State: { Running: false } } as T;
        case 'ListBreakpoints':
          return {
            Breakpoints: [{ id: -1, addrs: [1] }, ...(restarted ? (options.placedAfter ?? options.breakpoints ?? []) : (options.breakpoints ?? []))],
          } as T;
        case 'Restart':
          running = false;
          exited = false;
          restarted = true;
          polls = 0;
          return { DiscardedBreakpoints: options.discarded ?? [] } as T;
        default:
          throw new Error(`unexpected ${name}`);
      }
    },
    send(method, params) {
      calls.push(`send ${method.replace('RPCServer.', '')} ${(params as { name: string }).name}`);
      running = true;
    },
    close: () => calls.push('close'),
  };
  return { rpc, calls, running: () => running };
}

/** Runs `work` while moving the fake clock on, 100 ms at a time, until it settles. */
async function withTime<T>(clock: FakeClock, work: Promise<T>): Promise<T> {
  let settled = false;
  void work.finally(() => (settled = true)).catch(() => undefined);
  while (!settled) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!settled) clock.advance(100);
  }
  return work;
}

describe('restartUnderDelve', () => {
  const request = (attached: number | undefined) => ({ plugin: 'postgres', attached, continueWaitMs: 30_000, signal: new AbortController().signal });

  it('with no debugger attached: halts the running program, relaunches it without a rebuild and lets it run', async () => {
    const delve = fakeDelve();
    const logger = recordingLogger();
    const result = await restartUnderDelve(delve.rpc, request(0), { clock: new FakeClock(), logger });
    expect(result).toEqual({ status: 'restarted', discarded: [] });
    expect(delve.calls).toEqual(['State', 'Command halt', 'ListBreakpoints', 'Restart', 'ListBreakpoints', 'send Command continue']);
    expect(delve.running()).toBe(true);
    expect(logger.lines.filter((line) => !line.startsWith('DEBUG'))).toEqual([]);
  });

  it('a program stopped at a breakpoint is relaunched without a halt', async () => {
    const delve = fakeDelve({ running: false });
    await restartUnderDelve(delve.rpc, request(undefined), { clock: new FakeClock(), logger: recordingLogger() });
    expect(delve.calls).toEqual(['State', 'ListBreakpoints', 'Restart', 'ListBreakpoints', 'send Command continue']);
  });

  it('a program that exited (a crash) is relaunched too: Delve answers State with an error then', async () => {
    const delve = fakeDelve({ exited: true, running: false });
    const result = await restartUnderDelve(delve.rpc, request(0), { clock: new FakeClock(), logger: recordingLogger() });
    expect(result).toEqual({ status: 'restarted', discarded: [] });
    expect(delve.calls).toEqual(['State', 'ListBreakpoints', 'Restart', 'ListBreakpoints', 'send Command continue']);
    expect(delve.running()).toBe(true);
  });

  it('names the breakpoints the new code no longer has', async () => {
    const discarded = [
      { Breakpoint: { id: 1, file: '/src/plugins/postgres/main.go', line: 42 }, Reason: 'could not find statement at /src/plugins/postgres/main.go:42' },
    ];
    const logger = recordingLogger();
    const result = await restartUnderDelve(fakeDelve({ discarded }).rpc, request(0), { clock: new FakeClock(), logger });
    expect(result).toEqual({ status: 'restarted', discarded });
    expect(logger.lines).toEqual([
      'WARN breakpoints not restored plugin=postgres breakpoints=main.go:42 reason=could not find statement at /src/plugins/postgres/main.go:42',
    ]);
  });

  it('names a breakpoint Delve kept pending (set by a location expression) but could not place in the new code; placed ones are not named', async () => {
    const answer = { id: 1, file: '/src/plugins/postgres/main.go', line: 59, functionName: 'main.answer', addrs: [4242] };
    const handler = { id: 2, file: '/src/plugins/postgres/main.go', line: 40, functionName: 'main.main.func1', addrs: [4100] };
    const logger = recordingLogger();
    const result = await restartUnderDelve(fakeDelve({ breakpoints: [answer, handler], placedAfter: [{ ...handler, addrs: [4300] }] }).rpc, request(0), {
      clock: new FakeClock(),
      logger,
    });
    expect(result).toEqual({ status: 'restarted', discarded: [{ Breakpoint: answer, Reason: 'no statement at its location in the new code' }] });
    expect(logger.lines).toEqual(['WARN breakpoints not restored plugin=postgres breakpoints=main.go:59 reason=no statement at its location in the new code']);
  });

  it("with a debugger attached, its own continue runs the program (it then reports the next breakpoint): the watcher's is not sent", async () => {
    const delve = fakeDelve({ debuggerContinuesAfter: 3 });
    const clock = new FakeClock();
    const logger = recordingLogger();
    const result = await withTime(clock, restartUnderDelve(delve.rpc, request(1), { clock, logger }));
    expect(result.status).toBe('restarted');
    expect(delve.calls).toEqual(['State', 'Command halt', 'ListBreakpoints', 'Restart', 'ListBreakpoints', 'State', 'State', 'State', 'State']);
    expect(logger.lines).toEqual(['INFO plugin relaunched under Delve; continue it in your debugger plugin=postgres debuggers=1']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a debugger that does not continue within the wait: the watcher continues the program, saying so', async () => {
    const delve = fakeDelve();
    const clock = new FakeClock();
    const logger = recordingLogger();
    const result = await withTime(clock, restartUnderDelve(delve.rpc, { ...request(2), continueWaitMs: 1000 }, { clock, logger }));
    expect(result.status).toBe('restarted');
    expect(delve.calls.at(-1)).toBe('send Command continue');
    expect(logger.lines).toEqual([
      'INFO plugin relaunched under Delve; continue it in your debugger plugin=postgres debuggers=2',
      'WARN no attached debugger continued the plugin; continuing it plugin=postgres waited=1s',
    ]);
    expect(clock.now()).toBeGreaterThanOrEqual(1000);
  });

  it("a failed Restart is a failure naming the step and Delve's error; nothing is continued", async () => {
    const delve = fakeDelve({ failOn: 'Restart' });
    const result = await restartUnderDelve(delve.rpc, request(0), { clock: new FakeClock(), logger: recordingLogger() });
    expect(result).toEqual({ status: 'failed', reason: expect.stringMatching(/^Delve's Restart failed: .*text file busy/) });
    expect(delve.calls).toEqual(['State', 'Command halt', 'ListBreakpoints', 'Restart']);
  });
});
