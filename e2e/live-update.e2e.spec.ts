import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  BUSYBOX_IMAGE,
  GO_BUILDER_IMAGE,
  createE2eWorkspace,
  expectSucceeded,
  removePodmanObjects,
  linesAfter,
  type E2eWorkspace,
  type LongRunning,
} from './utils/workspace';
import { podmanProcesses } from '../packages/nx-podman/src/testing/host-processes';
import { describeWithPodman } from '../packages/nx-podman/src/testing/podman-available';
import { choosePorts } from '../scripts/lib/ports.mjs';
import { pluginInfo } from './utils/grpc';

/**
 * Live update end to end: a workspace made by the plugin generator (core + 3 gRPC plugins on a FROM scratch runtime,
 * google.golang.org/grpc through the Go module proxy), `watch-reload --reload` with live update on (the default), real
 * podman, real Go, real file events; each plugin is checked with grpcurl, the real gRPC client.
 */
const TAG = `lu${process.pid % 100000}`;
const PLUGINS = [`${TAG}a`, `${TAG}b`, `${TAG}c`];
const [P1, P2, P3] = PLUGINS;
const STEP_TIMEOUT = 300_000;
const container = (name: string) => `${name}-plugin`;

function podman(...args: string[]): string {
  return execFileSync('podman', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The file at `path` in a container (running or not) as bytes, with its tar header mode and owner. */
function fileInContainer(name: string, path: string): { bytes: Buffer; mode: number; uid: number } {
  const tar = execFileSync('podman', ['cp', `${name}:${path}`, '-'], { maxBuffer: 256 * 1024 * 1024 });
  const size = parseInt(tar.subarray(124, 136).toString().replace(/\0.*$/s, '').trim(), 8);
  return {
    bytes: tar.subarray(512, 512 + size),
    mode: parseInt(tar.subarray(100, 108).toString().replace(/\0.*$/s, '').trim(), 8),
    uid: parseInt(tar.subarray(108, 116).toString().replace(/\0.*$/s, '').trim(), 8),
  };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The plugin's Info answer through grpcurl. */
const info = async (port: number) => pluginInfo(port);

describeWithPodman('live update e2e: generated core + 3 plugins, scratch runtime, real podman and Go', () => {
  let ws: E2eWorkspace;
  let watch: LongRunning | undefined;
  let ports: number[];
  let coreModule: string;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    const start = 21000 + (process.pid % 3000);
    ports = await choosePorts(PLUGINS.length, { first: start, last: 40000, twinOffset: 1000 });
    removePodmanObjects({ containers: PLUGINS.map(container) });
    ws = createE2eWorkspace('live-update');
    for (const [index, name] of PLUGINS.entries()) {
      expectSucceeded(
        ws.nx([
          'g',
          '@prism/nx-podman:plugin',
          name,
          `--port=${ports[index]}`,
          `--builderImage=${GO_BUILDER_IMAGE}`,
          '--runtimeImage=scratch',
          `--debugImage=${BUSYBOX_IMAGE}`,
          '--no-interactive',
        ]),
      );
    }
    coreModule = /^module\s+(\S+)/m.exec(ws.read('plugins/core/go.mod'))![1];
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await watch?.stop('SIGKILL');
    removePodmanObjects({
      containers: PLUGINS.map(container),
      images: PLUGINS.flatMap((name) => ['production', 'latest'].map((tag) => `localhost/prism/${name}-plugin:${tag}`)),
    });
    spawnSync('podman', ['rm', '-f', '--time', '0', ...podman('ps', '-aq', '--filter', `label=nx-podman.builder=${ws.root}`).split('\n').filter(Boolean)]);
    ws?.cleanup();
    process.stdout.write(`live update e2e timings (ms): ${JSON.stringify(timings)}\n`);
  });

  const edit = (path: string, from: string, to: string) => {
    const text = ws.read(path);
    expect(text).toContain(from);
    ws.write(path, text.replace(from, to));
  };

  it('starts: every plugin built and healthy, the shared builder warmed once per plugin', async () => {
    watch = ws.spawnNx(['run', `${P1}:watch-reload`, '--projects=tag:plugin', '--reload', '--initialBuild', '--debounce=500', '--concurrency=3', '--verbose']);
    for (const name of PLUGINS) await watch.waitFor(new RegExp(`INFO plugin healthy plugin=${name}`), 600_000);
    for (const name of PLUGINS) await watch.waitFor(new RegExp(`DEBUG live update builder warm plugin=${name}`), 600_000);
    // One builder for the three plugins: same builder image and context.
    expect(linesAfter(watch, 0, /DEBUG live update builder started/)).toHaveLength(1);
  }, 900_000);

  it(
    'a plugin edit is a live update: no image build, the new code serves, the binary is executable by the non-root user',
    async () => {
      const from = watch!.output().length;
      const saved = Date.now();
      edit(`plugins/${P1}/main.go`, `"hello from ${P1}"`, `"live from ${P1}"`);
      await watch!.waitFor(new RegExp(`INFO live update completed plugin=${P1} duration=\\d+\\.\\ds compile=\\d+\\.\\ds`), 120_000, from);
      await watch!.waitFor(new RegExp(`INFO plugin healthy plugin=${P1}`), 120_000, from);
      timings.pluginSaveToHealthy = Date.now() - saved;
      expect((await info(ports[0])).message).toBe(`live from ${P1}`);
      expect(linesAfter(watch!, from, /INFO (building plugin|live update) plugin=/)).toEqual([expect.stringContaining(`live update plugin=${P1} files=1`)]);
      // podman cp into a FROM scratch container (no tar, no shell), restarted as USER 65532: the mode came along.
      const binary = fileInContainer(container(P1), '/plugin');
      expect(binary.mode & 0o111).toBe(0o111);
    },
    STEP_TIMEOUT,
  );

  it(
    'a core edit updates the three containers and compiles core once',
    async () => {
      const from = watch!.output().length;
      const saved = Date.now();
      // Unique per run: Go's cache volume is shared by every workspace on the machine, so content an earlier run
      // compiled would come from the cache and nothing would be compiled at all.
      const version = `0.2.${Date.now()}`;
      edit('plugins/core/version.go', 'const Version = "0.1.0"', `const Version = "${version}"`);
      for (const name of PLUGINS) await watch!.waitFor(new RegExp(`INFO plugin healthy plugin=${name}`), 180_000, from);
      timings.coreSaveToAllHealthy = Date.now() - saved;
      for (const port of ports) expect((await info(port)).core).toBe(version);
      expect(linesAfter(watch!, from, /INFO building plugin/)).toEqual([]);
      expect(linesAfter(watch!, from, /INFO live update plugin=/)).toHaveLength(3);
      // `go build -v` lists what it compiled (not what came from the cache): core appears in one compile only.
      const compiled = linesAfter(watch!, from, /DEBUG compiled plugin=/);
      expect(compiled).toHaveLength(3);
      expect(compiled.filter((line) => new RegExp(`[=,]${coreModule.replace(/[.]/g, '\\.')}(,|\\s|$)`).test(line))).toHaveLength(1);
    },
    STEP_TIMEOUT,
  );

  it(
    'a compile error is shown, the old binary keeps serving, the fix is updated',
    async () => {
      let from = watch!.output().length;
      edit(`plugins/${P1}/main.go`, 'func main() {', 'func main() {{');
      await watch!.waitFor(new RegExp(`ERROR build failed plugin=${P1} exit=\\d+`), 120_000, from);
      await watch!.waitFor(new RegExp(`INFO keeping the running container plugin=${P1}`), 10_000, from);
      expect(watch!.output().slice(from)).toMatch(/main\.go:\d+:\d+: syntax error/);
      expect((await info(ports[0])).message).toBe(`live from ${P1}`);
      from = watch!.output().length;
      edit(`plugins/${P1}/main.go`, 'func main() {{', 'func main() {');
      edit(`plugins/${P1}/main.go`, `"live from ${P1}"`, `"fixed ${P1}"`);
      await watch!.waitFor(new RegExp(`INFO plugin healthy plugin=${P1}`), 120_000, from);
      expect((await info(ports[0])).message).toBe(`fixed ${P1}`);
      expect(linesAfter(watch!, from, /INFO building plugin/)).toEqual([]);
    },
    STEP_TIMEOUT,
  );

  it(
    'a go.mod edit takes the full build + replace and says why',
    async () => {
      const from = watch!.output().length;
      ws.write(`plugins/${P2}/go.mod`, `${ws.read(`plugins/${P2}/go.mod`)}\n// edited by the live update e2e\n`);
      await watch!.waitFor(new RegExp(`INFO full rebuild plugin=${P2} reason="plugins/${P2}/go.mod changed"`), 120_000, from);
      await watch!.waitFor(new RegExp(`INFO building plugin plugin=${P2}`), 60_000, from);
      await watch!.waitFor(new RegExp(`INFO plugin healthy plugin=${P2}`), 180_000, from);
    },
    STEP_TIMEOUT,
  );

  it(
    'a container removed by hand: the next save builds and runs it again',
    async () => {
      podman('rm', '-f', container(P3));
      const from = watch!.output().length;
      edit(`plugins/${P3}/main.go`, `"hello from ${P3}"`, `"back ${P3}"`);
      await watch!.waitFor(new RegExp(`INFO full rebuild plugin=${P3} reason="no running container \\\\"${container(P3)}\\\\""`), 120_000, from);
      await watch!.waitFor(new RegExp(`INFO plugin healthy plugin=${P3}`), 180_000, from);
      expect((await info(ports[2])).message).toBe(`back ${P3}`);
    },
    STEP_TIMEOUT,
  );

  it(
    'Ctrl-C during a compile leaves no process in the builder or on the host',
    async () => {
      const from = watch!.output().length;
      edit(`plugins/${P2}/main.go`, `"hello from ${P2}"`, `"interrupted ${P2}"`);
      await watch!.waitFor(new RegExp(`INFO live update plugin=${P2}`), 120_000, from);
      const pid = watch!.child.pid!;
      process.kill(-pid, 'SIGINT');
      const code = await watch!.stop('SIGINT');
      expect([0, 130]).toContain(code);
      expect(podmanProcesses(pid, ws.root)).toEqual([]);
      expect(podman('ps', '-aq', '--filter', `label=nx-podman.builder=${ws.root}`)).toBe('');
      watch = undefined;
    },
    STEP_TIMEOUT,
  );

  it(
    'fidelity: the live-updated binary is byte for byte the one podman-build puts in the image of the same tree',
    () => {
      const live = fileInContainer(container(P1), '/plugin');
      expectSucceeded(ws.nx(['run', `${P1}:podman-build`]));
      const record = JSON.parse(ws.read(`.nx/podman/builds/${P1}/production.json`)) as { imageId: string };
      const scratch = `${TAG}-fidelity`;
      podman('create', '--name', scratch, record.imageId);
      try {
        const image = fileInContainer(scratch, '/plugin');
        expect(image.bytes.length).toBeGreaterThan(1_000_000);
        expect(sha256(live.bytes)).toBe(sha256(image.bytes));
      } finally {
        spawnSync('podman', ['rm', '-f', scratch]);
      }
    },
    STEP_TIMEOUT,
  );
});
