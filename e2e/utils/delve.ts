import { connect, type Socket } from 'node:net';

/** A JSON-RPC 2 client of Delve's headless API (`dlv --headless --api-version=2`): one JSON object per request. */
export interface DelveClient {
  call<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Sends without waiting for the answer (`continue` answers only when the program stops again). */
  send(method: string, params?: Record<string, unknown>): void;
  close(): void;
}

/** Connects to Delve on 127.0.0.1:`port`, retrying until `timeoutMs` (the container may be starting). */
export async function connectDelve(port: number, timeoutMs = 30_000): Promise<DelveClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await open(port);
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`Delve on 127.0.0.1:${port} did not answer within ${timeoutMs} ms: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function open(port: number): Promise<DelveClient> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  let buffer = '';
  let nextId = 0;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (!line.trim()) continue;
      const message = JSON.parse(line) as { id: number; result: unknown; error: string | null };
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) pending?.reject(new Error(message.error));
      else pending?.resolve(message.result);
    }
  });
  const fail = (error: Error) => {
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('Delve closed the connection')));
  // A first answer proves it is Delve and not just an open port (podman's port forwarder accepts before dlv listens).
  const client: DelveClient = {
    call(method, params = {}, timeoutMs = 15_000) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (value) => (clearTimeout(timer), resolve(value as never)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
        socket.write(`${JSON.stringify({ method, params: [params], id })}\n`);
      });
    },
    send(method, params = {}) {
      socket.write(`${JSON.stringify({ method, params: [params], id: ++nextId })}\n`);
    },
    close() {
      socket.destroy();
    },
  };
  try {
    await client.call('RPCServer.GetVersion', {}, 3000);
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}
