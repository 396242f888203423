import {
  buildPodmanBuildArgs,
  buildPodmanPushArgs,
  defaultLabels,
  buildVolumes,
  goEnvBuildArgs,
  platformBuildArgs,
  publicSourceUrl,
  defaultTags,
  expandTokens,
  maskBuildArgValues,
  qualifyImageName,
  TokenError,
  UnsupportedPodmanError,
  type PodmanBuildArgsInput,
} from './build-args';
import type { PodmanVersion } from './podman-version';

const v4: PodmanVersion = { client: '4.3.1', server: '4.3.1', major: 4, minor: 3, patch: 1 };
const v3: PodmanVersion = { client: '3.4.4', server: '3.4.4', major: 3, minor: 4, patch: 4 };

const base: PodmanBuildArgsInput = {
  file: '/ws/plugins/postgres/Containerfile',
  context: '/ws/plugins',
  stage: 'production',
  tags: ['prism/postgres-plugin:production', 'prism/postgres-plugin:latest'],
  buildArgs: {},
  labels: {},
  pull: undefined,
  noCache: false,
  platforms: [],
  extraArgs: [],
};

describe('expandTokens', () => {
  const values = { projectName: 'postgres', stage: 'debug', env: { VERSION: 'v1.0.0' }, shortCommitSha: 'abc1234' };

  it.each([
    ['prism/{projectName}-plugin:{stage}', 'prism/postgres-plugin:debug'],
    ['prism/{projectName}:{env.VERSION}', 'prism/postgres:v1.0.0'],
    ['prism/x:{shortCommitSha}-{stage}', 'prism/x:abc1234-debug'],
    ['{"json": {"kept": true}}', '{"json": {"kept": true}}'],
    ['{projectName}{projectName}', 'postgrespostgres'],
  ])('expands %s', (template, expected) => {
    expect(expandTokens(template, values, 'tags[0]')).toBe(expected);
  });

  it('leaves {shortCommitSha} alone when no commit is known yet', () => {
    expect(expandTokens('x:{shortCommitSha}', { ...values, shortCommitSha: undefined }, 'tags[0]')).toBe('x:{shortCommitSha}');
  });

  it('names the option, the variable and the fix for an unset env variable', () => {
    expect(() => expandTokens('prism/x:{env.RELEASE}', values, 'tags[1]')).toThrow(TokenError);
    expect(() => expandTokens('prism/x:{env.RELEASE}', values, 'tags[1]')).toThrow(
      'Option "tags[1]" ("prism/x:{env.RELEASE}") uses {env.RELEASE} but the environment variable RELEASE is not set. Set it (e.g. RELEASE=v1.0.0 nx run postgres:podman-build) or remove the token.',
    );
  });
});

describe('defaultTags', () => {
  it('adds :latest for production only', () => {
    expect(defaultTags('postgres', 'production')).toEqual(['prism/postgres-plugin:production', 'prism/postgres-plugin:latest']);
    expect(defaultTags('postgres', 'debug')).toEqual(['prism/postgres-plugin:debug']);
  });

  it('makes a valid image name from any project name', () => {
    expect(defaultTags('@acme/Postgres', 'debug')).toEqual(['prism/acme-postgres-plugin:debug']);
  });
});

describe('qualifyImageName', () => {
  it.each([
    ['prism/postgres-plugin:production', 'localhost/prism/postgres-plugin:production'],
    ['prism/postgres-plugin', 'localhost/prism/postgres-plugin:latest'],
    ['busybox', 'localhost/busybox:latest'],
    ['localhost/prism/x:1', 'localhost/prism/x:1'],
    ['registry.local:5000/prism/x:1', 'registry.local:5000/prism/x:1'],
    ['registry.local:5000/prism/x', 'registry.local:5000/prism/x:latest'],
    ['quay.io/prism/x:v1.0.0', 'quay.io/prism/x:v1.0.0'],
  ])('%s is stored as %s', (tag, expected) => expect(qualifyImageName(tag)).toBe(expected));
});

describe('defaultLabels', () => {
  it('adds the OCI title and, when known, the revision', () => {
    expect(defaultLabels({ projectName: 'pg', stage: 'debug', inputHash: 'h' })).toEqual({
      'org.opencontainers.image.title': 'pg',
      'io.prism.nx-podman.project': 'pg',
      'io.prism.nx-podman.stage': 'debug',
    });
    expect(defaultLabels({ projectName: 'pg', stage: 'debug', inputHash: 'h', revision: 'f'.repeat(40) })['org.opencontainers.image.revision']).toBe(
      'f'.repeat(40),
    );
  });

  it('adds source and created when known', () => {
    const labels = defaultLabels({
      projectName: 'pg',
      stage: 'production',
      inputHash: 'h',
      source: 'https://github.com/acme/prism',
      created: '2026-12-03T06:00:00.000Z',
    });
    expect(labels).toMatchObject({
      'org.opencontainers.image.source': 'https://github.com/acme/prism',
      'org.opencontainers.image.created': '2026-12-03T06:00:00.000Z',
    });
  });
});

describe('platformBuildArgs', () => {
  const crossCompiling =
    'FROM --platform=$BUILDPLATFORM golang AS builder\nARG TARGETOS TARGETARCH\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/p .\n';

  it('passes the build host as BUILDPLATFORM to a multi-platform build of a Containerfile that uses it', () => {
    expect(platformBuildArgs(crossCompiling, ['linux/amd64', 'linux/arm64'], {}, 'linux/amd64')).toEqual({ BUILDPLATFORM: 'linux/amd64' });
    expect(platformBuildArgs(crossCompiling.replace('$BUILDPLATFORM', '${BUILDPLATFORM}'), ['linux/arm64'], {}, 'linux/arm64')).toEqual({
      BUILDPLATFORM: 'linux/arm64',
    });
  });

  it('passes nothing without platforms, without the variable, when the user set it, or when podman did not say', () => {
    expect(platformBuildArgs(crossCompiling, [], {}, 'linux/amd64')).toEqual({});
    expect(platformBuildArgs('FROM golang AS builder\n', ['linux/arm64'], {}, 'linux/amd64')).toEqual({});
    expect(platformBuildArgs(crossCompiling, ['linux/arm64'], { BUILDPLATFORM: 'linux/s390x' }, 'linux/amd64')).toEqual({});
    expect(platformBuildArgs(crossCompiling, ['linux/arm64'], {}, undefined)).toEqual({});
  });
});

describe('goEnvBuildArgs', () => {
  const containerfile = 'FROM golang AS builder\nARG TARGETOS TARGETARCH\narg GOPROXY GOPRIVATE=corp.example.com GOFLAGS\nRUN go build .\n';

  it('takes the Go module settings set in the environment that the Containerfile declares', () => {
    const env = { GOPROXY: 'https://user:token@proxy.corp/go', GOPRIVATE: 'corp.example.com/*', GOFLAGS: '', GONOSUMDB: 'x', HOME: '/root' };
    // GOFLAGS is empty (not passed), GONOSUMDB not declared.
    expect(goEnvBuildArgs(containerfile, env, {})).toEqual({ GOPROXY: 'https://user:token@proxy.corp/go', GOPRIVATE: 'corp.example.com/*' });
  });

  it('leaves out what the buildArgs option sets', () => {
    expect(goEnvBuildArgs(containerfile, { GOPROXY: 'https://proxy.corp' }, { GOPROXY: 'off' })).toEqual({});
  });

  it('is passed to podman by name only, so no value reaches a command line', () => {
    const args = buildPodmanBuildArgs({ ...base, envBuildArgs: ['GOPROXY', 'GOFLAGS'] }, v4);
    expect(args.join(' ')).toContain('--build-arg GOPROXY --build-arg GOFLAGS');
  });
});

describe('buildVolumes', () => {
  it('reads -v and --volume, split or inline, and nothing else', () => {
    expect(buildVolumes(['--squash', '-v', '/a:/a:ro', '--volume=/b:/b', '--volume', '/c:/c', '-v=/d:/d', '--network', 'host'])).toEqual([
      '/a:/a:ro',
      '/b:/b',
      '/c:/c',
      '/d:/d',
    ]);
    expect(buildVolumes(['-v'])).toEqual([]);
  });
});

describe('publicSourceUrl', () => {
  it.each([
    ['https://github.com/acme/prism.git', 'https://github.com/acme/prism'],
    ['https://ci-bot:ghp_secret@github.com/acme/prism.git', 'https://github.com/acme/prism'],
    ['https://gitlab.example.com:8443/team/prism?private_token=x', 'https://gitlab.example.com:8443/team/prism'],
    ['git@github.com:acme/prism.git', 'https://github.com/acme/prism'],
    ['ssh://git@gitlab.example.com:2222/team/prism.git', 'https://gitlab.example.com/team/prism'],
    ['/srv/git/prism.git', undefined],
    ['file:///srv/git/prism.git', undefined],
    ['', undefined],
  ])('%j → %j (never credentials)', (remote, expected) => {
    expect(publicSourceUrl(remote)).toBe(expected);
  });
});

describe('buildPodmanBuildArgs', () => {
  it('builds a single-platform build with tags and target, context last', () => {
    expect(buildPodmanBuildArgs(base, v4)).toEqual([
      'build',
      '--file',
      '/ws/plugins/postgres/Containerfile',
      '--target',
      'production',
      '--force-rm',
      '--tag',
      'prism/postgres-plugin:production',
      '--tag',
      'prism/postgres-plugin:latest',
      '/ws/plugins',
    ]);
  });

  it('passes build args, labels, pull policy, --no-cache, one platform and extra args before the context', () => {
    const args = buildPodmanBuildArgs(
      {
        ...base,
        tags: ['a/b:c'],
        buildArgs: { GO_VERSION: '1.19', EMPTY: '' },
        labels: { 'io.prism.nx-podman.input-hash': 'abc' },
        pull: 'never',
        noCache: true,
        platforms: ['linux/arm64'],
        extraArgs: ['--squash', '--build-context', 'x=y'],
      },
      v4,
    );
    expect(args).toEqual([
      'build',
      '--file',
      base.file,
      '--target',
      'production',
      '--force-rm',
      '--platform',
      'linux/arm64',
      '--tag',
      'a/b:c',
      '--build-arg',
      'GO_VERSION=1.19',
      '--build-arg',
      'EMPTY=',
      '--label',
      'io.prism.nx-podman.input-hash=abc',
      '--pull=never',
      '--no-cache',
      '--squash',
      '--build-context',
      'x=y',
      '/ws/plugins',
    ]);
  });

  it('builds several platforms into a manifest list instead of tagging', () => {
    const args = buildPodmanBuildArgs({ ...base, platforms: ['linux/amd64', 'linux/arm64'], manifest: 'localhost/m:1' }, v4);
    expect(args).toEqual([
      'build',
      '--file',
      base.file,
      '--target',
      'production',
      '--force-rm',
      '--platform',
      'linux/amd64,linux/arm64',
      '--manifest',
      'localhost/m:1',
      base.context,
    ]);
    expect(args).not.toContain('--tag');
  });

  it.each([
    ['always', ['--pull-always']],
    ['never', ['--pull-never']],
    ['missing', []],
  ] as const)('maps pull=%s to podman 3 flags', (pull, flags) => {
    const args = buildPodmanBuildArgs({ ...base, pull }, v3);
    expect(args.filter((arg) => arg.startsWith('--pull'))).toEqual(flags);
  });

  it('refuses what the installed podman cannot do instead of dropping it', () => {
    expect(() => buildPodmanBuildArgs({ ...base, pull: 'newer' }, v3)).toThrow(UnsupportedPodmanError);
    expect(() => buildPodmanBuildArgs({ ...base, pull: 'newer' }, v3)).toThrow('needs podman >= 4.0 (installed: 3.4.4)');
    expect(() => buildPodmanBuildArgs({ ...base, platforms: ['linux/amd64', 'linux/arm64'], manifest: 'm' }, v3)).toThrow(
      'Option "platforms" lists 2 platforms, which needs podman >= 4.0 (installed: 3.4.4)',
    );
  });
});

describe('buildPodmanPushArgs', () => {
  it('pushes every tag, or the image once to a destination', () => {
    expect(buildPodmanPushArgs({ tags: ['a:1', 'a:latest'], imageId: 'sha256:1', platforms: [] })).toEqual([
      ['push', 'a:1'],
      ['push', 'a:latest'],
    ]);
    expect(buildPodmanPushArgs({ tags: ['a:1'], imageId: 'sha256:1', platforms: [], destination: 'oci-archive:/tmp/a.tar' })).toEqual([
      ['push', 'sha256:1', 'oci-archive:/tmp/a.tar'],
    ]);
  });

  it('pushes a manifest list with all its images', () => {
    expect(buildPodmanPushArgs({ tags: ['r.io/a:1'], imageId: 'sha256:1', platforms: ['linux/amd64', 'linux/arm64'] })).toEqual([
      ['manifest', 'push', '--all', 'r.io/a:1', 'docker://r.io/a:1'],
    ]);
  });
});

describe('maskBuildArgValues', () => {
  it('hides build arg values only', () => {
    expect(maskBuildArgValues(['build', '--build-arg', 'TOKEN=s3cret', '--label', 'a=b'])).toEqual(['build', '--build-arg', 'TOKEN=***', '--label', 'a=b']);
  });
});
