import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../adapters/logger';
import type { BuildRecord } from '../../core/build-record';
import type { BuildRecordStore, ContextHasher } from '../../core/ports';
import { FakeEngine } from '../../testing/fake-engine';
import { createTempDir } from '../../testing/temp-dir';
import { normalizePodmanBuildOptions } from './normalize-options';
import { registryCacheRef } from './registry-cache';
import { runPodmanBuild } from './run-podman-build';
import type { PodmanBuildExecutorSchema } from './schema';

const HASH = 'e'.repeat(64);
const IMAGE_ID = `sha256:${'b'.repeat(64)}`;
const REPO = 'registry.internal:5000/prism/postgres-plugin';
const REF = `${REPO}:nxp-production-${'e'.repeat(32)}`;
const TAGS = [`${REPO}:abc1234`, `${REPO}:latest`];

describe('podman-build registryCache', () => {
  let ws: ReturnType<typeof createTempDir>;
  let engine: FakeEngine;
  let out: string;
  let saved: BuildRecord[];

  const records: BuildRecordStore = { read: async () => undefined, write: async (record) => void saved.push(record) };
  const hasher: ContextHasher = { hash: async () => ({ inputHash: HASH, files: ['main.go'], wholeContext: false }) };
  const options = (schema: PodmanBuildExecutorSchema = {}) =>
    normalizePodmanBuildOptions(
      { tags: TAGS, registryCache: true, ...schema },
      { projectName: 'postgres', projectRoot: 'plugins/postgres', workspaceRoot: ws.path, env: {} },
    );
  const run = (schema?: PodmanBuildExecutorSchema) =>
    runPodmanBuild(options(schema), {
      engine,
      records,
      hasher,
      git: { revision: async () => undefined },
      logger: createLogger({ verbose: true, stream: { write: (text: string) => ((out += text), true) } as never }),
      clock: { now: () => 0, date: () => new Date(0) },
    });
  const buildSucceeds = () =>
    engine.on(['build'], async (args) => {
      await writeFile(args[args.indexOf('--iidfile') + 1], IMAGE_ID.slice(7));
      return {};
    });

  beforeEach(() => {
    ws = createTempDir('nxp-registry-cache-');
    mkdirSync(join(ws.path, 'plugins/postgres'), { recursive: true });
    writeFileSync(join(ws.path, 'plugins/postgres/Containerfile'), 'FROM scratch AS production\nCOPY plugin /plugin\n');
    engine = new FakeEngine();
    engine.on(['image', 'ls'], { stdout: '' });
    out = '';
    saved = [];
  });
  afterEach(() => ws.cleanup());

  it('names the cache tag after the stage and the input hash', () => {
    expect(registryCacheRef(REPO, 'production', HASH)).toBe(REF);
    expect(options().registryCache).toBe(REPO);
  });

  it('a hit: pulls the image another machine built from the same inputs and tags it; no build', async () => {
    engine.on(['pull', '--quiet', REF], { stdout: `${IMAGE_ID.slice(7)}\n` });
    engine.on(['image', 'inspect', '--format', '{{json .RepoTags}}'], { stdout: JSON.stringify([REF]) });
    engine.on(['image', 'inspect', '--format'], { stdout: `${HASH}\n` });
    const outcome = await run();

    expect(outcome).toMatchObject({ status: 'up-to-date', record: { imageId: IMAGE_ID, inputHash: HASH } });
    expect(engine.callsStartingWith('build')).toEqual([]);
    expect(engine.callsStartingWith('tag')).toEqual([['tag', IMAGE_ID, ...TAGS]]);
    expect(out).toMatch(/INFO image up to date \(registry\) plugin=postgres stage=production image=bbbbbbbbbbbb/);
  });

  it('a miss: builds, then pushes the image under the cache tag', async () => {
    engine.on(['pull'], { exitCode: 125, stderr: `Error: initializing source docker://${REF}: reading manifest nxp-production-eee: manifest unknown` });
    buildSucceeds();
    const outcome = await run();

    expect(outcome).toMatchObject({ status: 'built' });
    expect(engine.callsStartingWith('tag')).toEqual([['tag', IMAGE_ID, REF]]);
    expect(engine.callsStartingWith('push')).toEqual([['push', '--quiet', REF]]);
    expect(out).toContain(`INFO pushed to the registry cache plugin=postgres ref=${REF}`);
    expect(out).not.toMatch(/WARN/);
  });

  it('an unreachable registry is a warning naming it, and the build goes on', async () => {
    engine.on(['pull'], {
      exitCode: 125,
      stderr: 'Error: pinging container registry registry.internal:5000: dial tcp 10.0.0.5:5000: connect: connection refused',
    });
    engine.on(['push'], { exitCode: 125, stderr: 'Error: dial tcp 10.0.0.5:5000: connect: connection refused' });
    buildSucceeds();
    const outcome = await run();

    expect(outcome).toMatchObject({ status: 'built' });
    expect(out).toMatch(
      /WARN registry cache not reachable; building plugin=postgres registry=registry.internal:5000 reason="Pull from registry registry.internal:5000 failed: nothing answers/,
    );
    expect(out).toMatch(/WARN could not push to the registry cache plugin=postgres registry=registry.internal:5000/);
  });

  it('an image under the cache tag with other inputs is not used', async () => {
    engine.on(['pull', '--quiet', REF], { stdout: `${IMAGE_ID.slice(7)}\n` });
    engine.on(['image', 'inspect', '--format', '{{json .RepoTags}}'], { stdout: JSON.stringify([REF]) });
    engine.on(['image', 'inspect', '--format'], { stdout: `${'0'.repeat(64)}\n` });
    buildSucceeds();
    expect(await run()).toMatchObject({ status: 'built' });
    expect(out).toContain('WARN registry cache image has other inputs; building');
  });

  it('force and noCache skip the cache lookup', async () => {
    buildSucceeds();
    await run({ force: true });
    expect(engine.callsStartingWith('pull')).toEqual([]);
  });

  it.each([
    [{ registryCache: true, tags: ['prism/postgres-plugin:latest'] }, /"registryCache": expected .*true needs a tag that names a registry/],
    [{ registryCache: 'Registry/Prism' }, /"registryCache": expected .*a registry host, then a lower-case path, no tag.*received "Registry\/Prism"/],
    [{ registryCache: 'registry.internal:5000/prism/x:v1' }, /"registryCache".*no tag/],
    [{ registryCache: 42 }, /"registryCache": expected true, false, or a registry repository/],
    [{ registryCache: REPO, platforms: ['linux/amd64', 'linux/arm64'] }, /"registryCache": expected false or true with several "platforms"/],
  ])('rejects %j naming the option', (schema, message) => {
    expect(() => options(schema as PodmanBuildExecutorSchema)).toThrow(message);
  });

  it('true leaves a build of several platforms alone (the inferred ci configuration with platforms)', () => {
    expect(options({ platforms: ['linux/amd64', 'linux/arm64'] }).registryCache).toBeUndefined();
  });
});
