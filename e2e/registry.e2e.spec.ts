import { execFileSync, spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { createE2eWorkspace, type E2eWorkspace, expectSucceeded, generateLocalPlugin, GO_BUILDER_IMAGE } from './utils/workspace';
import { agentStorage, freePort, saveImages, startRegistry, type AgentStorage, type TestRegistry } from './utils/registry';
import { describeWithPodman } from '../packages/nx-podman/src/testing/podman-available';

/**
 * The CI path against a real registry: the plugin option `registry` gives podman-build a `ci` configuration;
 * `nx affected -t podman-build -c ci` in a git workspace pushes only what the last commit affected, tagged with the
 * commit and `latest`, labelled; a clean podman storage pulls and runs it; a bad registry is a clear error.
 */
const TAG = `rg${process.pid % 100000}`;
const [A, B] = [`${TAG}a`, `${TAG}b`];
const STEP_TIMEOUT = 600_000;

jest.setTimeout(STEP_TIMEOUT);

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Local images of this test's plugins (every tag, and the multi-arch manifest lists), removed at the end. */
function removeLocalImages(): void {
  const names = spawnSync('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' }).stdout.split('\n');
  for (const name of names.filter((line) => [A, B].some((plugin) => line.includes(`/prism/${plugin}-plugin:`)))) {
    // A manifest list carries no labels; `manifest rm` drops it (rmi would resolve the name to one platform's image).
    spawnSync('podman', ['manifest', 'rm', name]);
    spawnSync('podman', ['rmi', '-f', name]);
  }
  for (const name of [A, B]) {
    const ids = spawnSync('podman', ['images', '-q', '--filter', `label=io.prism.nx-podman.project=${name}`], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    if (ids.length) spawnSync('podman', ['rmi', '-f', ...new Set(ids)]);
  }
}

/** A file's bytes in an (uncompressed) tar archive, by its path without a leading `/` or `./`. */
function fileInTar(tar: Buffer, path: string): Buffer | undefined {
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    const name = header.subarray(0, 100).toString().replace(/\0.*$/s, '');
    if (name === '') return undefined;
    const prefix = header.subarray(345, 500).toString().replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString().replace(/\0.*$/s, '').trim() || '0', 8);
    const full = (prefix ? `${prefix}/${name}` : name).replace(/^(\.\/|\/)+/, '');
    if (full === path) return tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** ELF e_machine: 0x3E x86-64, 0xB7 AArch64. */
const ELF_MACHINE = { amd64: 0x3e, arm64: 0xb7 } as const;

describeWithPodman('registry e2e: nx affected -t podman-build -c ci pushes to a real registry', () => {
  let registry: TestRegistry;
  let ws: E2eWorkspace;
  let clean: AgentStorage | undefined;
  let ports: number[];
  /** The tags a release has (the registry cache's `nxp-...` tags left out). */
  const releaseTags = async (repository: string) => (await registry.tags(repository)).filter((tag) => !tag.startsWith('nxp-'));
  const nxJson = (registryName: string) =>
    JSON.stringify({ analytics: false, plugins: [{ plugin: '@prism/nx-podman', options: { registry: registryName } }] }, null, 2);

  beforeAll(async () => {
    registry = await startRegistry();
    ports = [await freePort(), await freePort()];
    ws = createE2eWorkspace('registry');
    ws.write('nx.json', nxJson(`${registry.host}/prism`));
    for (const [index, name] of [A, B].entries()) {
      generateLocalPlugin(ws, name, { port: ports[index], protocol: 'http' });
    }
    git(ws.root, 'init', '-q', '-b', 'main');
    git(ws.root, 'config', 'user.email', 'e2e@example.com');
    git(ws.root, 'config', 'user.name', 'e2e');
    // Credentials in the remote URL must never reach a label.
    git(ws.root, 'remote', 'add', 'origin', 'https://ci-bot:s3cr3t-token@git.example.com/acme/prism.git');
    git(ws.root, 'add', '-A');
    git(ws.root, 'commit', '-q', '-m', 'two plugins');
  }, STEP_TIMEOUT);

  afterAll(async () => {
    clean?.remove();
    removeLocalImages();
    await registry?.stop();
    ws?.cleanup();
  });

  it('the first commit: both plugins pushed, tagged with the commit and latest', async () => {
    const first = git(ws.root, 'rev-parse', '--short', 'HEAD');
    const result = ws.nx(['run-many', '-t', 'podman-build', '-c', 'ci', `--projects=${A},${B}`], registry.env);
    expectSucceeded(result);
    for (const name of [A, B]) expect(await releaseTags(`prism/${name}-plugin`)).toEqual([first, 'latest'].sort());
  });

  it('the second commit: nx affected pushes only the plugin it changed', async () => {
    const first = git(ws.root, 'rev-parse', '--short', 'HEAD');
    const main = ws.read(`plugins/${A}/main.go`);
    expect(main).toContain(`"hello from ${A}"`);
    ws.write(`plugins/${A}/main.go`, main.replace(`"hello from ${A}"`, `"pushed from ${A}"`));
    git(ws.root, 'commit', '-q', '-am', `edit ${A}`);
    const second = git(ws.root, 'rev-parse', '--short', 'HEAD');

    const result = ws.nx(['affected', '-t', 'podman-build', '-c', 'ci', '--base=HEAD~1', '--head=HEAD'], registry.env);
    expectSucceeded(result);
    expect(result.output).toContain(`${A}:podman-build:ci`);
    expect(result.output).not.toContain(`${B}:podman-build`);
    expect(await releaseTags(`prism/${A}-plugin`)).toEqual([first, second, 'latest'].sort());
    expect(await releaseTags(`prism/${B}-plugin`)).toEqual([first, 'latest'].sort());
    // The ci configuration's registry cache: one tag per input hash built (A twice, B once).
    expect((await registry.tags(`prism/${A}-plugin`)).filter((tag) => tag.startsWith('nxp-production-'))).toHaveLength(2);
    expect((await registry.tags(`prism/${B}-plugin`)).filter((tag) => tag.startsWith('nxp-production-'))).toHaveLength(1);
  });

  it('pulled into a clean podman storage, the pushed image carries its labels and runs healthy', async () => {
    const full = git(ws.root, 'rev-parse', 'HEAD');
    const image = `${registry.host}/prism/${A}-plugin:${git(ws.root, 'rev-parse', '--short', 'HEAD')}`;
    clean = agentStorage('clean');
    const pulled = clean.podman(['pull', '--quiet', image], registry.env);
    expect(pulled.stderr).toBe('');
    expect(pulled.code).toBe(0);
    const labels = JSON.parse(clean.podman(['image', 'inspect', '--format', '{{json .Labels}}', image]).stdout) as Record<string, string>;
    expect(labels).toMatchObject({
      'org.opencontainers.image.revision': full,
      'org.opencontainers.image.source': 'https://git.example.com/acme/prism',
      'org.opencontainers.image.title': A,
    });
    expect(Date.parse(labels['org.opencontainers.image.created']!)).toBeGreaterThan(Date.now() - 3_600_000);
    expect(JSON.stringify(labels)).not.toContain('s3cr3t');

    const port = ports[0]!;
    const run = clean.podman(['run', '-d', '--name', `${A}-pulled`, '-p', `127.0.0.1:${port}:${port}`, image]);
    expect(run.stderr).toBe('');
    let answer: Record<string, string> | undefined;
    for (let tries = 0; tries < 100 && !answer; tries++) {
      answer = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000), keepalive: false })
        .then((response) => (response.ok ? (response.json() as Promise<Record<string, string>>) : undefined))
        .catch(() => undefined);
      if (!answer) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answer?.message).toBe(`pushed from ${A}`);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    expect(health.status).toBe(200);
  });

  it('multi-arch by cross-compiling: one manifest list with amd64 and arm64, each binary built for its platform', async () => {
    const projectJson = JSON.parse(ws.read(`plugins/${B}/project.json`)) as { targets: Record<string, { options?: Record<string, unknown> }> };
    projectJson.targets['podman-build'] = { options: { platforms: ['linux/amd64', 'linux/arm64'] } };
    ws.write(`plugins/${B}/project.json`, JSON.stringify(projectJson, null, 2));
    const result = ws.nx(['run', `${B}:podman-build:ci`, '--verbose'], registry.env);
    expectSucceeded(result);
    // No emulation: the builder stage ran on the build machine's platform for both (podman-build passed BUILDPLATFORM).
    expect(result.output).toMatch(/--build-arg '?BUILDPLATFORM=\*\*\*/);

    const repository = `prism/${B}-plugin`;
    const list = await registry.manifest(repository, 'latest');
    const platforms = (list.manifests ?? []).map((entry) => `${entry.platform?.os}/${entry.platform?.architecture}`).sort();
    expect(platforms).toEqual(['linux/amd64', 'linux/arm64']);
    for (const arch of ['amd64', 'arm64'] as const) {
      const entry = list.manifests!.find((candidate) => candidate.platform?.architecture === arch)!;
      const image = await registry.manifest(repository, entry.digest);
      let binary: Buffer | undefined;
      for (const layer of image.layers ?? []) {
        const blob = await registry.blob(repository, layer.digest);
        binary ??= fileInTar(layer.mediaType.includes('gzip') ? gunzipSync(blob) : blob, 'plugin');
      }
      expect(binary).toBeDefined();
      expect([...binary!.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
      expect(binary!.readUInt16LE(18)).toBe(ELF_MACHINE[arch]);
    }
    // The same list under the commit's tag.
    const commit = git(ws.root, 'rev-parse', '--short', 'HEAD');
    expect((await registry.manifest(repository, commit)).manifests?.map((entry) => entry.digest).sort()).toEqual(
      list.manifests!.map((entry) => entry.digest).sort(),
    );
  });

  it('a registry that is down: a clear error naming it, exit non-zero, the local image kept', async () => {
    const down = `127.0.0.1:${await freePort()}`;
    ws.write('nx.json', nxJson(`${down}/prism`));
    try {
      const result = ws.nx(['run', `${A}:podman-build:ci`], registry.env);
      expect(result.code).not.toBe(0);
      expect(result.output).toContain(`Push to registry ${down} failed: nothing answers at ${down} (connection refused).`);
      expect(result.output).toContain('stays in local storage');
      expect(spawnSync('podman', ['image', 'exists', `${down}/prism/${A}-plugin:latest`]).status).toBe(0);
    } finally {
      ws.write('nx.json', nxJson(`${registry.host}/prism`));
    }
  });

  describe('two CI agents, each with its own empty podman storage, sharing builds through the registry cache', () => {
    let archive: { path: string; remove(): void };
    const agents: AgentStorage[] = [];
    const clones: E2eWorkspace[] = [];

    /** A checkout of the workspace's HEAD on an agent with its own podman storage; nx.json pushes to `<registry>/agents`. */
    const agent = (name: string) => {
      const storage = agentStorage(name, archive.path);
      agents.push(storage);
      const clone = createE2eWorkspace(`agent-${name}`);
      clones.push(clone);
      for (const args of [
        ['init', '-q', '-b', 'main'],
        ['fetch', '-q', ws.root, 'main'],
        ['checkout', '-q', '-f', 'FETCH_HEAD'],
      ])
        git(clone.root, ...args);
      clone.write('nx.json', nxJson(`${registry.host}/agents`));
      const build = () =>
        clone.nx(['run-many', '-t', 'podman-build', '-c', 'ci', `--projects=${A},${B}`, '--output-style=static'], { ...registry.env, ...storage.env });
      const imageId = (plugin: string) => (JSON.parse(clone.read(`.nx/podman/builds/${plugin}/production.json`)) as { imageId: string }).imageId;
      return { storage, clone, build, imageId };
    };
    /** How many lines match; the whole output in the failure message when that is not `expected`. */
    const expectLines = (output: string, pattern: RegExp, expected: number) => {
      const found = output.split('\n').filter((line) => pattern.test(line)).length;
      if (found !== expected) throw new Error(`expected ${expected} lines matching ${pattern}, found ${found}; output:\n${output}`);
    };

    beforeAll(() => {
      archive = saveImages([GO_BUILDER_IMAGE]);
    });

    afterAll(() => {
      for (const storage of agents) storage.remove();
      for (const clone of clones) clone.cleanup();
      archive?.remove();
    });

    it('agent A builds both plugins and pushes them to the cache; agent B, same commit, builds nothing and ends with the same images', () => {
      const a = agent('a');
      const builtA = a.build();
      expectSucceeded(builtA);
      expectLines(builtA.output, /INFO building plugin plugin=/, 2);
      expectLines(builtA.output, /INFO pushed to the registry cache plugin=/, 2);

      const b = agent('b');
      const builtB = b.build();
      expectSucceeded(builtB);
      expectLines(builtB.output, /INFO building plugin plugin=/, 0);
      expectLines(builtB.output, /INFO image up to date \(registry\) plugin=/, 2);
      for (const plugin of [A, B]) expect(b.imageId(plugin)).toBe(a.imageId(plugin));

      // B after an edit of one plugin: only that one is built.
      const main = b.clone.read(`plugins/${A}/main.go`);
      b.clone.write(`plugins/${A}/main.go`, main.replace(`"pushed from ${A}"`, `"agent b edit of ${A}"`));
      const rebuilt = b.build();
      expectSucceeded(rebuilt);
      expect(rebuilt.output.split('\n').filter((line) => /INFO building plugin plugin=/.test(line))).toEqual([expect.stringContaining(`plugin=${A} `)]);
      expect(rebuilt.output).toMatch(new RegExp(`INFO image up to date plugin=${B} `));
    });
  });

  it('wrong credentials: a clear error naming the registry and podman login', () => {
    const result = ws.nx(['run', `${A}:podman-build:ci`], { ...registry.env, REGISTRY_AUTH_FILE: registry.wrongAuthFile });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(
      `Push to registry ${registry.host} failed: ${registry.host} refused the credentials (unauthorized). Log in first: podman login ${registry.host}`,
    );
    expect(result.output).not.toContain('wrong-password');
  });
});
