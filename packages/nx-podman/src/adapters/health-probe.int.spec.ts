import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as net from 'node:net';
import { GRPC_HEALTH_CHECK_PATH, type GrpcServingStatus } from '../core/grpc-health';
import { decodeHealthCheckRequest, encodeHealthCheckResponse } from '../testing/grpc-health-messages';
import { FakeEngine } from '../testing/fake-engine';
import { createHealthProbe } from './health-probe';

// Real sockets and a real gRPC server in this process; podman-backed checks (command, image) are covered by
// run-podman-run.int.spec.ts.
const probe = createHealthProbe({ engine: new FakeEngine() });
const options = { container: 'unused', timeoutMs: 2000 };

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function close(server: net.Server): Promise<void> {
  (server as http.Server).closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
}

/** A port with nothing listening on it. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await close(server);
  return port;
}

describe('health probe: http', () => {
  let server: http.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    server = http.createServer((request, response) => {
      if (request.url === '/healthz') response.end('ok');
      else if (request.url === '/hang')
        return; // never answers
      else if (request.url === '/moved') response.writeHead(302, { location: '/healthz' }).end();
      else response.writeHead(503).end('starting');
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    port = await listen(server);
  });
  afterAll(() => close(server));

  it('is healthy on 2xx and 3xx', async () => {
    await expect(probe.probe({ kind: 'http', url: `http://127.0.0.1:${port}/healthz` }, options)).resolves.toEqual({ ok: true });
    await expect(probe.probe({ kind: 'http', url: `http://127.0.0.1:${port}/moved` }, options)).resolves.toEqual({ ok: true });
  });

  it('reports the status code otherwise', async () => {
    await expect(probe.probe({ kind: 'http', url: `http://127.0.0.1:${port}/other` }, options)).resolves.toEqual({
      ok: false,
      reason: `GET http://127.0.0.1:${port}/other answered HTTP 503`,
    });
  });

  it('reports a refused connection', async () => {
    const closed = await freePort();
    const result = await probe.probe({ kind: 'http', url: `http://127.0.0.1:${closed}/healthz` }, options);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(new RegExp(`GET http://127.0.0.1:${closed}/healthz failed: .*ECONNREFUSED`)) });
  });

  it('gives up after the attempt timeout and leaves no socket open', async () => {
    const result = await probe.probe({ kind: 'http', url: `http://127.0.0.1:${port}/hang` }, { ...options, timeoutMs: 300 });
    expect(result).toEqual({ ok: false, reason: `GET http://127.0.0.1:${port}/hang did not answer within 300 ms` });
    await waitFor(() => sockets.size === 0);
  });

  it('ends at once when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = probe.probe({ kind: 'http', url: `http://127.0.0.1:${port}/hang` }, { ...options, timeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).resolves.toEqual({ ok: false, reason: 'aborted' });
    await waitFor(() => sockets.size === 0);
  });
});

describe('health probe: tcp', () => {
  it('is healthy when a server accepts and keeps the connection', async () => {
    const server = net.createServer(() => undefined);
    const port = await listen(server);
    try {
      await expect(probe.probe({ kind: 'tcp', host: '127.0.0.1', port }, options)).resolves.toEqual({ ok: true });
    } finally {
      await close(server);
    }
  });

  it('fails when the connection is refused', async () => {
    const port = await freePort();
    await expect(probe.probe({ kind: 'tcp', host: '127.0.0.1', port }, options)).resolves.toEqual({
      ok: false,
      reason: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('fails when the connection is closed right after being accepted (a port forwarder with nothing behind it)', async () => {
    const server = net.createServer((socket) => socket.destroy());
    const port = await listen(server);
    try {
      await expect(probe.probe({ kind: 'tcp', host: '127.0.0.1', port }, options)).resolves.toEqual({
        ok: false,
        reason: `TCP 127.0.0.1:${port}: connection closed right after it was accepted`,
      });
    } finally {
      await close(server);
    }
  });
});

describe('health probe: grpc', () => {
  let server: grpc.Server;
  let port: number;
  const statuses: Record<string, GrpcServingStatus> = { '': 'SERVING', plugin: 'NOT_SERVING' };
  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(
      {
        Check: {
          path: GRPC_HEALTH_CHECK_PATH,
          requestStream: false,
          responseStream: false,
          requestSerialize: (value: { service: string }) => Buffer.from(value.service),
          // An object, not the bare string: grpc-js treats a falsy decoded request ('' = whole server) as missing.
          requestDeserialize: (buffer: Buffer) => ({ service: decodeHealthCheckRequest(buffer) }),
          responseSerialize: (status: GrpcServingStatus) => encodeHealthCheckResponse(status),
          responseDeserialize: (buffer: Buffer) => buffer,
        },
      },
      {
        Check: (call: grpc.ServerUnaryCall<{ service: string }, GrpcServingStatus>, callback: grpc.sendUnaryData<GrpcServingStatus>) => {
          const status = statuses[call.request.service];
          if (status) callback(null, status);
          else callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
        },
      },
    );
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
  });
  afterAll(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));

  it('is healthy when Check answers SERVING', async () => {
    await expect(probe.probe({ kind: 'grpc', address: `127.0.0.1:${port}`, service: '' }, options)).resolves.toEqual({ ok: true });
  });

  it('reports another status, with the service name', async () => {
    await expect(probe.probe({ kind: 'grpc', address: `127.0.0.1:${port}`, service: 'plugin' }, options)).resolves.toEqual({
      ok: false,
      reason: `gRPC health 127.0.0.1:${port} service "plugin" is NOT_SERVING`,
    });
  });

  it('reports gRPC errors by status name', async () => {
    await expect(probe.probe({ kind: 'grpc', address: `127.0.0.1:${port}`, service: 'other' }, options)).resolves.toEqual({
      ok: false,
      reason: `gRPC health 127.0.0.1:${port}: NOT_FOUND unknown service`,
    });
  });

  it('fails when nothing listens', async () => {
    const closed = await freePort();
    await expect(probe.probe({ kind: 'grpc', address: `127.0.0.1:${closed}`, service: '' }, options)).resolves.toEqual({
      ok: false,
      reason: expect.stringMatching(new RegExp(`^gRPC health 127.0.0.1:${closed}: UNAVAILABLE`)),
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
