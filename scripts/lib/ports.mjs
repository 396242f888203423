// Free loopback ports for the demo's and the benchmark's plugin containers.
import { createServer } from 'node:net';

function isPortFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` ports from `first` (below `last`) that are free on 127.0.0.1 together with their `port + twinOffset`
 * (the debug container's port).
 */
export async function choosePorts(count, { first, last, twinOffset }) {
  const ports = [];
  for (let port = first; ports.length < count && port < last; port++) {
    if ((await isPortFree(port)) && (await isPortFree(port + twinOffset))) ports.push(port);
  }
  if (ports.length < count) throw new Error(`no ${count} free ports (and their +${twinOffset} twins) in ${first}-${last - 1}`);
  return ports;
}
