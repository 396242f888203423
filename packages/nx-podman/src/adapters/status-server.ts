import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/ports';
import type { StatusActions, StatusPage, WatchStateView } from '../core/watch-state';
import { renderStatusPage } from './status-page-html';

/** Comment line on the event stream this often, so that a proxy or the browser does not drop an idle stream. */
export const STATUS_HEARTBEAT_MS = 15_000;
/** Board changes closer together than this go out as one event. */
export const STATUS_COALESCE_MS = 50;

const ACTIONS = ['build', 'rebuild', 'pause', 'resume'] as const;

/** Why the status page could not start (the port is taken, or not allowed). */
export class StatusPageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatusPageError';
  }
}

/**
 * The status page server: node:http on 127.0.0.1 only. Every request needs the token printed at start (query
 * `token=`, or the `X-Status-Token` header for actions): another page in the browser cannot read it, so it can neither
 * read the board nor trigger builds. The Host header must name the loopback address (no DNS rebinding). Routes:
 * `GET /` the page, `GET /api/status` the board as JSON, `GET /events` Server-Sent Events (one `status` event with the
 * whole board per change), `POST /api/projects/<name>/<build|rebuild|pause|resume>`.
 */
export async function startStatusServer(deps: {
  state: WatchStateView;
  actions: StatusActions;
  port: number;
  logger: Logger;
  token?: string;
}): Promise<StatusPage> {
  const { state: board, actions, logger } = deps;
  const token = deps.token ?? randomBytes(24).toString('base64url');
  const expected = Buffer.from(token);
  const streams = new Set<ServerResponse>();
  let port = deps.port;
  let pending: NodeJS.Timeout | undefined;

  const tokenOk = (given: string | null | undefined) => {
    if (!given) return false;
    const received = Buffer.from(given);
    return received.length === expected.length && timingSafeEqual(received, expected);
  };
  const hostOk = (host: string | undefined) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
    res.end(body);
  };
  const event = () => `event: status\ndata: ${JSON.stringify(board.snapshot())}\n\n`;
  const broadcast = () => {
    pending = undefined;
    if (streams.size === 0) return;
    const data = event();
    for (const stream of streams) stream.write(data);
  };
  const unsubscribe = board.subscribe(() => {
    pending ??= setTimeout(broadcast, STATUS_COALESCE_MS);
  });
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': keep-alive\n\n');
  }, STATUS_HEARTBEAT_MS);
  heartbeat.unref();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!hostOk(req.headers.host)) return send(res, 403, 'Forbidden: the status page answers on 127.0.0.1 only.\n');
    const given = url.searchParams.get('token') ?? (req.headers['x-status-token'] as string | undefined);
    if (!tokenOk(given)) return send(res, 403, 'Forbidden: open the status page with the URL watch-reload printed at start (it carries the token).\n');
    if (req.method === 'GET' && url.pathname === '/') {
      const nonce = randomBytes(16).toString('base64');
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
        'X-Frame-Options': 'DENY',
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      });
      return res.end(renderStatusPage(nonce));
    }
    if (req.method === 'GET' && url.pathname === '/api/status') return send(res, 200, JSON.stringify(board.snapshot()), 'application/json');
    if (req.method === 'GET' && url.pathname === '/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
      res.write(`retry: 1000\n${event()}`);
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    const action = /^\/api\/projects\/([^/]+)\/([a-z]+)$/.exec(url.pathname);
    if (action) {
      if (req.method !== 'POST') return send(res, 405, 'Use POST for actions.\n');
      const project = decodeURIComponent(action[1]);
      const name = action[2] as (typeof ACTIONS)[number];
      if (!ACTIONS.includes(name)) return send(res, 404, `Unknown action "${action[2]}": expected ${ACTIONS.join(', ')}.\n`);
      if (!board.snapshot().projects.some((entry) => entry.name === project)) return send(res, 404, `Unknown project "${project}".\n`);
      actions[name](project);
      return send(res, 202, JSON.stringify({ project, action: name }), 'application/json');
    }
    return send(res, 404, 'Not found.\n');
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      logger.debug('status page request failed', { reason: (error as Error).message });
      if (!res.headersSent) send(res, 500, 'Internal error.\n');
      else res.end();
    }
  });
  // A watcher with the page open in a browser must still stop at once.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      unsubscribe();
      clearInterval(heartbeat);
      const fix = error.code === 'EADDRINUSE' ? 'another process listens there; choose another port, or 0 for any free one' : error.message;
      reject(
        new StatusPageError(
          `Invalid watch-reload option "statusPort": ${deps.port}. The status page cannot listen on 127.0.0.1:${deps.port}: ${fix}. Or set statusPort to false for no page.`,
        ),
      );
    });
    server.listen(deps.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        unsubscribe();
        clearInterval(heartbeat);
        if (pending) clearTimeout(pending);
        pending = undefined;
        for (const stream of streams) stream.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
