import { FakeClock } from '../testing/fake-clock';
import { recordingLogger } from '../testing/recording-logger';
import { createRequestGate, type GateConnection, type HoldLimits } from './request-hold';

/** A client connection that records what the gate did with it. */
class Client implements GateConnection {
  forwardedTo: number | undefined;
  closed = false;
  constructor(readonly containerPort = 9090) {}
  forward(port: number) {
    if (this.forwardedTo !== undefined || this.closed) throw new Error('settled twice');
    this.forwardedTo = port;
  }
  close() {
    if (this.forwardedTo !== undefined || this.closed) throw new Error('settled twice');
    this.closed = true;
  }
}

const LIMITS: HoldLimits = { timeoutMs: 30_000, maxHeld: 3 };

function setup(limits: HoldLimits = LIMITS) {
  const clock = new FakeClock(1000);
  const logger = recordingLogger();
  const gate = createRequestGate({ project: 'postgres', clock, logger, limits });
  return { clock, logger, gate };
}

const backends = (port: number) => new Map([[9090, port]]);

describe('request gate (hold / switch / drain)', () => {
  it('holds connections until the first serve, then forwards them in arrival order, without a reload log line', () => {
    const { gate, logger } = setup();
    const a = new Client();
    const b = new Client();
    gate.connection(a);
    gate.connection(b);
    expect(gate.snapshot()).toMatchObject({ holding: true, held: 2 });
    gate.serve(backends(41000));
    expect([a.forwardedTo, b.forwardedTo]).toEqual([41000, 41000]);
    expect(logger.lines).toEqual([]);
  });

  it('forwards at once while serving, and holds from hold() until serve(), logging both ends with the count and the wait', () => {
    const { gate, clock, logger } = setup();
    gate.serve(backends(41000));
    const before = new Client();
    gate.connection(before);
    expect(before.forwardedTo).toBe(41000);
    gate.hold();
    const held = new Client();
    gate.connection(held);
    expect(held.forwardedTo).toBeUndefined();
    expect(gate.snapshot()).toMatchObject({ holding: true, held: 1 });
    clock.advance(400);
    expect(gate.snapshot().longestWaitMs).toBe(400);
    gate.serve(backends(41000));
    expect(held.forwardedTo).toBe(41000);
    expect(logger.lines).toEqual(['INFO holding requests plugin=postgres', 'INFO serving plugin=postgres held=1 waited=0.4s']);
    expect(gate.snapshot()).toMatchObject({ holding: false, held: 0, longestWaitMs: 400 });
  });

  it('switches new and held connections to the next container (blue/green), per container port', () => {
    const { gate } = setup();
    gate.serve(
      new Map([
        [9090, 41000],
        [9091, 41001],
      ]),
    );
    gate.hold();
    const grpc = new Client(9090);
    const metrics = new Client(9091);
    gate.connection(grpc);
    gate.connection(metrics);
    gate.serve(
      new Map([
        [9090, 42000],
        [9091, 42001],
      ]),
    );
    expect([grpc.forwardedTo, metrics.forwardedTo]).toEqual([42000, 42001]);
    const later = new Client(9090);
    gate.connection(later);
    expect(later.forwardedTo).toBe(42000);
    expect(gate.backends()).toEqual(
      new Map([
        [9090, 42000],
        [9091, 42001],
      ]),
    );
  });

  it('closes a held connection after holdTimeout and says so once per hold, naming the plugin and the option', () => {
    const { gate, clock, logger } = setup({ timeoutMs: 30_000, maxHeld: 10 });
    gate.serve(backends(41000));
    gate.hold();
    const first = new Client();
    gate.connection(first);
    clock.advance(10_000);
    const second = new Client();
    gate.connection(second);
    clock.advance(20_000);
    expect(first.closed).toBe(true);
    expect(second.closed).toBe(false);
    clock.advance(10_000);
    expect(second.closed).toBe(true);
    const warnings = logger.lines.filter((line) => line.startsWith('WARN'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^WARN held connection closed plugin=postgres reason=waited 30(\.0)?s and the plugin is still not serving fix=raise the watch-reload option "holdTimeout"$/,
    );
    expect(gate.snapshot()).toMatchObject({ held: 0, dropped: 2, longestWaitMs: 30_000 });
    gate.serve(backends(41000));
    expect(logger.lines.at(-1)).toMatch(/^INFO serving plugin=postgres held=0 waited=40(\.0)?s dropped=2$/);
    expect(clock.pendingTimers).toBe(0);
  });

  it('closes connections past maxHeldConnections on arrival and keeps the ones it holds', () => {
    const { gate, logger } = setup({ timeoutMs: 30_000, maxHeld: 2 });
    const clients = [new Client(), new Client(), new Client(), new Client()];
    for (const client of clients) gate.connection(client);
    expect(clients.map((client) => client.closed)).toEqual([false, false, true, true]);
    expect(logger.lines.filter((line) => line.includes('maxHeldConnections'))).toHaveLength(1);
    gate.serve(backends(41000));
    expect(clients.map((client) => client.forwardedTo)).toEqual([41000, 41000, undefined, undefined]);
  });

  it('a plugin that never gets healthy: every held connection is closed at its deadline, nothing waits forever', () => {
    const { gate, clock } = setup({ timeoutMs: 5000, maxHeld: 100 });
    const clients: Client[] = [];
    for (let i = 0; i < 20; i += 1) {
      const client = new Client();
      clients.push(client);
      gate.connection(client);
      clock.advance(100);
    }
    clock.runAll();
    expect(clients.every((client) => client.closed)).toBe(true);
    expect(gate.snapshot()).toMatchObject({ held: 0, dropped: 20 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('forgets a client that went away while held: it is neither forwarded nor counted', () => {
    const { gate } = setup();
    const gone = new Client();
    const stays = new Client();
    const cancel = gate.connection(gone);
    gate.connection(stays);
    cancel();
    expect(gate.snapshot().held).toBe(1);
    gate.serve(backends(41000));
    expect(gone.forwardedTo).toBeUndefined();
    expect(stays.forwardedTo).toBe(41000);
  });

  it('Ctrl-C while holding: stop() closes every held connection and every later one, and leaves no timer', () => {
    const { gate, clock } = setup();
    gate.serve(backends(41000));
    gate.hold();
    const held = [new Client(), new Client()];
    for (const client of held) gate.connection(client);
    gate.stop();
    expect(held.every((client) => client.closed)).toBe(true);
    const late = new Client();
    gate.connection(late);
    expect(late.closed).toBe(true);
    gate.serve(backends(41000));
    gate.connection(new Client());
    expect(gate.snapshot()).toMatchObject({ holding: false, held: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('a connection for a container port with no backend is closed, not forwarded elsewhere', () => {
    const { gate } = setup();
    gate.serve(backends(41000));
    const stray = new Client(8080);
    gate.connection(stray);
    expect(stray.closed).toBe(true);
  });

  it('reports every change to onChange (the status page)', () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const gate = createRequestGate({ project: 'p', clock, logger: recordingLogger(), limits: LIMITS, onChange: (s) => seen.push(s.held) });
    gate.connection(new Client());
    gate.connection(new Client());
    gate.serve(backends(1));
    expect(seen).toEqual([1, 2, 0]);
  });
});
