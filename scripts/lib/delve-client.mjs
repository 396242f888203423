// A JSON-RPC 2 client of Delve's headless API (`dlv --headless --api-version=2`): one JSON object a line each way.
// Shared by the e2e tests (e2e/utils/delve.ts) and the benchmark (scripts/bench/debug-scenario.mjs).
import { connect } from 'node:net';

/** Connects to Delve on 127.0.0.1:`port`, retrying until `timeoutMs` (the container may be starting). */
export async function connectDelve(port, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await open(port);
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`Delve on 127.0.0.1:${port} did not answer within ${timeoutMs} ms: ${error.message}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function open(port) {
  const socket = await new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  let buffer = '';
  let nextId = 0;
  const waiting = new Map();
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (!line.trim()) continue;
      const message = JSON.parse(line);
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) pending?.reject(new Error(message.error));
      else pending?.resolve(message.result);
    }
  });
  const fail = (error) => {
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('Delve closed the connection')));
  const client = {
    call(method, params = {}, timeoutMs = 15_000) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (value) => (clearTimeout(timer), resolve(value)),
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
  // A first answer proves it is Delve and not just an open port (podman's port forwarder accepts before dlv listens).
  try {
    await client.call('RPCServer.GetVersion', {}, 3000);
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

/**
 * Halts the program, reads its goroutines and the functions matching `filter`, and lets it run on (`continue`
 * answers only when the program stops again: sent, not awaited).
 */
export async function inspectProgram(delve, filter = '^main\\.') {
  const state = await delve.call('RPCServer.State', { NonBlocking: true });
  const halted = await delve.call('RPCServer.Command', { name: 'halt' });
  const goroutines = await delve.call('RPCServer.ListGoroutines', { Start: 0, Count: 0 });
  const functions = await delve.call('RPCServer.ListFunctions', { Filter: filter });
  delve.send('RPCServer.Command', { name: 'continue' });
  return {
    running: state.State.Running,
    exited: state.State.exited,
    haltedPid: halted.State.Pid,
    haltedRunning: halted.State.Running,
    goroutines: goroutines.Goroutines.length,
    functions: functions.Funcs,
  };
}
