import * as http from 'node:http';
import * as net from 'node:net';
import { createLogger } from './logger';
import { createWatchState, type StatusPage } from '../core/watch-state';
import { startStatusServer } from './status-server';

// A real HTTP server on 127.0.0.1 and real requests; the page in a browser is e2e/status-page.e2e.spec.ts.
const logger = createLogger({ verbose: false, stream: { write: () => true } as never });

function setup() {
  const board = createWatchState({ now: () => 5000, stage: 'production', reload: true });
  board.setProjects(['postgres']);
  const calls: string[] = [];
  const actions = {
    build: (p: string) => calls.push(`build ${p}`),
    rebuild: (p: string) => calls.push(`rebuild ${p}`),
    pause: (p: string) => calls.push(`pause ${p}`),
    resume: (p: string) => calls.push(`resume ${p}`),
  };
  return { board, calls, actions };
}

/** A request with full control of the Host header (fetch does not allow setting it). */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('status server', () => {
  let page: StatusPage | undefined;
  afterEach(async () => {
    await page?.close();
    page = undefined;
  });

  it('listens on 127.0.0.1 and prints a URL with a token; without it, or with another, every route is 403', async () => {
    const { board, actions } = setup();
    page = await startStatusServer({ state: board, actions, port: 0, logger });
    const url = new URL(page.url);
    expect(url.hostname).toBe('127.0.0.1');
    const token = url.searchParams.get('token')!;
    expect(token.length).toBeGreaterThanOrEqual(32);
    const base = `http://127.0.0.1:${url.port}`;
    for (const path of ['/', '/api/status', '/events', `/?token=${token}x`, '/api/status?token=']) {
      const response = await request(`${base}${path}`);
      expect([path, response.status]).toEqual([path, 403]);
      expect(response.body).toContain('the URL watch-reload printed');
    }
    expect((await request(`${base}/api/projects/postgres/build`, { method: 'POST' })).status).toBe(403);
    expect((await request(`${base}/api/status?token=${token}`)).status).toBe(200);
  });

  it('refuses a request whose Host is not the loopback address (DNS rebinding), even with the token', async () => {
    const { board, actions } = setup();
    page = await startStatusServer({ state: board, actions, port: 0, logger });
    const url = new URL(page.url);
    const response = await request(page.url, { headers: { Host: `evil.example:${url.port}` } });
    expect(response.status).toBe(403);
    expect((await request(page.url, { headers: { Host: `localhost:${url.port}` } })).status).toBe(200);
  });

  it('serves the page with a CSP nonce and no referrer, and the board as JSON', async () => {
    const { board, actions } = setup();
    page = await startStatusServer({ state: board, actions, port: 0, logger });
    const html = await request(page.url);
    expect(html.status).toBe(200);
    const nonce = /script-src 'nonce-([^']+)'/.exec(String(html.headers['content-security-policy']))![1];
    expect(html.body).toContain(`<script nonce="${nonce}">`);
    expect(html.headers['referrer-policy']).toBe('no-referrer');
    const json = await request(page.url.replace('/?', '/api/status?'));
    expect(JSON.parse(json.body)).toMatchObject({ stage: 'production', projects: [{ name: 'postgres', state: 'idle' }] });
  });

  it('streams the board as Server-Sent Events: the current one at once, then one per change', async () => {
    const { board, actions } = setup();
    page = await startStatusServer({ state: board, actions, port: 0, logger });
    const events: Record<string, unknown>[] = [];
    const got = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => (events.length >= count ? resolve() : setTimeout(check, 10));
        check();
      });
    const req = http.get(page.url.replace('/?', '/events?'), (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream');
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          if (block.includes('event: status') && data) events.push(JSON.parse(data.slice(6)) as Record<string, unknown>);
        }
      });
    });
    req.on('error', () => undefined);
    await got(1);
    board.changed(['postgres'], 'plugins/postgres/main.go');
    await got(2);
    expect(events[1]).toMatchObject({ projects: [{ name: 'postgres', state: 'pending', pendingFiles: ['plugins/postgres/main.go'] }] });
    // Closing the page ends the stream: the client sees the end.
    const ended = new Promise<void>((resolve) => req.on('close', () => resolve()));
    await page.close();
    page = undefined;
    await ended;
  });

  it('actions need POST and a known project; they reach the watcher', async () => {
    const { board, actions, calls } = setup();
    page = await startStatusServer({ state: board, actions, port: 0, logger });
    const url = new URL(page.url);
    const token = url.searchParams.get('token')!;
    const base = `http://127.0.0.1:${url.port}/api/projects`;
    const headers = { 'X-Status-Token': token };
    for (const action of ['build', 'rebuild', 'pause', 'resume'])
      expect((await request(`${base}/postgres/${action}`, { method: 'POST', headers })).status).toBe(202);
    expect(calls).toEqual(['build postgres', 'rebuild postgres', 'pause postgres', 'resume postgres']);
    expect((await request(`${base}/postgres/build`, { headers })).status).toBe(405);
    expect(await request(`${base}/mysql/build`, { method: 'POST', headers })).toMatchObject({ status: 404, body: 'Unknown project "mysql".\n' });
    expect((await request(`${base}/postgres/delete`, { method: 'POST', headers })).status).toBe(404);
    expect(calls).toHaveLength(4);
  });

  it('a port in use is an error naming the option, the port and the fix', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { board, actions } = setup();
      await expect(startStatusServer({ state: board, actions, port, logger })).rejects.toThrow(
        `Invalid watch-reload option "statusPort": ${port}. The status page cannot listen on 127.0.0.1:${port}: another process listens there; choose another port, or 0 for any free one. Or set statusPort to false for no page.`,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
