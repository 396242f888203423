// Part 11: what the watcher's gate (holdRequests) adds to every request. A small HTTP server on 127.0.0.1 answers
// directly and through the gate of the packed plugin (the code users install), at a fixed rate, alternating one request
// each way so that both see the same machine; per request on a new connection (what the gate does most: accept, connect,
// pipe) and on one kept-alive connection (bytes through an open pipe).
import { createServer, request, Agent } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

function once(port, agent) {
  return new Promise((resolve, reject) => {
    const began = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - began) / 1e6));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `count` requests at `rate` per second, alternating direct and gated; latencies in ms for each way. */
async function alternate(direct, gated, { count, rate, keepAlive }) {
  const agents = keepAlive ? [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })] : [false, false];
  const samples = { direct: [], gated: [] };
  const gap = 1000 / rate;
  for (let index = 0; index < count; index += 1) {
    const began = Date.now();
    samples.direct.push(await once(direct, agents[0]));
    samples.gated.push(await once(gated, agents[1]));
    const wait = 2 * gap - (Date.now() - began);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  for (const agent of agents) if (agent) agent.destroy();
  return samples;
}

export async function measureHoldOverhead(templateDir, { count = 1500, rate = 300, log }) {
  const require = createRequire(join(templateDir, 'package.json'));
  const dist = join(templateDir, 'node_modules', '@prism', 'nx-podman', 'dist');
  const { createTcpGate, freeLoopbackPorts } = require(join(dist, 'adapters', 'tcp-gate.js'));
  const { createRequestGate } = require(join(dist, 'core', 'request-hold.js'));
  const { createSystemClock } = require(join(dist, 'adapters', 'system-clock.js'));
  const body = JSON.stringify({ plugin: 'bench', core: '0.1.0', message: 'hello' });
  const server = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const backend = server.address().port;
  const [port] = await freeLoopbackPorts(1);
  const quiet = { debug() {}, info() {}, warn() {}, error() {}, output() {} };
  const gate = createTcpGate(createRequestGate({ project: 'bench', clock: createSystemClock(), logger: quiet, limits: { timeoutMs: 30_000, maxHeld: 1000 } }), [
    { host: '127.0.0.1', port, containerPort: 80 },
  ]);
  const refused = await gate.listen();
  if (refused) throw new Error(refused);
  gate.serve(new Map([[80, backend]]));
  const rows = [];
  try {
    for (const keepAlive of [false, true]) {
      // A short warm-up (JIT, first connections) that is not counted.
      await alternate(backend, port, { count: 100, rate, keepAlive });
      const samples = await alternate(backend, port, { count, rate, keepAlive });
      const row = { connection: keepAlive ? 'kept alive' : 'new per request', rate: rate * 2, count };
      for (const way of ['direct', 'gated']) row[way] = { p50: percentile(samples[way], 50), p99: percentile(samples[way], 99) };
      row.addedP50 = row.gated.p50 - row.direct.p50;
      row.addedP99 = row.gated.p99 - row.direct.p99;
      log(`  gate overhead (${row.connection}): p50 +${row.addedP50.toFixed(3)} ms, p99 +${row.addedP99.toFixed(3)} ms`);
      rows.push(row);
    }
  } finally {
    await gate.close();
    await new Promise((resolve) => server.close(resolve));
  }
  return rows;
}
