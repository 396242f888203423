import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createE2eWorkspace,
  type E2eWorkspace,
  expectSucceeded,
  generateLocalPlugin,
  linesAfter,
  type LongRunning,
  removePodmanObjects,
} from './utils/workspace';
import { addModuleToProxy, UUID_MODULE } from './utils/go-proxy';
import { freePort } from './utils/registry';
import { describeWithPodman } from '../packages/nx-podman/src/testing/podman-available';

/**
 * A generated plugin that imports a third-party module, offline: the module comes from a file-based proxy
 * (GOPROXY=file://...) made from a Debian golang-*-dev package. The image downloads modules in a layer of its own
 * (a source edit does not download again), GOPROXY & co. reach the build from the environment without being printed,
 * the plugin runs healthy, and a live update compiles without a download (the proxy is gone by then).
 */
const NAME = `gm${process.pid % 100000}`;
const STEP_TIMEOUT = 600_000;

jest.setTimeout(STEP_TIMEOUT);

describeWithPodman('Go modules e2e: a third-party module through an offline GOPROXY', () => {
  let ws: E2eWorkspace;
  let watch: LongRunning | undefined;
  let proxyDir: string;
  let port: number;
  let goEnv: Record<string, string>;

  beforeAll(async () => {
    port = await freePort();
    proxyDir = mkdtempSync(join(tmpdir(), 'nx-podman-goproxy-'));
    const version = addModuleToProxy(proxyDir, UUID_MODULE);
    // Offline: the proxy directory only, no checksum database (go.sum, written below, has the hashes).
    goEnv = { GOPROXY: `file://${proxyDir}`, GONOSUMDB: 'github.com/google', GOFLAGS: '-mod=mod' };
    ws = createE2eWorkspace('go-modules');
    generateLocalPlugin(ws, NAME, { port, protocol: 'http' });
    const main = ws.read(`plugins/${NAME}/main.go`);
    ws.write(
      `plugins/${NAME}/main.go`,
      main
        .replace('import (\n', 'import (\n\t"github.com/google/uuid"\n')
        .replace('"message": greeting}', '"message": greeting, "id": uuid.NewSHA1(uuid.NameSpaceURL, []byte(greeting)).String()}'),
    );
    // go.mod's require and go.sum, as a developer's `go mod tidy` would write them (host Go, same proxy).
    execFileSync('go', ['mod', 'tidy'], {
      cwd: join(ws.root, 'plugins', NAME),
      env: { ...process.env, ...goEnv, GOSUMDB: 'off', GOTOOLCHAIN: 'local' },
      stdio: 'pipe',
    });
    expect(ws.read(`plugins/${NAME}/go.mod`)).toContain(`github.com/google/uuid ${version}`);
    expect(ws.read(`plugins/${NAME}/go.sum`)).toContain(`github.com/google/uuid ${version} h1:`);
    // The build steps see the proxy directory at the same path (podman build --volume).
    const projectJson = JSON.parse(ws.read(`plugins/${NAME}/project.json`)) as { targets: Record<string, unknown> };
    projectJson.targets['podman-build'] = { options: { extraArgs: ['--volume', `${proxyDir}:${proxyDir}:ro`] } };
    ws.write(`plugins/${NAME}/project.json`, JSON.stringify(projectJson, null, 2));
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await watch?.stop('SIGKILL');
    removePodmanObjects({ containers: [`${NAME}-plugin`], images: ['production', 'latest'].map((tag) => `localhost/prism/${NAME}-plugin:${tag}`) });
    const builders = spawnSync('podman', ['ps', '-aq', '--filter', `label=nx-podman.builder=${ws?.root}`], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    if (builders.length) spawnSync('podman', ['rm', '-f', '--time', '0', ...builders]);
    rmSync(proxyDir, { recursive: true, force: true });
    rmSync(`${proxyDir}.gone`, { recursive: true, force: true });
    ws?.cleanup();
  });

  it('builds offline: modules in their own layer, GOPROXY passed by name and never printed', () => {
    const result = ws.nx(['run', `${NAME}:podman-build`, '--verbose'], goEnv);
    expectSucceeded(result);
    expect(result.output).toMatch(/--build-arg GOPROXY --build-arg GONOSUMDB --build-arg GOFLAGS/);
    expect(result.output).not.toContain(`file://${proxyDir}`);
    expect(result.output).toMatch(/STEP \d+\/\d+: RUN --mount=type=cache,target=\/tmp\/gomodcache go mod download/);
  });

  it('a source edit builds again without downloading: the module layer comes from the cache', () => {
    const main = ws.read(`plugins/${NAME}/main.go`);
    ws.write(`plugins/${NAME}/main.go`, main.replace(`"hello from ${NAME}"`, `"built from ${NAME}"`));
    const result = ws.nx(['run', `${NAME}:podman-build`, '--verbose'], goEnv);
    expectSucceeded(result);
    const lines = result.output.split('\n');
    const download = lines.findIndex((line) => /STEP \d+\/\d+: RUN .*go mod download/.test(line));
    expect(download).toBeGreaterThan(0);
    expect(lines[download + 1]).toMatch(/--> Using cache [0-9a-f]+/);
  });

  it('runs healthy, serving code that uses the module', async () => {
    expectSucceeded(ws.nx(['run', `${NAME}:podman-run`], goEnv));
    const answer = (await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).json()) as Record<string, string>;
    expect(answer.message).toBe(`built from ${NAME}`);
    expect(answer.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-/);
  });

  it('a live update compiles with the module and downloads nothing (the proxy is gone)', async () => {
    watch = ws.spawnNx(['run', `${NAME}:watch-reload`, '--reload', '--debounce=300', '--verbose'], goEnv);
    await watch.waitFor(new RegExp(`DEBUG live update builder warm plugin=${NAME}`), 300_000);
    // The builder's first compile filled its module cache volume from the proxy; from now on the proxy is empty
    // (its content moved away: the builder's bind mount would still see a renamed directory).
    const modules = join(proxyDir, 'github.com');
    renameSync(modules, `${proxyDir}.gone`);
    try {
      const from = watch.output().length;
      const main = ws.read(`plugins/${NAME}/main.go`);
      ws.write(`plugins/${NAME}/main.go`, main.replace(`"built from ${NAME}"`, `"live from ${NAME}"`));
      await watch.waitFor(new RegExp(`INFO live update completed plugin=${NAME}`), 120_000, from);
      await watch.waitFor(new RegExp(`INFO plugin healthy plugin=${NAME}`), 60_000, from);
      expect(linesAfter(watch, from, /INFO building plugin/)).toEqual([]);
      const answer = (await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).json()) as Record<string, string>;
      expect(answer.message).toBe(`live from ${NAME}`);
      expect(watch.output()).not.toContain(`file://${proxyDir}`);
    } finally {
      renameSync(`${proxyDir}.gone`, modules);
    }
  });
});
