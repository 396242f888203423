import { JSDOM } from 'jsdom';
import type { StatusSnapshot } from '../core/watch-state';
import { renderStatusPage } from './status-page-html';

/** The page in jsdom with its real script: an EventSource the test feeds, and a fetch that records the actions. */
function openPage() {
  const sources: { url: string; listeners: Map<string, (event: { data: string }) => void>; onerror?: () => void }[] = [];
  const posts: { url: string; init: { method: string; headers: Record<string, string> } }[] = [];
  const dom = new JSDOM(renderStatusPage('n0nce'), {
    url: 'http://127.0.0.1:4000/?token=t0k',
    runScripts: 'dangerously',
    beforeParse(window) {
      class FakeEventSource {
        readonly listeners = new Map<string, (event: { data: string }) => void>();
        onerror?: () => void;
        constructor(readonly url: string) {
          sources.push(this);
        }
        addEventListener(type: string, listener: (event: { data: string }) => void) {
          this.listeners.set(type, listener);
        }
      }
      Object.assign(window, {
        EventSource: FakeEventSource,
        fetch: async (url: string, init: { method: string; headers: Record<string, string> }) => (
          posts.push({ url, init }),
          { ok: true, text: async () => '' }
        ),
        CSS: { escape: (value: string) => value },
      });
    },
  });
  const send = (snapshot: StatusSnapshot) => sources[0].listeners.get('status')!({ data: JSON.stringify(snapshot) });
  const doc = dom.window.document;
  const field = (project: string, name: string) => doc.querySelector(`[data-project="${project}"] [data-field="${name}"]`)?.textContent;
  return { dom, doc, sources, posts, send, field };
}

const NOW = Date.UTC(2026, 11, 5, 12);
const snapshot: StatusSnapshot = {
  now: NOW,
  stage: 'debug',
  reload: true,
  projects: [
    {
      name: 'postgres',
      state: 'failed',
      since: NOW - 3000,
      paused: false,
      heldFiles: [],
      pendingFiles: [],
      liveUpdated: true,
      imageId: `sha256:${'a'.repeat(64)}`,
      container: {
        name: 'postgres-plugin-debug',
        ports: [{ text: '127.0.0.1:9090 → 9090', url: 'http://127.0.0.1:9090/' }, { text: '127.0.0.1:2345 → 2345/udp' }],
      },
      history: [
        {
          id: 2,
          files: ['plugins/postgres/main.go'],
          path: 'live',
          result: 'failed',
          failure: { step: 'compile', message: 'go build exited with 1', output: './main.go:3:1: <img src=x onerror="window.pwned=1"> undefined' },
          startedAt: NOW - 4000,
          endedAt: NOW - 3000,
          buildMs: 900,
        },
      ],
    },
    {
      name: 'kafka',
      state: 'pending',
      since: NOW - 500,
      paused: false,
      heldFiles: [],
      pendingFiles: ['plugins/core/core.go'],
      waitingFor: 'slot',
      liveUpdated: false,
      history: [],
    },
  ],
};

describe('status page script (jsdom)', () => {
  it('connects with the token from its URL and shows the state of each project from a status event', () => {
    const { sources, send, doc, field, dom } = openPage();
    expect(sources.map((source) => source.url)).toEqual(['/events?token=t0k']);
    send(snapshot);
    expect([...doc.querySelectorAll('[data-project]')].map((card) => [card.getAttribute('data-project'), card.getAttribute('data-state')])).toEqual([
      ['postgres', 'failed'],
      ['kafka', 'pending'],
    ]);
    expect(field('postgres', 'state')).toBe('failed');
    expect(field('postgres', 'image')).toBe('aaaaaaaaaaaa + live-updated binary');
    expect(field('kafka', 'pending')).toBe('plugins/core/core.go');
    expect(field('kafka', 'waiting')).toBe('a free build slot (concurrency)');
    expect(doc.querySelector('#meta')!.textContent).toBe('stage debug · reload · 2 project(s)');
    expect(doc.querySelector('#connection')!.getAttribute('data-connected')).toBe('true');
    // A browser can open the TCP port; the UDP one is text.
    const links = [...doc.querySelectorAll('[data-project="postgres"] [data-field="container"] a')].map((a) => a.getAttribute('href'));
    expect(links).toEqual(['http://127.0.0.1:9090/']);
    dom.window.close();
  });

  it('shows the held connections of a plugin behind the gate: holding now, how many wait, the longest wait', () => {
    const { send, field, dom } = openPage();
    const [postgres, kafka] = snapshot.projects;
    send({
      ...snapshot,
      projects: [
        { ...postgres!, hold: { holding: true, held: 3, longestWaitMs: 400, dropped: 0 } },
        { ...kafka!, hold: { holding: false, held: 0, longestWaitMs: 1200, dropped: 2 } },
      ],
    });
    expect(field('postgres', 'hold')).toBe('holding: 3 waiting · longest wait 0.4 s');
    expect(field('kafka', 'hold')).toBe('0 waiting · longest wait 1.2 s · 2 closed unserved');
    dom.window.close();
  });

  it('shows compiler output as text: markup in a file name or an error message never becomes an element', () => {
    const { send, doc, field, dom } = openPage();
    send(snapshot);
    expect(field('postgres', 'failure-output')).toBe('./main.go:3:1: <img src=x onerror="window.pwned=1"> undefined');
    expect(doc.querySelector('img')).toBeNull();
    expect((dom.window as unknown as { pwned?: number }).pwned).toBeUndefined();
    dom.window.close();
  });

  it('its buttons post the action for that project with the token header', async () => {
    const { send, doc, posts, dom } = openPage();
    send(snapshot);
    (doc.querySelector('[data-project="kafka"] [data-action="build"]') as HTMLButtonElement).click();
    (doc.querySelector('[data-project="postgres"] [data-action="pause"]') as HTMLButtonElement).click();
    await new Promise((resolve) => setImmediate(resolve));
    expect(posts.map((post) => [post.url, post.init.method, post.init.headers['X-Status-Token']])).toEqual([
      ['/api/projects/kafka/build', 'POST', 't0k'],
      ['/api/projects/postgres/pause', 'POST', 't0k'],
    ]);
    dom.window.close();
  });

  it('says so when the event stream drops', () => {
    const { sources, send, doc, dom } = openPage();
    send(snapshot);
    sources[0].onerror!();
    expect(doc.querySelector('#connection')!.getAttribute('data-connected')).toBe('false');
    expect(doc.querySelector('#connection')!.textContent).toMatch(/reconnecting/);
    dom.window.close();
  });
});
