import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createBuildRecordStore } from '../../adapters/build-record-store';
import { createLogger } from '../../adapters/logger';
import { createPodmanEngine } from '../../adapters/podman-engine';
import { listDescendants } from '../../adapters/process-tree';
import { hostCommands, hostProcesses } from '../../testing/host-processes';
import { describeWithPodman } from '../../testing/podman-available';
import { createTempDir } from '../../testing/temp-dir';
import { normalizePodmanBuildOptions } from './normalize-options';
import { pruneSupersededImages } from './image-retention';
import { runPodmanBuild, type PodmanBuildDeps } from './run-podman-build';
import type { PodmanBuildExecutorSchema } from './schema';

const BUSYBOX = 'localhost/prism/busybox:latest';
// Unique per run: layer caches of earlier runs must not make a build look faster or a manifest look complete.
const RUN = `${process.pid}-${Date.now()}`;
const PROJECT = `nxp-test-build-${process.pid}`;
const REPO = `localhost/nxp-test-build/${PROJECT}`;

// Real builds on a shared 2-core machine: generous per-test time.
jest.setTimeout(180_000);

function podman(...args: string[]): string {
  return execFileSync('podman', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function podmanOk(...args: string[]): boolean {
  try {
    podman(...args);
    return true;
  } catch {
    return false;
  }
}

describeWithPodman('runPodmanBuild (real podman)', () => {
  let ws: ReturnType<typeof createTempDir>;
  let out: string;
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(ws.path, path)), { recursive: true });
    writeFileSync(join(ws.path, path), content);
  };
  const options = (schema: PodmanBuildExecutorSchema = {}) =>
    normalizePodmanBuildOptions({ tags: [`${REPO}:{stage}`], ...schema }, { projectName: PROJECT, projectRoot: 'plugin', workspaceRoot: ws.path, env: {} });
  const deps = (extra: Partial<PodmanBuildDeps> = {}): PodmanBuildDeps => ({
    engine: createPodmanEngine({ podman: 'podman', remote: false }),
    records: createBuildRecordStore(ws.path),
    logger: createLogger({ verbose: false, stream: { write: (text: string) => ((out += text), true) } as never }),
    ...extra,
  });

  beforeEach(() => {
    ws = createTempDir('nxp-build-int-');
    out = '';
    write(
      'plugin/Containerfile',
      `FROM ${BUSYBOX} AS builder
COPY app.txt /app.txt
RUN cp /app.txt /built.txt
FROM scratch AS production
COPY --from=builder /built.txt /built.txt
FROM ${BUSYBOX} AS debug
COPY --from=builder /built.txt /built.txt
COPY debug.txt /debug.txt
`,
    );
    write('plugin/app.txt', `app ${RUN}\n`);
    write('plugin/debug.txt', `debug ${RUN}\n`);
  });
  afterEach(() => ws.cleanup());
  afterAll(() => {
    // Every image this file made carries the project label (intermediate ones too); manifest lists are named.
    const ids = podman('images', '-a', '--quiet', '--no-trunc', '--filter', `label=io.prism.nx-podman.project=${PROJECT}`).split('\n').filter(Boolean);
    podmanOk('manifest', 'rm', `${REPO}:multi`);
    for (const ref of [`${REPO}:production`, `${REPO}:debug`]) podmanOk('rmi', '-f', ref);
    for (const id of new Set(ids)) podmanOk('rmi', '-f', id);
  });

  it('builds a stage, records the image id, then skips an unchanged build and rebuilds after a change', async () => {
    const first = await runPodmanBuild(options(), deps());
    expect(first.status).toBe('built');
    if (first.status !== 'built') return;
    expect(podman('image', 'inspect', '--format', '{{.Id}}', `${REPO}:production`)).toBe(first.record.imageId.replace(/^sha256:/, ''));
    expect(podman('image', 'inspect', '--format', '{{index .Labels "io.prism.nx-podman.input-hash"}}', `${REPO}:production`)).toBe(first.record.inputHash);
    expect(out).toMatch(/^INFO building plugin plugin=nxp-test-build-\d+ stage=production\n/);
    expect(out).toContain('STEP 1/'); // podman's own output was streamed
    expect(out).toMatch(/INFO build completed plugin=nxp-test-build-\d+ duration=\d+\.\ds\n$/);
    const record = JSON.parse(execFileSync('cat', [join(ws.path, `.nx/podman/builds/${PROJECT}/production.json`)], { encoding: 'utf8' }));
    expect(record).toEqual({ ...first.record });

    out = '';
    const second = await runPodmanBuild(options(), deps());
    expect(second).toEqual({ status: 'up-to-date', record: { ...first.record } });
    expect(out).toMatch(/^INFO image up to date plugin=nxp-test-build-\d+ stage=production image=[0-9a-f]{12}\n$/);

    // Moving the tag away does not fool the skip: the tag is pointed back at the recorded image.
    podman('untag', first.record.imageId, `${REPO}:production`);
    expect((await runPodmanBuild(options(), deps())).status).toBe('up-to-date');
    expect(podman('image', 'inspect', '--format', '{{.Id}}', `${REPO}:production`)).toBe(first.record.imageId.replace(/^sha256:/, ''));

    // With the image gone, the builder stage's image (podman labels it with the same hash) is not taken for it.
    podman('rmi', `${REPO}:production`);
    const rebuilt = await runPodmanBuild(options(), deps());
    expect(rebuilt.status).toBe('built');
    // production is FROM scratch + one COPY: one layer (the builder has busybox's layer, a COPY and a RUN).
    expect(podman('image', 'inspect', '--format', '{{len .RootFS.Layers}}', `${REPO}:production`)).toBe('1');

    // debug.txt is copied by the debug stage only.
    write('plugin/debug.txt', `debug changed ${RUN}\n`);
    expect((await runPodmanBuild(options(), deps())).status).toBe('up-to-date');

    write('plugin/app.txt', `app changed ${RUN}\n`);
    const third = await runPodmanBuild(options(), deps());
    expect(third.status).toBe('built');
    if (third.status !== 'built') return;
    expect(third.record.imageId).not.toBe(first.record.imageId);
    expect(third.record.inputHash).not.toBe(first.record.inputHash);

    const forced = await runPodmanBuild(options({ force: true, quiet: true }), deps());
    expect(forced.status).toBe('built');
  });

  it('builds the debug stage from the same Containerfile', async () => {
    const outcome = await runPodmanBuild(options({ stage: 'debug' }), deps());
    expect(outcome).toMatchObject({ status: 'built', record: { stage: 'debug', tags: [`${REPO}:debug`] } });
    expect(podman('run', '--rm', `${REPO}:debug`, 'cat', '/debug.txt')).toBe(`debug ${RUN}`);
  });

  it('fails with podman exit code and the last lines of its output', async () => {
    write('plugin/Containerfile', `FROM ${BUSYBOX} AS production\nRUN echo "about to fail ${RUN}" && exit 3\n`);
    const outcome = await runPodmanBuild(options({ quiet: true }), deps());
    expect(outcome).toMatchObject({ status: 'failed' });
    if (outcome.status !== 'failed') return;
    expect(outcome.exitCode).not.toBe(0);
    expect(outcome.message).toMatch(new RegExp(`^podman build failed for "${PROJECT}" \\(exit ${outcome.exitCode}\\): `));
    expect(outcome.message).toContain('exit status 3');
    expect(outcome.message).toMatch(/Run with --verbose for the full output.$/);
    expect(out).toContain(`ERROR build failed plugin=${PROJECT} exit=${outcome.exitCode}`);
    expect(existsSync(join(ws.path, `.nx/podman/builds/${PROJECT}/production.json`))).toBe(false);
  });

  it('an abort during a RUN step stops the step: no process left on the host, no build container left in podman', async () => {
    // A sleep length no other process here has, to find it on the host.
    const seconds = 1000 + (process.pid % 9000);
    write('plugin/Containerfile', `FROM ${BUSYBOX} AS production\nRUN echo "sleeping ${RUN}" && sleep ${seconds}\n`);
    const containersBefore = new Set(podman('ps', '-a', '--external', '--format', '{{.ID}}').split('\n').filter(Boolean));
    const controller = new AbortController();
    const outcome = runPodmanBuild(options(), deps({ signal: controller.signal }));
    await waitFor(() => out.includes(`sleeping ${RUN}`), 60_000);
    const sleeping = () => hostCommands().filter((command) => command === `sleep ${seconds}`);
    try {
      await waitFor(() => sleeping().length === 1, 10_000);
    } finally {
      controller.abort();
    }
    const aborted = Date.now();
    expect(await outcome).toEqual({ status: 'aborted' });
    await waitFor(() => sleeping().length === 0, 5000);
    expect(Date.now() - aborted).toBeLessThan(5000);
    const left = podman('ps', '-a', '--external', '--format', '{{.ID}}')
      .split('\n')
      .filter((id) => id && !containersBefore.has(id));
    expect(left).toEqual([]);
  });

  it('an abort during a RUN step with podman signalled as soon as its step is gone (what Nx does after Ctrl-C): no build container left', async () => {
    const seconds = 1000 + ((process.pid + 1) % 9000);
    write('plugin/Containerfile', `FROM ${BUSYBOX} AS production\nRUN echo "sleeping ${RUN} 2" && sleep ${seconds}\n`);
    const containersBefore = new Set(podman('ps', '-a', '--external', '--format', '{{.ID}}').split('\n').filter(Boolean));
    const controller = new AbortController();
    const outcome = runPodmanBuild(options(), deps({ signal: controller.signal }));
    await waitFor(() => out.includes(`sleeping ${RUN} 2`), 60_000);
    const sleeping = () => hostCommands().filter((command) => command === `sleep ${seconds}`);
    await waitFor(() => sleeping().length === 1, 10_000);
    const build = hostProcesses().find(({ argv }) => argv[0] === 'podman' && argv[1] === 'build' && argv.includes(join(ws.path, 'plugin', 'Containerfile')));
    expect(build).toBeDefined();
    // Nx's task-tree kill: leaves first, and podman is a leaf the moment its step is gone, whatever it is doing then.
    let signalled = false;
    const leafWatch = setInterval(() => {
      if (signalled || listDescendants(build!.pid).length > 0) return;
      signalled = true;
      try {
        process.kill(build!.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }, 2);
    try {
      controller.abort();
      expect(await outcome).toEqual({ status: 'aborted' });
    } finally {
      clearInterval(leafWatch);
    }
    await waitFor(() => sleeping().length === 0, 5000);
    const left = podman('ps', '-a', '--external', '--format', '{{.ID}}')
      .split('\n')
      .filter((id) => id && !containersBefore.has(id));
    expect(left).toEqual([]);
  });

  it('image retention: keeps the newest builds, removes older ones with their stage images, never a tagged or used one', async () => {
    const engine = createPodmanEngine({ podman: 'podman', remote: false });
    const records = createBuildRecordStore(ws.path);
    const logger = createLogger({ verbose: false, stream: { write: () => true } as never });
    const buildVersion = async (version: number) => {
      write('plugin/app.txt', `retention ${version} ${RUN}\n`);
      const outcome = await runPodmanBuild(options(), deps());
      if (outcome.status !== 'built') throw new Error(`build ${version}: ${JSON.stringify(outcome)}`);
      const pruned = await pruneSupersededImages(PROJECT, 'production', 1, { engine, records, logger });
      return { id: outcome.record.imageId, hash: outcome.record.inputHash, pruned };
    };
    const exists = (id: string) => podmanOk('image', 'exists', id);
    const labelled = (hash: string) => podman('images', '-a', '--quiet', '--filter', `label=io.prism.nx-podman.input-hash=${hash}`);

    const v1 = await buildVersion(1);
    podman('tag', v1.id, `localhost/nxp-test-build/user-${RUN}:mine`);
    const v2 = await buildVersion(2);
    expect(v2.pruned).toEqual({ removed: [], skipped: [{ imageId: v1.id, reason: 'tagged' }] });
    const container = `nxp-test-retention-${RUN}`;
    podman('create', '--name', container, v2.id, '/built.txt');
    try {
      const v3 = await buildVersion(3);
      expect(v3.pruned).toEqual({ removed: [], skipped: [{ imageId: v2.id, reason: 'in use by a container' }] });
      podman('rm', container);
      const v4 = await buildVersion(4);
      expect(v4.pruned.removed.sort()).toEqual([v2.id, v3.id].sort());
      expect([v1, v2, v3, v4].map((v) => exists(v.id))).toEqual([true, false, false, true]);
      expect(labelled(v2.hash)).toBe('');
      expect(labelled(v3.hash)).toBe('');
      expect((await records.read(PROJECT, 'production'))?.history).toEqual([{ inputHash: v4.hash, imageId: v4.id }]);
    } finally {
      podmanOk('rm', '-f', container);
      podmanOk('rmi', `localhost/nxp-test-build/user-${RUN}:mine`);
    }
  });

  it('builds several platforms into a manifest list and tags it', async () => {
    write('plugin/Containerfile', `FROM scratch AS production\nCOPY app.txt /app.txt\n`);
    const outcome = await runPodmanBuild(options({ tags: [`${REPO}:multi`], platforms: ['linux/amd64', 'linux/arm64'] }), deps());
    if (outcome.status === 'failed') throw new Error(outcome.message);
    expect(outcome).toMatchObject({ status: 'built', record: { platforms: ['linux/amd64', 'linux/arm64'] } });
    const list = JSON.parse(podman('manifest', 'inspect', `${REPO}:multi`)) as { manifests: { platform: { architecture: string } }[] };
    expect(list.manifests.map((entry) => entry.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    expect(
      podman('images', '--format', '{{.Repository}}')
        .split('\n')
        .filter((name) => name.includes(`nx-podman-manifest/${PROJECT}`)),
    ).toEqual([]);
    expect((await runPodmanBuild(options({ tags: [`${REPO}:multi`], platforms: ['linux/amd64', 'linux/arm64'] }), deps())).status).toBe('up-to-date');
    podmanOk('manifest', 'rm', `${REPO}:multi`);
  });

  it('pushes to an oci-archive destination, also when the image is up to date', async () => {
    write('plugin/app.txt', `push ${RUN}\n`);
    const outcome = await runPodmanBuild(options({ push: true, pushDestination: 'oci-archive:dist/{projectName}-{stage}.tar' }), deps());
    if (outcome.status === 'failed') throw new Error(outcome.message);
    expect(outcome.status).toBe('built');
    expect(existsSync(join(ws.path, `dist/${PROJECT}-production.tar`))).toBe(true);
    const again = await runPodmanBuild(options({ push: true, pushDestination: 'oci-archive:dist/again.tar' }), deps());
    expect(again.status).toBe('up-to-date');
    expect(existsSync(join(ws.path, 'dist/again.tar'))).toBe(true);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
