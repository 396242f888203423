import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTempDir } from '../../testing/temp-dir';
import { normalizePodmanBuildOptions, PodmanBuildOptionsError } from './normalize-options';
import type { PodmanBuildExecutorSchema } from './schema';

describe('normalizePodmanBuildOptions', () => {
  let ws: ReturnType<typeof createTempDir>;
  const ctx = () => ({ projectName: 'postgres', projectRoot: 'plugins/postgres', workspaceRoot: ws.path, env: { VERSION: 'v1.2.3' } });
  const normalize = (options: PodmanBuildExecutorSchema) => normalizePodmanBuildOptions(options, ctx());

  beforeEach(() => {
    ws = createTempDir('nxp-build-normalize-');
    mkdirSync(join(ws.path, 'plugins/postgres'), { recursive: true });
  });
  afterEach(() => ws.cleanup());

  it('applies the defaults', () => {
    writeFileSync(join(ws.path, 'plugins/postgres/Containerfile'), 'FROM scratch AS production\n');
    expect(normalize({})).toEqual({
      projectName: 'postgres',
      projectRoot: 'plugins/postgres',
      workspaceRoot: ws.path,
      file: join(ws.path, 'plugins/postgres/Containerfile'),
      context: join(ws.path, 'plugins/postgres'),
      stage: 'production',
      tags: ['prism/postgres-plugin:production', 'prism/postgres-plugin:latest'],
      buildArgs: {},
      labels: {},
      pull: undefined,
      noCache: false,
      platforms: [],
      push: false,
      pushDestination: undefined,
      extraArgs: [],
      force: false,
      quiet: false,
      connection: { podman: 'podman', remote: false, connection: undefined },
      env: expect.any(Object),
    });
  });

  it('is frozen', () => {
    const options = normalize({});
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(options.tags)).toBe(true);
  });

  it('falls back to a Dockerfile, prefers a Containerfile, and points at Containerfile when neither exists', () => {
    expect(normalize({}).file).toBe(join(ws.path, 'plugins/postgres/Containerfile'));
    writeFileSync(join(ws.path, 'plugins/postgres/Dockerfile'), 'FROM scratch\n');
    expect(normalize({}).file).toBe(join(ws.path, 'plugins/postgres/Dockerfile'));
    writeFileSync(join(ws.path, 'plugins/postgres/Containerfile'), 'FROM scratch\n');
    expect(normalize({}).file).toBe(join(ws.path, 'plugins/postgres/Containerfile'));
  });

  it('resolves file and context against the workspace root', () => {
    const options = normalize({ file: 'plugins/postgres/Containerfile.dev', context: 'plugins' });
    expect(options.file).toBe(join(ws.path, 'plugins/postgres/Containerfile.dev'));
    expect(options.context).toBe(join(ws.path, 'plugins'));
  });

  it('tags the debug stage without :latest', () => {
    expect(normalize({ stage: 'debug' }).tags).toEqual(['prism/postgres-plugin:debug']);
  });

  it('expands tokens in tags, build args, labels and the push destination, keeping {shortCommitSha} for build time', () => {
    const options = normalize({
      stage: 'debug',
      tags: ['registry.local:5000/prism/{projectName}:{env.VERSION}-{stage}', 'prism/{projectName}:{shortCommitSha}'],
      buildArgs: { VERSION: '{env.VERSION}', PLUGIN: '{projectName}' },
      labels: { 'org.opencontainers.image.version': '{env.VERSION}' },
      push: true,
      pushDestination: 'oci-archive:dist/{projectName}-{stage}.tar',
    });
    expect(options.tags).toEqual(['registry.local:5000/prism/postgres:v1.2.3-debug', 'prism/postgres:{shortCommitSha}']);
    expect(options.buildArgs).toEqual({ VERSION: 'v1.2.3', PLUGIN: 'postgres' });
    expect(options.labels).toEqual({ 'org.opencontainers.image.version': 'v1.2.3' });
    expect(options.pushDestination).toBe(`oci-archive:${join(ws.path, 'dist/postgres-debug.tar')}`);
  });

  it('makes a named connection remote', () => {
    expect(normalize({ connection: 'big-box' }).connection).toEqual({ podman: 'podman', remote: true, connection: 'big-box' });
    expect(normalize({ remote: true, podman: '/usr/local/bin/podman' }).connection).toEqual({
      podman: '/usr/local/bin/podman',
      remote: true,
      connection: undefined,
    });
  });

  it.each<[PodmanBuildExecutorSchema, string]>([
    [{ stage: '' }, 'Invalid podman-build option "stage": expected a non-empty string, received ""'],
    [{ stage: 'prod stage' }, 'Invalid podman-build option "stage": expected a Containerfile stage name'],
    [{ tags: [] }, 'Invalid podman-build option "tags": expected at least one tag'],
    [{ tags: ['Prism/Postgres:1'] }, 'Invalid podman-build option "tags[0]": expected an image name like "prism/postgres-plugin:v1"'],
    [{ tags: ['prism/x:{env.MISSING}'] }, 'Option "tags[0]" ("prism/x:{env.MISSING}") uses {env.MISSING} but the environment variable MISSING is not set'],
    [{ pull: 'sometimes' as never }, 'Invalid podman-build option "pull": expected one of always, missing, never, newer, received "sometimes"'],
    [{ platforms: ['arm64'] }, 'Invalid podman-build option "platforms[0]": expected os/arch[/variant]'],
    [{ platforms: ['linux/amd64', 'linux/amd64'] }, 'Invalid podman-build option "platforms": expected each platform once'],
    [
      { extraArgs: '--squash' as never },
      'Invalid podman-build option "extraArgs": expected an array of strings (one argument per item, e.g. ["--squash"]), received "--squash"',
    ],
    [{ buildArgs: { 'BAD-NAME': 'x' } }, 'Invalid podman-build option "buildArgs.BAD-NAME"'],
    [{ buildArgs: { N: 1 as never } }, 'Invalid podman-build option "buildArgs.N": expected a string, received 1'],
    [{ noCache: 'yes' as never }, 'Invalid podman-build option "noCache": expected true or false, received "yes"'],
    [{ pushDestination: 'dir:out' }, 'Invalid podman-build option "push": expected true when "pushDestination" is set'],
  ])('rejects %j', (options, message) => {
    expect(() => normalize(options)).toThrow(message);
  });

  it('throws a PodmanBuildOptionsError for bad options', () => {
    expect(() => normalize({ stage: '' })).toThrow(PodmanBuildOptionsError);
  });
});
