// Free loopback ports for the plugin containers of the demo, the benchmark and the e2e tests.
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
 * (a number, or several: the debug container's port, Delve's).
 */
export async function choosePorts(count, { first, last, twinOffset }) {
  const offsets = [0, ...[twinOffset].flat()];
  const ports = [];
  for (let port = first; ports.length < count && port < last; port++) {
    let free = true;
    for (const offset of offsets) free = free && (await isPortFree(port + offset));
    if (free) ports.push(port);
  }
  if (ports.length < count) throw new Error(`no ${count} free ports (and their +${offsets.slice(1).join('/+')} twins) in ${first}-${last - 1}`);
  return ports;
}
