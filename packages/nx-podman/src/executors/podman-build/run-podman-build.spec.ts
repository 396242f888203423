// Why this file is long: one harness (fake engine, hasher, records) drives every path of a build: skip, build, several platforms, push, environment.
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../adapters/logger';
import type { BuildRecord } from '../../core/build-record';
import { FakeEngine } from '../../testing/fake-engine';
import { createTempDir } from '../../testing/temp-dir';
import { normalizePodmanBuildOptions } from './normalize-options';
import { runPodmanBuild, type PodmanBuildDeps } from './run-podman-build';
import type { PodmanBuildExecutorSchema } from './schema';
import type { BuildRecordStore, ContextHasher, ContextHashRequest, GitReader } from '../../core/ports';
import { PodmanUnavailableError } from '../../core/errors';

const CONTAINERFILE = `FROM localhost/prism/go-builder:1.19 AS builder
COPY . /src
FROM scratch AS production
COPY --from=builder /out/plugin /plugin
FROM localhost/prism/busybox:latest AS debug
`;
const IMAGE_ID = 'sha256:' + 'a'.repeat(64);
const HASH = 'f'.repeat(64);

function memoryRecords(): BuildRecordStore & { saved: Map<string, BuildRecord> } {
  const saved = new Map<string, BuildRecord>();
  return {
    saved,
    read: async (project, stage) => saved.get(`${project}/${stage}`),
    write: async (record) => {
      saved.set(`${record.project}/${record.stage}`, record);
    },
  };
}

function fakeHasher(hash = HASH): ContextHasher & { requests: ContextHashRequest[] } {
  const requests: ContextHashRequest[] = [];
  return { requests, hash: async (request) => (requests.push(request), { inputHash: hash, files: ['main.go'], wholeContext: true }) };
}

const noGit: GitReader = { revision: async () => undefined };
const git: GitReader = { revision: async () => ({ full: 'c'.repeat(40), short: 'ccccccc' }) };

/** Answers `podman build` by writing the --iidfile like podman does (id without the sha256: prefix). */
function buildSucceeds(engine: FakeEngine, output = 'STEP 1/2: FROM scratch\n') {
  engine.on(['build'], async (args, options) => {
    options?.onOutput?.(output, 'stdout');
    await writeFile(args[args.indexOf('--iidfile') + 1], IMAGE_ID.slice('sha256:'.length));
    return { stdout: output };
  });
}

describe('runPodmanBuild', () => {
  let ws: ReturnType<typeof createTempDir>;
  let engine: FakeEngine;
  let records: ReturnType<typeof memoryRecords>;
  let hasher: ReturnType<typeof fakeHasher>;
  let out: string;
  let clock: number;

  const options = (schema: PodmanBuildExecutorSchema = {}) =>
    normalizePodmanBuildOptions(schema, { projectName: 'postgres', projectRoot: 'plugins/postgres', workspaceRoot: ws.path, env: {} });
  const deps = (extra: Partial<PodmanBuildDeps> = {}): PodmanBuildDeps => ({
    engine,
    records,
    hasher,
    git: noGit,
    logger: createLogger({ verbose: false, stream: { write: (text: string) => ((out += text), true) } as never }),
    clock: { now: () => clock, date: () => new Date(clock) },
    ...extra,
  });

  beforeEach(() => {
    ws = createTempDir('nxp-build-run-');
    mkdirSync(join(ws.path, 'plugins/postgres'), { recursive: true });
    writeFileSync(join(ws.path, 'plugins/postgres/Containerfile'), CONTAINERFILE);
    engine = new FakeEngine();
    records = memoryRecords();
    hasher = fakeHasher();
    out = '';
    clock = 1_000_000;
    engine.on(['image', 'ls'], { stdout: '' });
  });
  afterEach(() => ws.cleanup());

  it('builds the stage with the tags and labels, streams output, records the image id and logs the duration', async () => {
    buildSucceeds(engine);
    engine.on(['build'], async (args, runOptions) => {
      clock += 12_345;
      runOptions?.onOutput?.('STEP 1/2: FROM scratch\n', 'stdout');
      await writeFile(args[args.indexOf('--iidfile') + 1], IMAGE_ID.slice(7));
      return {};
    });
    const outcome = await runPodmanBuild(options(), deps());

    const build = engine.callsStartingWith('build')[0];
    const iidfile = build[build.indexOf('--iidfile') + 1];
    expect(build).toEqual([
      'build',
      '--iidfile',
      iidfile,
      '--file',
      join(ws.path, 'plugins/postgres/Containerfile'),
      '--target',
      'production',
      '--force-rm',
      '--tag',
      'prism/postgres-plugin:production',
      '--tag',
      'prism/postgres-plugin:latest',
      '--label',
      'org.opencontainers.image.title=postgres',
      '--label',
      'io.prism.nx-podman.project=postgres',
      '--label',
      'io.prism.nx-podman.stage=production',
      '--label',
      'org.opencontainers.image.created=1970-01-01T00:16:40.000Z',
      '--label',
      `io.prism.nx-podman.input-hash=${HASH}`,
      join(ws.path, 'plugins/postgres'),
    ]);
    const record: BuildRecord = {
      version: 1,
      project: 'postgres',
      stage: 'production',
      imageId: IMAGE_ID,
      tags: ['prism/postgres-plugin:production', 'prism/postgres-plugin:latest'],
      inputHash: HASH,
      file: 'plugins/postgres/Containerfile',
      context: 'plugins/postgres',
      platforms: [],
      builtAt: new Date(clock).toISOString(),
      history: [{ inputHash: HASH, imageId: IMAGE_ID }],
    };
    expect(outcome).toEqual({ status: 'built', record, durationMs: 12_345 });
    expect(records.saved.get('postgres/production')).toEqual(record);
    expect(out).toBe('INFO building plugin plugin=postgres stage=production\nSTEP 1/2: FROM scratch\nINFO build completed plugin=postgres duration=12.3s\n');
    expect(hasher.requests[0]).toMatchObject({
      context: join(ws.path, 'plugins/postgres'),
      stage: 'production',
      containerfile: CONTAINERFILE,
      excludeDirectories: [join(ws.path, '.nx')],
    });
  });

  it('without a record, looks for an image with the same input hash label and skips the build, re-tagging it and writing the record', async () => {
    engine.on(['image', 'ls'], { stdout: `${IMAGE_ID} localhost/prism/postgres-plugin:production\n` });
    const outcome = await runPodmanBuild(options(), deps());
    expect(engine.callsStartingWith('build')).toEqual([]);
    expect(engine.callsStartingWith('image', 'ls')).toEqual([
      ['image', 'ls', '--no-trunc', '--filter', `label=io.prism.nx-podman.input-hash=${HASH}`, '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'],
    ]);
    expect(outcome).toMatchObject({ status: 'up-to-date', record: { imageId: IMAGE_ID, history: [{ inputHash: HASH, imageId: IMAGE_ID }] } });
  });

  it('with a record, a hash it knows (current or in its history) is checked with one inspect of that image, never a search of the store', async () => {
    const older = 'sha256:' + 'd'.repeat(64);
    const olderHash = 'e'.repeat(64);
    await records.write({
      version: 1,
      project: 'postgres',
      stage: 'debug',
      imageId: older,
      tags: [],
      inputHash: olderHash,
      file: '',
      context: '',
      platforms: [],
      builtAt: '2020-01-01T00:00:00.000Z',
      history: [
        { inputHash: olderHash, imageId: older },
        { inputHash: HASH, imageId: IMAGE_ID },
      ],
    });
    engine.on(['image', 'inspect'], { stdout: '["localhost/prism/postgres-plugin:latest"]\n' });
    const outcome = await runPodmanBuild(options({ stage: 'debug' }), deps());

    expect(engine.callsStartingWith('build')).toEqual([]);
    expect(engine.callsStartingWith('image', 'ls')).toEqual([]);
    expect(engine.callsStartingWith('image', 'inspect')).toEqual([['image', 'inspect', '--format', '{{json .RepoTags}}', IMAGE_ID]]);
    expect(engine.callsStartingWith('tag')).toEqual([['tag', IMAGE_ID, 'prism/postgres-plugin:debug']]);
    expect(outcome).toMatchObject({
      status: 'up-to-date',
      record: {
        history: [
          { inputHash: HASH, imageId: IMAGE_ID },
          { inputHash: olderHash, imageId: older },
        ],
      },
    });
    expect(outcome).toMatchObject({ status: 'up-to-date', record: { imageId: IMAGE_ID, stage: 'debug', inputHash: HASH } });
    expect(records.saved.get('postgres/debug')?.imageId).toBe(IMAGE_ID);
    expect(out).toBe('INFO image up to date plugin=postgres stage=debug image=aaaaaaaaaaaa\n');
  });

  it('with a record that does not know the hash, builds without searching the store', async () => {
    await records.write({
      version: 1,
      project: 'postgres',
      stage: 'production',
      imageId: 'sha256:' + 'd'.repeat(64),
      tags: [],
      inputHash: 'e'.repeat(64),
      file: '',
      context: '',
      platforms: [],
      builtAt: '2020-01-01T00:00:00.000Z',
    });
    buildSucceeds(engine);
    expect((await runPodmanBuild(options(), deps())).status).toBe('built');
    expect(engine.callsStartingWith('image', 'ls')).toEqual([]);
    expect(records.saved.get('postgres/production')?.history).toEqual([
      { inputHash: HASH, imageId: IMAGE_ID },
      { inputHash: 'e'.repeat(64), imageId: 'sha256:' + 'd'.repeat(64) },
    ]);
  });

  it('does not take an untagged intermediate-stage image that carries the same hash label for the built image', async () => {
    // podman 4.3 labels the builder stage's image too; running it fails with "no command or entrypoint provided".
    const builder = 'sha256:' + 'c'.repeat(64);
    engine.on(['image', 'ls'], { stdout: `${builder} <none>:<none>\n` });
    buildSucceeds(engine);
    const outcome = await runPodmanBuild(options(), deps());
    expect(engine.callsStartingWith('build')).toHaveLength(1);
    expect(outcome).toMatchObject({ status: 'built', record: { imageId: IMAGE_ID } });
  });

  it('does not re-tag when every tag already points at the up-to-date image', async () => {
    engine.on(['image', 'ls'], { stdout: `${IMAGE_ID} localhost/prism/postgres-plugin:production\n${IMAGE_ID} localhost/prism/postgres-plugin:latest\n` });
    expect((await runPodmanBuild(options(), deps())).status).toBe('up-to-date');
    expect(engine.callsStartingWith('tag')).toEqual([]);
  });

  it('only adds the missing tags', async () => {
    engine.on(['image', 'ls'], { stdout: `${IMAGE_ID} localhost/prism/postgres-plugin:production\n` });
    expect((await runPodmanBuild(options(), deps())).status).toBe('up-to-date');
    expect(engine.callsStartingWith('tag')).toEqual([['tag', IMAGE_ID, 'prism/postgres-plugin:latest']]);
  });

  it('fails with a clear message when podman is missing, before any build', async () => {
    engine.exec = async () => {
      throw new PodmanUnavailableError('podman was not found at "podman" (option "podman"). Install podman.');
    };
    const outcome = await runPodmanBuild(options(), deps());
    expect(outcome).toEqual({ status: 'failed', exitCode: 1, message: 'podman was not found at "podman" (option "podman"). Install podman.', outputTail: '' });
    expect(out).toBe('ERROR build not started plugin=postgres stage=production\n');
  });

  it('prefers the recorded image when several carry the hash, and keeps its build time', async () => {
    const other = 'sha256:' + 'b'.repeat(64);
    await records.write({
      version: 1,
      project: 'postgres',
      stage: 'production',
      imageId: other,
      tags: [],
      inputHash: HASH,
      file: '',
      context: '',
      platforms: [],
      builtAt: '2020-01-01T00:00:00.000Z',
    });
    engine.on(['image', 'ls'], { stdout: `${IMAGE_ID} <none>:<none>\n${other} <none>:<none>\n` });
    const outcome = await runPodmanBuild(options(), deps());
    expect(outcome).toMatchObject({ status: 'up-to-date', record: { imageId: other, builtAt: '2020-01-01T00:00:00.000Z' } });
  });

  it.each([
    ['force', { force: true }],
    ['noCache', { noCache: true }],
  ] as const)('rebuilds with %s without asking for an up-to-date image', async (_name, schema) => {
    engine.on(['image', 'ls'], { stdout: `${IMAGE_ID}\n` });
    buildSucceeds(engine);
    const outcome = await runPodmanBuild(options(schema), deps());
    expect(outcome.status).toBe('built');
    expect(engine.callsStartingWith('image', 'ls')).toEqual([]);
    expect(engine.callsStartingWith('build')[0].includes('--no-cache')).toBe('noCache' in schema);
  });

  it('reports a failed build with the last lines of stderr and leaves the record alone', async () => {
    engine.on(['build'], (_args, runOptions) => {
      runOptions?.onOutput?.('STEP 1/3: FROM scratch\n', 'stdout');
      return { exitCode: 125, stderr: 'STEP 2/3\nError: building at STEP "RUN false": exit status 1\n' };
    });
    const outcome = await runPodmanBuild(options(), deps());
    expect(outcome).toEqual({
      status: 'failed',
      exitCode: 125,
      message: 'podman build failed for "postgres" (exit 125): STEP 2/3\nError: building at STEP "RUN false": exit status 1',
      outputTail: 'STEP 2/3\nError: building at STEP "RUN false": exit status 1',
    });
    expect(out).toContain('ERROR build failed plugin=postgres exit=125\n');
    expect(records.saved.size).toBe(0);
  });

  it('with quiet, streams nothing and points to --verbose on failure', async () => {
    engine.on(['build'], (_args, runOptions) => {
      runOptions?.onOutput?.('STEP 1/3: FROM scratch\n', 'stdout');
      return { exitCode: 1, stderr: 'Error: boom\n' };
    });
    const outcome = await runPodmanBuild(options({ quiet: true }), deps());
    expect(out).not.toContain('STEP 1/3');
    expect(outcome).toMatchObject({
      status: 'failed',
      message: 'podman build failed for "postgres" (exit 1): Error: boom\nRun with --verbose for the full output.',
    });
  });

  it('fails before podman for an unknown stage, naming the stages there are', async () => {
    const outcome = await runPodmanBuild(options({ stage: 'staging' }), deps());
    expect(outcome).toEqual({
      status: 'failed',
      exitCode: 1,
      message:
        'Unknown stage "staging" for "postgres": plugins/postgres/Containerfile does not define it; its stages are "builder", "production", "debug". Set the "stage" option (or run the production/debug configuration) to a stage the Containerfile defines.',
      outputTail: '',
    });
    expect(engine.calls).toEqual([]);
    expect(out).toBe('ERROR build not started plugin=postgres stage=staging\n');
  });

  it('fails before podman when the Containerfile is missing', async () => {
    const outcome = await runPodmanBuild(options({ file: 'plugins/postgres/Nope' }), deps());
    expect(outcome).toMatchObject({
      status: 'failed',
      message:
        'No Containerfile for "postgres": plugins/postgres/Nope does not exist. Create it, or set the "file" option to the Containerfile\'s path (default: Containerfile, else Dockerfile, in plugins/postgres).',
    });
    expect(engine.calls).toEqual([]);
  });

  it('fails before podman when the context is not a directory', async () => {
    const outcome = await runPodmanBuild(options({ context: 'plugins/missing' }), deps());
    expect(outcome).toMatchObject({ status: 'failed', message: expect.stringContaining('Build context of "postgres" is not a directory: plugins/missing.') });
    expect(engine.calls).toEqual([]);
  });

  it('fails with the engine message when podman is unavailable', async () => {
    engine.version = async () => {
      throw new PodmanUnavailableError('podman was not found at "podman" (option "podman"). Install podman.');
    };
    const outcome = await runPodmanBuild(options(), deps());
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 1, message: 'podman was not found at "podman" (option "podman"). Install podman.' });
    expect(engine.callsStartingWith('build')).toEqual([]);
  });

  it('only passes flags the installed podman supports', async () => {
    engine = new FakeEngine({ client: '3.4.4', server: '3.4.4', major: 3, minor: 4, patch: 4 });
    engine.on(['image', 'ls'], { stdout: '' });
    buildSucceeds(engine);
    await runPodmanBuild(options({ pull: 'always' }), deps());
    expect(engine.callsStartingWith('build')[0]).toContain('--pull-always');
    const outcome = await runPodmanBuild(options({ pull: 'newer', force: true }), deps());
    expect(outcome).toMatchObject({ status: 'failed', message: expect.stringContaining('Option "pull" is "newer", which needs podman >= 4.0') });
  });

  it('expands {shortCommitSha} and labels the revision', async () => {
    buildSucceeds(engine);
    const outcome = await runPodmanBuild(options({ tags: ['prism/postgres:{shortCommitSha}'], buildArgs: { REV: '{shortCommitSha}' } }), deps({ git }));
    const build = engine.callsStartingWith('build')[0];
    expect(build).toEqual(
      expect.arrayContaining([
        '--tag',
        'prism/postgres:ccccccc',
        '--build-arg',
        'REV=ccccccc',
        '--label',
        `org.opencontainers.image.revision=${'c'.repeat(40)}`,
      ]),
    );
    expect(hasher.requests[0].buildArgs).toEqual({ REV: 'ccccccc' });
    expect(outcome).toMatchObject({ status: 'built', record: { tags: ['prism/postgres:ccccccc'] } });
  });

  it('fails before podman when {shortCommitSha} is used outside a git repository', async () => {
    const outcome = await runPodmanBuild(options({ tags: ['prism/postgres:{shortCommitSha}'] }), deps());
    expect(outcome).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('Option "tags[0]" ("prism/postgres:{shortCommitSha}") uses {shortCommitSha} but'),
    });
    expect(engine.calls).toEqual([]);
  });

  it('passes GOPROXY & co. from the environment by name only, and hashes their values', async () => {
    writeFileSync(join(ws.path, 'plugins/postgres/Containerfile'), `FROM scratch AS builder\nARG GOPROXY GOFLAGS\n${CONTAINERFILE}`);
    buildSucceeds(engine);
    const env = { GOPROXY: 'https://ci:s3cret@proxy.corp/go', GOFLAGS: '-tags=corp', GONOSUMDB: 'corp.example.com' };
    const withEnv = normalizePodmanBuildOptions({}, { projectName: 'postgres', projectRoot: 'plugins/postgres', workspaceRoot: ws.path, env });
    await runPodmanBuild(withEnv, deps({ logger: createLogger({ verbose: true, stream: { write: (text: string) => ((out += text), true) } as never }) }));

    const build = engine.callsStartingWith('build')[0];
    expect(build).toEqual(expect.arrayContaining(['--build-arg', 'GOPROXY', '--build-arg', 'GOFLAGS']));
    // GONOSUMDB is not declared by the Containerfile: not passed (podman would warn it was not consumed).
    expect(build).not.toContain('GONOSUMDB');
    expect(JSON.stringify(engine.calls)).not.toContain('s3cret');
    expect(out).not.toContain('s3cret');
    expect(hasher.requests[0].buildArgs).toEqual({ GOPROXY: env.GOPROXY, GOFLAGS: env.GOFLAGS });
  });

  it('pushes every tag after the build, or once to a destination', async () => {
    buildSucceeds(engine);
    await runPodmanBuild(options({ push: true }), deps());
    expect(engine.callsStartingWith('push')).toEqual([
      ['push', 'prism/postgres-plugin:production'],
      ['push', 'prism/postgres-plugin:latest'],
    ]);

    engine.calls.length = 0;
    engine.on(['image', 'ls'], { stdout: `${IMAGE_ID}\n` });
    await runPodmanBuild(options({ push: true, pushDestination: 'dir:out' }), deps());
    expect(engine.callsStartingWith('push')).toEqual([['push', IMAGE_ID, `dir:${join(ws.path, 'out')}`]]);
  });

  it('reports a failed push naming the registry and the fix, and keeps the image', async () => {
    buildSucceeds(engine);
    engine.on(['push'], { exitCode: 125, stderr: 'Error: trying to reuse blob: requested access to the resource is denied\n' });
    const outcome = await runPodmanBuild(options({ push: true, quiet: true, tags: ['registry.example.com/prism/postgres:v1'] }), deps());
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 125 });
    const message = (outcome as { message: string }).message.split('\n');
    expect(message[0]).toBe(
      'Push to registry registry.example.com failed: registry.example.com refused the credentials (unauthorized). Log in first: podman login registry.example.com (in CI: echo "$TOKEN" | podman login --username "$USER" --password-stdin registry.example.com).',
    );
    expect(message[1]).toMatch(/^podman push registry.example.com\/prism\/postgres:v1 failed for "postgres" \(exit 125\): Error: trying to reuse blob/);
    expect(message.at(-1)).toBe(
      `The image ${IMAGE_ID.slice(7, 19)} stays in local storage; once fixed, run the build again: it is up to date and only pushes.`,
    );
    expect(engine.callsStartingWith('rmi')).toEqual([]);
    expect(engine.callsStartingWith('push')).toHaveLength(1);
  });

  it('builds several platforms into a manifest list, checks every platform is in it, then tags it', async () => {
    const listId = 'sha256:' + 'd'.repeat(64);
    buildSucceeds(engine);
    engine.on(['manifest', 'inspect'], {
      stdout: JSON.stringify({ manifests: [{ platform: { os: 'linux', architecture: 'amd64' } }, { platform: { os: 'linux', architecture: 'arm64' } }] }),
    });
    engine.on(['image', 'ls', '--no-trunc', '--filter', `reference=localhost/nx-podman-manifest/postgres-production:${HASH.slice(0, 16)}`], {
      stdout: `${listId}\n`,
    });
    const outcome = await runPodmanBuild(options({ platforms: ['linux/amd64', 'linux/arm64'] }), deps());

    const manifest = `localhost/nx-podman-manifest/postgres-production:${HASH.slice(0, 16)}`;
    expect(engine.callsStartingWith('build')[0]).toEqual(expect.arrayContaining(['--platform', 'linux/amd64,linux/arm64', '--manifest', manifest]));
    expect(engine.callsStartingWith('tag')).toEqual([['tag', manifest, 'prism/postgres-plugin:production', 'prism/postgres-plugin:latest']]);
    expect(engine.callsStartingWith('manifest', 'rm')).toEqual([
      ['manifest', 'rm', manifest],
      ['manifest', 'rm', manifest],
    ]);
    expect(outcome).toMatchObject({ status: 'built', record: { imageId: listId, platforms: ['linux/amd64', 'linux/arm64'] } });
  });

  it('rebuilds without the layer cache when the manifest list lacks a platform, and fails if it still does', async () => {
    buildSucceeds(engine);
    engine.on(['manifest', 'inspect'], { stdout: JSON.stringify({ manifests: [{ platform: { os: 'linux', architecture: 'amd64' } }] }) });
    const outcome = await runPodmanBuild(options({ platforms: ['linux/amd64', 'linux/arm64'] }), deps());
    const builds = engine.callsStartingWith('build');
    expect(builds.map((args) => args.includes('--no-cache'))).toEqual([false, true]);
    expect(out).toContain('WARN manifest list incomplete, rebuilding without the layer cache plugin=postgres stage=production missing=linux/arm64\n');
    expect(outcome).toMatchObject({ status: 'failed', message: expect.stringContaining('linux/arm64 missing even without the layer cache') });
    expect(records.saved.size).toBe(0);
  });

  it('succeeds when the rebuild without cache completes the manifest list', async () => {
    buildSucceeds(engine);
    let inspections = 0;
    engine.on(['manifest', 'inspect'], () => {
      inspections++;
      const arches = inspections === 1 ? ['amd64'] : ['amd64', 'arm64'];
      return { stdout: JSON.stringify({ manifests: arches.map((architecture) => ({ platform: { os: 'linux', architecture } })) }) };
    });
    engine.on(['image', 'ls', '--no-trunc', '--filter', `reference=localhost/nx-podman-manifest/postgres-production:${HASH.slice(0, 16)}`], {
      stdout: 'sha256:' + 'd'.repeat(64) + '\n',
    });
    const outcome = await runPodmanBuild(options({ platforms: ['linux/amd64', 'linux/arm64'] }), deps());
    expect(outcome.status).toBe('built');
    expect(engine.callsStartingWith('manifest', 'rm')).toHaveLength(3); // before each build, then the temporary name
  });

  it('is up to date for several platforms when the recorded list with the same hash still exists', async () => {
    const listId = 'sha256:' + 'd'.repeat(64);
    await records.write({
      version: 1,
      project: 'postgres',
      stage: 'production',
      imageId: listId,
      tags: [],
      inputHash: HASH,
      file: '',
      context: '',
      platforms: [],
      builtAt: '2020-01-01T00:00:00.000Z',
    });
    const outcome = await runPodmanBuild(options({ platforms: ['linux/amd64', 'linux/arm64'] }), deps());
    expect(engine.callsStartingWith('image', 'exists')).toEqual([['image', 'exists', listId]]);
    expect(outcome).toMatchObject({ status: 'up-to-date', record: { imageId: listId } });
  });

  it('returns aborted when the signal aborts during the build', async () => {
    const controller = new AbortController();
    engine.on(['build'], () => {
      controller.abort();
      return { exitCode: 143, aborted: true };
    });
    expect(await runPodmanBuild(options(), deps({ signal: controller.signal }))).toEqual({ status: 'aborted' });
    expect(records.saved.size).toBe(0);
    expect(await runPodmanBuild(options(), deps({ signal: controller.signal }))).toEqual({ status: 'aborted' });
  });

  it('passes the abort signal to podman build', async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    engine.on(['build'], (args, runOptions) => {
      seen = runOptions?.signal;
      return { exitCode: 1 };
    });
    await runPodmanBuild(options(), deps({ signal: controller.signal }));
    expect(seen).toBe(controller.signal);
  });
});
