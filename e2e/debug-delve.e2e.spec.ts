import { spawnSync } from 'node:child_process';
import { connectDelve, inspectProgram, type DelveClient } from './utils/delve';
import { pluginInfo } from './utils/grpc';
import { createE2eWorkspace, type E2eWorkspace, generateLocalPlugin, linesAfter, type LongRunning, removePodmanObjects } from './utils/workspace';
import { describeWithPodman } from '../packages/nx-podman/src/testing/podman-available';
import { choosePorts } from '../scripts/lib/ports.mjs';

/**
 * The debug stage under Delve, end to end: a generated gRPC plugin with `delve=install` (the Containerfile builds dlv
 * from its module through the Go module proxy, as for users; busybox as the debug image), `nx run
 * <p>:watch-reload:debug --reload`, real podman and Go; a client speaks Delve's JSON-RPC API on the published port
 * before and after a live update.
 */
const NAME = `dlv${process.pid % 100000}`;
const CONTAINER = `${NAME}-plugin-debug`;
const STEP_TIMEOUT = 600_000;

/** Halts the plugin, asks what the issue names (state, goroutines) and which main functions it has, and lets it run on. */
async function inspect(delve: DelveClient): Promise<{ running: boolean; goroutines: number; functions: string[] }> {
  const seen = await inspectProgram(delve);
  expect(seen.exited).toBe(false);
  expect(seen.haltedRunning).toBe(false);
  expect(seen.haltedPid).toBeGreaterThan(0);
  return seen;
}

/** The container runs dlv as its first process, and the plugin as dlv's child (the debug stage's entrypoint). */
function expectUnderDelve(): void {
  const processes = spawnSync('podman', ['exec', CONTAINER, 'ps', '-o', 'pid,args'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.trim());
  expect(processes).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^1 \/usr\/local\/bin\/dlv exec \/plugin --headless --listen=:2345 /),
      expect.stringMatching(/^\d+ \/plugin$/),
    ]),
  );
}

/** The plugin's Info answer through grpcurl. */
async function infoOf(port: number): Promise<Record<string, string>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return pluginInfo(port);
    } catch (error) {
      // Right after `continue` the plugin may take a moment to serve again.
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describeWithPodman('debug stage under Delve (e2e: watch-reload:debug --reload, real podman, Go and dlv)', () => {
  let ws: E2eWorkspace;
  let watch: LongRunning | undefined;
  let port: number;

  beforeAll(async () => {
    const start = 23000 + (process.pid % 2000);
    [port] = await choosePorts(1, { first: start, last: start + 5000, twinOffset: [1000, 2000] });
    removePodmanObjects({ containers: [CONTAINER] });
    ws = createE2eWorkspace('debug-delve');
    generateLocalPlugin(ws, NAME, { port, delve: 'install' });
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await watch?.stop('SIGKILL');
    removePodmanObjects({ containers: [CONTAINER], images: ['debug', 'latest', 'production'].map((tag) => `localhost/prism/${NAME}-plugin:${tag}`) });
    const builders = spawnSync('podman', ['ps', '-aq', '--filter', `label=nx-podman.builder=${ws?.root}`], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    if (builders.length) spawnSync('podman', ['rm', '-f', '--time', '0', ...builders]);
    ws?.cleanup();
  });

  it('the generator publishes Delve per plugin and writes the VS Code attach entry', () => {
    const launch = JSON.parse(ws.read('.vscode/launch.json')) as { configurations: Record<string, unknown>[] };
    expect(launch.configurations).toEqual([expect.objectContaining({ type: 'go', request: 'attach', mode: 'remote', host: '127.0.0.1', port: port + 2000 })]);
    expect(JSON.parse(ws.read(`plugins/${NAME}/project.json`)).targets['podman-run'].configurations.debug.ports).toEqual([
      `${port + 1000}:${port}`,
      `${port + 2000}:2345`,
    ]);
  });

  it(
    'watch-reload:debug --reload starts the plugin under Delve: it serves at once, and Delve answers on the published port',
    async () => {
      watch = ws.spawnNx(['run', `${NAME}:watch-reload:debug`, '--reload', '--initialBuild', '--debounce=300', '--statusPort=false']);
      await watch.waitFor(new RegExp(`INFO plugin healthy plugin=${NAME}`), STEP_TIMEOUT);
      expect(watch.output()).not.toContain('status page');
      // --continue: the plugin runs without a debugger attached.
      expect(await infoOf(port + 1000)).toMatchObject({ plugin: NAME, message: `hello from ${NAME}` });
      const delve = await connectDelve(port + 2000);
      try {
        const seen = await inspect(delve);
        expect(seen.running).toBe(true);
        expect(seen.goroutines).toBeGreaterThan(1);
        expect(seen.functions).toEqual(expect.arrayContaining(['main.main']));
        expect(seen.functions).not.toContain('main.editedGreeting');
      } finally {
        delve.close();
      }
      expect(await infoOf(port + 1000)).toMatchObject({ message: `hello from ${NAME}` });
      expectUnderDelve();
    },
    STEP_TIMEOUT,
  );

  it(
    'after an edit (a live update), the restarted plugin runs under Delve again, with the new code',
    async () => {
      const from = watch!.output().length;
      const main = ws.read(`plugins/${NAME}/main.go`);
      ws.write(
        `plugins/${NAME}/main.go`,
        `${main.replace(`core.Env("GREETING", "hello from ${NAME}")`, 'core.Env("GREETING", editedGreeting())')}\n// editedGreeting is new in this edit: Delve must list it.\nfunc editedGreeting() string { return "edited under delve" }\n`,
      );
      await watch!.waitFor(new RegExp(`INFO live update completed plugin=${NAME}`), STEP_TIMEOUT, from);
      await watch!.waitFor(new RegExp(`INFO plugin healthy plugin=${NAME}`), STEP_TIMEOUT, from);
      expect(linesAfter(watch!, from, /INFO building plugin/)).toEqual([]);
      expect(await infoOf(port + 1000)).toMatchObject({ message: 'edited under delve' });
      expectUnderDelve();
      const delve = await connectDelve(port + 2000);
      try {
        const seen = await inspect(delve);
        expect(seen.running).toBe(true);
        expect(seen.goroutines).toBeGreaterThan(1);
        expect(seen.functions).toEqual(expect.arrayContaining(['main.main', 'main.editedGreeting']));
      } finally {
        delve.close();
      }
      expect(await infoOf(port + 1000)).toMatchObject({ message: 'edited under delve' });
    },
    STEP_TIMEOUT,
  );

  it('stops on Ctrl-C; the debug container keeps running (no stopOnExit), Delve still answering', async () => {
    expect([0, 130]).toContain(await watch!.stop('SIGINT'));
    watch = undefined;
    const delve = await connectDelve(port + 2000);
    try {
      expect((await delve.call<{ State: { Running: boolean } }>('RPCServer.State', { NonBlocking: true })).State.Running).toBe(true);
    } finally {
      delve.close();
    }
  }, 60_000);
});
