import { createServer, connect, type Server, type Socket } from 'node:net';
import type { GateControl } from '../core/blue-green';
import type { GateListener } from '../core/held-ports';
import type { Backends, GateConnection, RequestGate } from '../core/request-hold';

/** A project's gate on its published ports: the {@link RequestGate} state machine with real sockets. */
export interface TcpGate extends GateControl {
  readonly gate: RequestGate;
  hold(): void;
  /** Stops accepting (the ports are free again when it resolves); connections already forwarded go on. */
  closeListeners(): Promise<void>;
  /** Closes the listeners, every held connection and every forwarded one. */
  close(): Promise<void>;
}

/** Pipes the client to 127.0.0.1:`port`; what the client sent while it was held is read from the paused socket first. */
function pipeTo(client: Socket, port: number, open: Set<Socket>): void {
  const upstream = connect({ host: '127.0.0.1', port });
  open.add(upstream);
  upstream.setNoDelay(true);
  const fail = () => {
    client.destroy();
    upstream.destroy();
  };
  upstream.on('error', fail);
  client.on('error', fail);
  upstream.on('close', () => {
    open.delete(upstream);
    if (!client.writableEnded) client.end();
  });
  upstream.on('connect', () => {
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
}

/** Finds `count` free ports on 127.0.0.1 (listen on port 0, read it, close). */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let index = 0; index < count; index += 1) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, resolve);
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/**
 * The real gate: one `net.Server` per published port, on the configured host address. Every accepted socket is
 * paused and handed to the state machine, which forwards it (now or when the hold ends) or closes it.
 */
export function createTcpGate(gate: RequestGate, listeners: readonly GateListener[]): TcpGate {
  const servers: Server[] = [];
  const open = new Set<Socket>();
  const accept = (listener: GateListener) => (client: Socket) => {
    client.pause();
    client.setNoDelay(true);
    open.add(client);
    let settled = false;
    const connection: GateConnection = {
      containerPort: listener.containerPort,
      forward(port) {
        settled = true;
        pipeTo(client, port, open);
      },
      close() {
        settled = true;
        client.destroy();
      },
    };
    const gone = gate.connection(connection);
    client.on('close', () => {
      open.delete(client);
      if (!settled) gone();
    });
    client.on('error', () => client.destroy());
  };
  const closeListeners = async () => {
    const closing = servers.splice(0, servers.length);
    await Promise.all(closing.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  };
  return {
    gate,
    listeners,
    listening: () => servers.length > 0,
    async listen() {
      if (servers.length > 0) return undefined;
      for (const listener of listeners) {
        const server = createServer({ pauseOnConnect: true }, accept(listener));
        try {
          await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen({ host: listener.host, port: listener.port, exclusive: true }, resolve);
          });
          servers.push(server);
        } catch (error) {
          await closeListeners();
          return `Could not listen on ${listener.host}:${listener.port} to hold requests for the plugin: ${(error as Error).message}. Free the port, or set the watch-reload option "holdRequests" to false.`;
        }
      }
      return undefined;
    },
    backends: () => gate.backends(),
    serve: (backends: Backends) => gate.serve(backends),
    hold: () => gate.hold(),
    freePorts: freeLoopbackPorts,
    closeListeners,
    async close() {
      gate.stop();
      await closeListeners();
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}
