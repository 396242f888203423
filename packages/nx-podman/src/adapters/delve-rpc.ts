/**
 * Delve's JSON-RPC API over TCP (`dlv --headless --api-version=2`: Go's net/rpc JSON codec, one object per line each
 * way), and the kernel's socket tables that tell how many debuggers are attached to it.
 */
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { establishedConnections } from '../core/delve';
import type { DelveRpc } from '../core/ports';

/** How long the connection may take to open: Delve answers at once, or the port is not Delve's. */
const CONNECT_TIMEOUT_MS = 3000;
/** How long a closing connection may take to send what is queued (a last `continue`) before it is cut. */
const CLOSE_GRACE_MS = 1000;

/** Opens a connection to Delve on `host`:`port`; rejects when nothing accepts it within a few seconds. */
export async function connectDelveRpc(port: number, host = '127.0.0.1'): Promise<DelveRpc> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const opened = connect({ port, host, timeout: CONNECT_TIMEOUT_MS });
    opened.once('connect', () => {
      opened.setTimeout(0);
      opened.removeAllListeners('error');
      resolve(opened);
    });
    opened.once('timeout', () => {
      opened.destroy();
      reject(new Error(`connecting to ${host}:${port} timed out after ${CONNECT_TIMEOUT_MS} ms`));
    });
    opened.once('error', reject);
  });
  return delveRpcOver(socket);
}

/** The {@link DelveRpc} of an open socket. */
export function delveRpcOver(socket: Socket): DelveRpc {
  type Waiting = { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout };
  const waiting = new Map<number, Waiting>();
  let nextId = 0;
  let buffer = '';
  let closed: Error | undefined;
  const fail = (error: Error): void => {
    closed ??= error;
    for (const entry of waiting.values()) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    waiting.clear();
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
      const line = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      if (!line) continue;
      let message: { id?: number; result?: unknown; error?: unknown };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        fail(new Error(`Delve sent something that is not JSON: ${line.slice(0, 120)}`));
        socket.destroy();
        return;
      }
      const entry = message.id === undefined ? undefined : waiting.get(message.id);
      if (!entry || message.id === undefined) continue;
      waiting.delete(message.id);
      clearTimeout(entry.timer);
      if (message.error) entry.reject(new Error(String(message.error)));
      else entry.resolve(message.result);
    }
  });
  socket.on('error', (error) => fail(error));
  socket.on('close', () => fail(new Error('Delve closed the connection')));

  const write = (method: string, params: object): number => {
    const id = ++nextId;
    socket.write(`${JSON.stringify({ method: `RPCServer.${method.replace(/^RPCServer\./, '')}`, params: [params], id })}\n`);
    return id;
  };
  return {
    call<T>(method: string, params: object, timeoutMs: number): Promise<T> {
      if (closed) return Promise.reject(closed);
      return new Promise<T>((resolve, reject) => {
        const id = write(method, params);
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      });
    },
    send(method, params) {
      if (!closed) write(method, params);
    },
    close() {
      fail(new Error('closed'));
      // end() sends what is queued (a last continue) first; the timer cuts a peer that never closes its side.
      const cut = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      cut.unref();
      socket.once('close', () => clearTimeout(cut));
      socket.end();
    },
  };
}

/**
 * How many connections to `containerPort` are established in the network namespace of the container whose pid 1 is
 * `pid` (`/proc/<pid>/net/tcp` and `tcp6`, readable from this host when podman runs here); undefined when it cannot tell.
 */
export async function attachedConnections(pid: number, containerPort: number): Promise<number | undefined> {
  try {
    const tables = await Promise.all(['tcp', 'tcp6'].map((table) => readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '')));
    if (tables.every((table) => table === '')) return undefined;
    return establishedConnections(tables, containerPort);
  } catch {
    return undefined;
  }
}
