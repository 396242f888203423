// Load clients for a plugin's published port, shared by the hold-requests e2e and the bench's hold part: an HTTP client
// on a new connection per request, and a gRPC client on one long-lived HTTP/2 connection.
import { request as httpRequest } from 'node:http';
import { connect as http2Connect, constants } from 'node:http2';

function newStats() {
  return { sent: 0, ok: 0, failed: 0, failures: [], retried: 0, slowestMs: 0, last: '' };
}

function fail(stats, reason) {
  stats.failed += 1;
  if (stats.failures.length < 20) stats.failures.push(`${new Date().toISOString()} ${reason}`);
}

/** GET / on a new connection every `intervalMs` (like curl in a loop): a refused, reset or non-200 answer is a failure. */
/**
 * @typedef {{ sent: number, ok: number, failed: number, failures: string[], retried: number, slowestMs: number, last: string }} LoadStats
 * @typedef {{ stats: LoadStats, stop(): Promise<void> }} LoadClient
 */

/** @returns {LoadClient} */
export function startHttpLoad(port, intervalMs) {
  const stats = newStats();
  const due = new Set();
  const timer = setInterval(() => {
    stats.sent += 1;
    const began = Date.now();
    const done = new Promise((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 60_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode === 200) {
            stats.ok += 1;
            stats.last = body.trim();
            stats.slowestMs = Math.max(stats.slowestMs, Date.now() - began);
          } else fail(stats, `HTTP ${res.statusCode}`);
          resolve();
        });
        res.on('error', (error) => {
          fail(stats, `response: ${error.message}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
      req.on('error', (error) => {
        fail(stats, `request: ${error.code ?? ''} ${error.message}`);
        resolve();
      });
      req.end();
    });
    due.add(done);
    void done.then(() => due.delete(done));
  }, intervalMs);
  return {
    stats,
    async stop() {
      clearInterval(timer);
      await Promise.all([...due]);
    },
  };
}

/** The `message` field (3) of a prism.plugin.v1.InfoResponse (all its fields are strings: tag, length, bytes). */
function infoMessage(frame) {
  let message = '';
  const body = frame.subarray(5);
  for (let offset = 0; offset < body.length;) {
    const tag = body[offset++];
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = body[offset++];
      length |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    if (tag === 0x1a) message = body.subarray(offset, offset + length).toString('utf8');
    offset += length;
  }
  return message;
}

/**
 * Unary `prism.plugin.v1.Plugin/Info` calls every `intervalMs` on one long-lived HTTP/2 connection, as a gRPC channel
 * makes them: a new connection only once the server sent GOAWAY or closed it, and a call the server refused before
 * working on it (REFUSED_STREAM, or opened on a connection that had received GOAWAY) sent again once, on the new
 * connection (gRPC's transparent retry). Any other error, or a grpc-status other than 0, is a failure.
 */
export function startGrpcLoad(port, intervalMs) {
  const stats = newStats();
  const due = new Set();
  let session;
  let sessions = 0;
  const channel = () => {
    if (!session || session.closed || session.destroyed || session.goneAway) {
      const next = http2Connect(`http://127.0.0.1:${port}`);
      sessions += 1;
      next.on('goaway', () => (next.goneAway = true));
      next.on('error', () => undefined);
      session = next;
    }
    return session;
  };
  const call = (retry, began) =>
    new Promise((resolve) => {
      const current = channel();
      let stream;
      try {
        stream = current.request({ ':method': 'POST', ':path': '/prism.plugin.v1.Plugin/Info', 'content-type': 'application/grpc', te: 'trailers' });
      } catch (error) {
        if (retry) {
          stats.retried += 1;
          current.goneAway = true;
          return resolve(call(false, began));
        }
        fail(stats, `request: ${error.message}`);
        return resolve();
      }
      let headers = false;
      let status;
      const chunks = [];
      stream.on('response', (h) => {
        headers = true;
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      });
      stream.on('trailers', (t) => (status = String(t['grpc-status'])));
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.setTimeout(60_000, () => stream.close(constants.NGHTTP2_CANCEL));
      stream.on('close', () => {
        const refused = stream.rstCode === constants.NGHTTP2_REFUSED_STREAM || (!headers && current.goneAway === true);
        if (status === '0') {
          stats.ok += 1;
          stats.last = infoMessage(Buffer.concat(chunks));
          stats.slowestMs = Math.max(stats.slowestMs, Date.now() - began);
        } else if (refused && retry) {
          stats.retried += 1;
          current.goneAway = true;
          return resolve(call(false, began));
        } else {
          fail(stats, `gRPC: status ${status ?? 'none'}, rst ${stream.rstCode}, headers ${headers}, connection ${sessions}`);
        }
        resolve();
      });
      stream.on('error', () => undefined);
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  const timer = setInterval(() => {
    stats.sent += 1;
    const done = call(true, Date.now());
    due.add(done);
    void done.then(() => due.delete(done));
  }, intervalMs);
  return {
    stats,
    async stop() {
      clearInterval(timer);
      await Promise.all([...due]);
      session?.close();
    },
  };
}
