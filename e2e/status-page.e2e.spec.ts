/// <reference lib="dom" />
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createE2eWorkspace, type E2eWorkspace, generateLocalPlugin, type LongRunning, removePodmanObjects } from './utils/workspace';
import { describeWithPodman } from '../packages/nx-podman/src/testing/podman-available';
import { choosePorts } from '../scripts/lib/ports.mjs';

/**
 * The status page in a real browser: headless Chromium (Debian's chromium, driven by puppeteer-core) against a real
 * watcher on real podman and Go, three generated plugins. The page is never reloaded: every change arrives by its
 * event stream. A screenshot of it lands in tmp/status-page.png (docs/images/status-page.png is one).
 */
const TAG = `sp${process.pid % 100000}`;
const PLUGINS = [`${TAG}a`, `${TAG}b`, `${TAG}c`];
const [P1, P2] = PLUGINS;
const STEP_TIMEOUT = 600_000;
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => spawnSync(path, ['--version']).status === 0);

const card = (name: string) => `[data-project="${name}"]`;

describeWithPodman('status page (e2e: headless Chromium, real watcher, podman and Go)', () => {
  let ws: E2eWorkspace;
  let watch: LongRunning | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('chromium is needed for the status page e2e: apt-get install -y chromium (npm test installs it)');
    const start = 31000 + (process.pid % 2000);
    const ports = await choosePorts(PLUGINS.length, { first: start, last: start + 3000, twinOffset: [1000, 2000] });
    removePodmanObjects({ containers: PLUGINS.map((name) => `${name}-plugin`) });
    ws = createE2eWorkspace('status-page');
    for (const [index, name] of PLUGINS.entries()) {
      generateLocalPlugin(ws, name, { port: ports[index], protocol: 'http' });
    }
    // protocolTimeout: a wait for a state may last as long as a build.
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      protocolTimeout: STEP_TIMEOUT + 60_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await watch?.stop('SIGKILL');
    removePodmanObjects({
      containers: PLUGINS.map((name) => `${name}-plugin`),
      images: PLUGINS.flatMap((name) => ['production', 'latest'].map((tag) => `localhost/prism/${name}-plugin:${tag}`)),
    });
    const builders = spawnSync('podman', ['ps', '-aq', '--filter', `label=nx-podman.builder=${ws?.root}`], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    if (builders.length) spawnSync('podman', ['rm', '-f', '--time', '0', ...builders]);
    ws?.cleanup();
  });

  /** Resolves once the project's card shows `state` (the page updates itself; no reload). */
  const stateIs = (name: string, state: string, timeout = STEP_TIMEOUT) =>
    page.waitForFunction(
      (selector, wanted) => document.querySelector(selector)?.getAttribute('data-state') === wanted,
      { timeout, polling: 100 },
      card(name),
      state,
    );

  it(
    'prints the URL at start; the page shows every plugin and follows the initial build to healthy',
    async () => {
      watch = ws.spawnNx(['run', `${P1}:watch-reload`, '--projects=tag:plugin', '--reload', '--initialBuild', '--debounce=300', '--concurrency=3']);
      const printed = await watch.waitFor(/INFO status page url=(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/, 120_000);
      url = printed[1];
      page = await browser!.newPage();
      await page.setViewport({ width: 1440, height: 900 });
      await page.goto(url);
      await page.waitForSelector(card(P1));
      expect(await page.$$eval('[data-project]', (cards) => cards.map((c) => c.getAttribute('data-project')))).toEqual([...PLUGINS].sort());
      // Marks this document: if the page were reloaded, the mark would be gone.
      await page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));
      for (const name of PLUGINS) await stateIs(name, 'healthy');
      const container = await page.$eval(`${card(P1)} [data-field="container"]`, (node) => node.textContent);
      expect(container).toContain(`${P1}-plugin`);
      expect(await page.$eval(`${card(P1)} [data-field="container"] a`, (node) => node.getAttribute('href'))).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    },
    STEP_TIMEOUT,
  );

  it('a request without the token, or with another, gets 403', async () => {
    const base = new URL(url);
    for (const path of ['/', '/events', '/api/status', `/?token=wrong`]) {
      expect([path, (await fetch(`${base.origin}${path}`)).status]).toEqual([path, 403]);
    }
    expect((await fetch(`${base.origin}/api/projects/${P2}/build`, { method: 'POST' })).status).toBe(403);
  });

  it(
    'a save turns the card to a working state and then healthy, without a reload of the page',
    async () => {
      // Every state the card shows, as it shows it.
      await page.evaluate((selector) => {
        // The state now first, then each new one (the page's clock ticks change the card's text, not its state).
        const seen: string[] = [document.querySelector(selector)?.getAttribute('data-state') ?? 'none'];
        (window as unknown as { seen: string[] }).seen = seen;
        new MutationObserver(() => {
          const state = document.querySelector(selector)?.getAttribute('data-state');
          if (state && seen[seen.length - 1] !== state) seen.push(state);
        }).observe(document.getElementById('projects')!, { childList: true, subtree: true, attributes: true });
      }, card(P1));
      const main = ws.read(`plugins/${P1}/main.go`);
      ws.write(`plugins/${P1}/main.go`, main.replace(`"hello from ${P1}"`, `"saved ${P1}"`));
      // Healthy again after a working state.
      await page.waitForFunction(
        () => {
          const seen = (window as unknown as { seen: string[] }).seen;
          const working = seen.findIndex((state) => /^(pending|building|live-updating|reloading)$/.test(state));
          return working > 0 && seen.indexOf('healthy', working) > working;
        },
        { timeout: STEP_TIMEOUT, polling: 100 },
      );
      const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
      expect(seen[0]).toBe('healthy');
      expect(seen).toContain('live-updating');
      expect(await page.evaluate(() => (window as unknown as { mark: number }).mark)).toBe(42);
      expect(await page.$eval(`${card(P1)} [data-field="last-trigger"]`, (node) => node.textContent)).toBe(`plugins/${P1}/main.go`);
      expect(await page.$eval(`${card(P1)} [data-field="last-path"]`, (node) => node.textContent)).toBe('live update');
      expect(await page.$eval(`${card(P1)} [data-field="last-durations"]`, (node) => node.textContent)).toMatch(
        /compile \d+\.\d s · restart \d+\.\d s · save → healthy \d+\.\d s/,
      );
    },
    STEP_TIMEOUT,
  );

  it(
    "a compile error shows the compiler's message; the fix makes it healthy again",
    async () => {
      const main = ws.read(`plugins/${P1}/main.go`);
      ws.write(`plugins/${P1}/main.go`, main.replace('func main() {', 'func main() {{'));
      await stateIs(P1, 'failed');
      const output = await page.$eval(`${card(P1)} [data-field="failure-output"]`, (node) => node.textContent);
      expect(output).toMatch(/main\.go:\d+:\d+: syntax error/);
      ws.write(`plugins/${P1}/main.go`, main);
      await stateIs(P1, 'healthy');
      expect(await page.$(`${card(P1)} [data-field="failure"]`)).toBeNull();
      expect(await page.evaluate(() => (window as unknown as { mark: number }).mark)).toBe(42);
    },
    STEP_TIMEOUT,
  );

  it(
    '"Build now" starts a build of that plugin',
    async () => {
      const from = watch!.output().length;
      await page.click(`${card(P2)} button[data-action="build"]`);
      await watch!.waitFor(new RegExp(`INFO build requested on the status page plugin=${P2}`), 30_000, from);
      await page.waitForFunction(
        (selector) => document.querySelector(selector)?.textContent === 'build requested on the status page',
        { timeout: STEP_TIMEOUT, polling: 100 },
        `${card(P2)} [data-field="last-trigger"]`,
      );
      await stateIs(P2, 'healthy');
      // A screenshot of the page with the three plugins (docs/watch-reload.md shows one), one history open.
      await page.click(`${card(P1)} details[data-field="history"] summary`);
      await page.setViewport({ width: 1440, height: 600 });
      mkdirSync(join(__dirname, '..', 'tmp'), { recursive: true });
      await page.screenshot({ path: join(__dirname, '..', 'tmp', 'status-page.png'), fullPage: true });
    },
    STEP_TIMEOUT,
  );

  it('the page says when the watcher is gone', async () => {
    await watch!.stop('SIGINT');
    watch = undefined;
    await page.waitForFunction(() => document.getElementById('connection')?.getAttribute('data-connected') === 'false', { timeout: 30_000, polling: 100 });
  }, 60_000);
});
