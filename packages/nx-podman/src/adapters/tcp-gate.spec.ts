import { quietLogger } from '../testing/recording-logger';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createRequestGate } from '../core/request-hold';
import { createSystemClock } from './system-clock';
import { createTcpGate, freeLoopbackPorts, type TcpGate } from './tcp-gate';

/** A backend answering each line with `name:line`. */
async function backend(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => socket.write(`${name}:${data}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Connects, sends `text`, resolves with the first answer, or with `closed` when the connection ends without one. */
function ask(port: number, text: string): { socket: Socket; answer: Promise<string> } {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setEncoding('utf8');
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (data: string) => resolve(data));
    socket.on('close', () => resolve('closed'));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
  socket.write(text);
  return { socket, answer };
}

describe('tcp gate (real sockets on 127.0.0.1)', () => {
  const servers: Server[] = [];
  let gate: TcpGate | undefined;
  afterEach(async () => {
    await gate?.close();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function setup(timeoutMs = 30_000) {
    const [port] = await freeLoopbackPorts(1);
    const blue = await backend('blue');
    const green = await backend('green');
    servers.push(blue.server, green.server);
    gate = createTcpGate(createRequestGate({ project: 'p', clock: createSystemClock(), logger: quietLogger, limits: { timeoutMs, maxHeld: 10 } }), [
      { host: '127.0.0.1', port: port!, containerPort: 9090 },
    ]);
    expect(await gate.listen()).toBeUndefined();
    return { port: port!, blue: blue.port, green: green.port, gate };
  }

  it('forwards while serving, holds what arrives during a hold (data sent meanwhile included) and sends it to the next backend', async () => {
    const { port, blue, green, gate } = await setup();
    gate.serve(new Map([[9090, blue]]));
    const first = ask(port, 'one');
    expect(await first.answer).toBe('blue:one');
    first.socket.destroy();
    gate.hold();
    const held = ask(port, 'two');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(gate.gate.snapshot().held).toBe(1);
    gate.serve(new Map([[9090, green]]));
    expect(await held.answer).toBe('green:two');
    held.socket.destroy();
  });

  it('closing while holding: the held connection is closed and nothing listens on the port any more', async () => {
    const { port, gate } = await setup();
    const held = ask(port, 'waits');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await gate.close();
    expect(['closed', 'ECONNRESET']).toContain(await held.answer);
    expect(await ask(port, 'late').answer).toBe('ECONNREFUSED');
  });

  it('a held connection is closed after holdTimeout', async () => {
    const { port } = await setup(200);
    expect(['closed', 'ECONNRESET']).toContain(await ask(port, 'waits').answer);
  });

  it('says which port is taken and the option that avoids it', async () => {
    const taken = await backend('other');
    servers.push(taken.server);
    const busy = createTcpGate(createRequestGate({ project: 'p', clock: createSystemClock(), logger: quietLogger, limits: { timeoutMs: 1000, maxHeld: 1 } }), [
      { host: '127.0.0.1', port: taken.port, containerPort: 9090 },
    ]);
    expect(await busy.listen()).toMatch(new RegExp(`Could not listen on 127\\.0\\.0\\.1:${taken.port}.*EADDRINUSE.*"holdRequests" to false`));
    expect(busy.listening()).toBe(false);
    await busy.close();
  });
});
