import { spawnSync } from 'node:child_process';
import {
  buildBuilderRunArgs,
  buildCompileArgs,
  buildCompileInput,
  buildCompileServerArgs,
  COMPILE_SERVER_PROGRAM,
  compileRequestToken,
  parseCompileDone,
  builderKey,
  coversMounts,
  goCachePaths,
  mergeMounts,
  liveUpdateFallbackReason,
  parseCompileOutput,
  redirectBuildOutput,
  type LiveBuilderSpec,
} from './live-update-plan';
import type { LiveUpdateRecipe, RecipeInference } from './live-update-recipe';

const recipe: LiveUpdateRecipe = {
  builderStage: 'builder',
  builderImage: 'localhost/prism/go-builder:1.19',
  env: { CGO_ENABLED: '0', GOCACHE: '/tmp/gocache' },
  args: { VERSION: 'secret-ish' },
  user: undefined,
  workdir: '/src/plugins/postgres',
  mounts: [
    { source: 'core', target: '/src/core' },
    { source: 'plugins/postgres', target: '/src/plugins/postgres' },
  ],
  command: 'go build -trimpath -buildvcs=false -o /out/plugin .',
  cacheTargets: ['/tmp/gocache'],
  artifact: '/out/plugin',
  destination: '/plugin',
};
const ok: RecipeInference = { ok: true, recipe };
const decide = (files: string[], over: { fullReason?: string; recipe?: RecipeInference } = {}) =>
  liveUpdateFallbackReason({ files, fullReason: over.fullReason, recipe: over.recipe ?? ok, containerfile: 'plugins/postgres/Containerfile', context: '.' });

describe('liveUpdateFallbackReason', () => {
  it('takes the live path when every file is a Go source the builder mounts', () => {
    expect(decide(['plugins/postgres/main.go', 'core/health.go', 'plugins/postgres/main_test.go'])).toBeUndefined();
  });

  it.each([
    [['plugins/postgres/go.mod'], 'plugins/postgres/go.mod changed'],
    [['core/go.sum', 'core/x.go'], 'core/go.sum changed'],
    [['plugins/postgres/Containerfile'], 'plugins/postgres/Containerfile changed'],
    [['.containerignore'], '.containerignore changed'],
    [['plugins/postgres/config.yaml'], 'plugins/postgres/config.yaml changed (not a Go source)'],
    [['tools/gen.go'], "tools/gen.go is not in the builder's sources"],
    [[], 'no changed files known'],
  ])('falls back for %j: %s', (files, reason) => {
    expect(decide(files)).toBe(reason);
  });

  it('says why when there is no recipe, and passes a forced reason on', () => {
    expect(decide(['core/x.go'], { recipe: { ok: false, reason: 'builder stage "b": it starts FROM scratch' } })).toBe(
      'no live update recipe: builder stage "b": it starts FROM scratch',
    );
    expect(decide(['core/x.go'], { fullReason: 'initial build' })).toBe('initial build');
  });

  it('maps files through a context that is not the workspace root', () => {
    const reason = liveUpdateFallbackReason({
      files: ['plugins/core/a.go'],
      fullReason: undefined,
      recipe: { ok: true, recipe: { ...recipe, mounts: [{ source: 'core', target: '/src/core' }] } },
      containerfile: 'plugins/x/Containerfile',
      context: 'plugins',
    });
    expect(reason).toBeUndefined();
  });
});

describe('builder arguments', () => {
  const spec: LiveBuilderSpec = {
    name: 'nx-podman-builder-abc',
    imageId: 'sha256:1234',
    recipe,
    mounts: recipe.mounts,
    contextDir: '/ws',
    outDir: '/ws/.nx/podman/live/out/k',
    volumes: { buildCache: 'gocache', moduleCache: 'gomodcache' },
    cachePaths: goCachePaths({ GOCACHE: '/tmp/gocache', HOME: '/tmp' }),
    gitDirs: [],
    labels: { 'nx-podman.builder': '/ws' },
  };

  it('runs the builder image with the stage env (values outside the arguments), read-only sources and cache volumes', () => {
    const { args, env } = buildBuilderRunArgs(spec);
    expect(args).toEqual([
      'run',
      '-d',
      '--name',
      'nx-podman-builder-abc',
      '--pull=never',
      '--stop-timeout',
      '1',
      '-w',
      '/src/plugins/postgres',
      '--label',
      'nx-podman.builder=/ws',
      '--env',
      'CGO_ENABLED',
      '--env',
      'GOCACHE',
      '-v',
      '/ws/core:/src/core:ro',
      '-v',
      '/ws/plugins/postgres:/src/plugins/postgres:ro',
      '-v',
      'gocache:/tmp/gocache',
      '-v',
      'gomodcache:/tmp/go/pkg/mod',
      '-v',
      '/ws/.nx/podman/live/out/k:/nx-podman/out',
      '--entrypoint',
      '/bin/sh',
      'sha256:1234',
      '-c',
      expect.stringContaining('sleep'),
    ]);
    expect(env).toEqual({ CGO_ENABLED: '0', GOCACHE: '/tmp/gocache' });
  });

  it('mounts the volumes podman-build gives its build steps (a module proxy), and keys the builder on them', () => {
    const { args } = buildBuilderRunArgs({ ...spec, extraVolumes: ['/srv/goproxy:/srv/goproxy:ro'] });
    expect(args.slice(args.indexOf('gomodcache:/tmp/go/pkg/mod') + 1, args.indexOf('/ws/.nx/podman/live/out/k:/nx-podman/out'))).toEqual([
      '-v',
      '/srv/goproxy:/srv/goproxy:ro',
      '-v',
    ]);
    expect(builderKey(recipe, 'sha256:1', '/ws', ['/srv/goproxy:/srv/goproxy:ro'])).not.toBe(builderKey(recipe, 'sha256:1', '/ws'));
    expect(builderKey(recipe, 'sha256:1', '/ws', [])).toBe(builderKey(recipe, 'sha256:1', '/ws'));
  });

  it('a GOFLAGS build arg reaches the compile unless an ENV of the stage or image sets GOFLAGS (as in the build step)', () => {
    expect(buildCompileArgs({ ...spec, recipe: { ...recipe, args: { GOFLAGS: '-tags=corp' } } }, '/o', {}).env.GOFLAGS).toBe('-tags=corp -v');
    expect(buildCompileArgs({ ...spec, recipe: { ...recipe, args: { GOFLAGS: '-tags=corp' } } }, '/o', { GOFLAGS: '-mod=mod' }).env.GOFLAGS).toBe(
      '-mod=mod -v',
    );
  });

  it('hides a .git directory under a mount (the image context has none)', () => {
    const { args } = buildBuilderRunArgs({ ...spec, mounts: [{ source: '.', target: '/app' }], gitDirs: ['.'] });
    expect(args).toContain('type=tmpfs,destination=/app/.git');
  });

  it('compiles with the stage command, its ARGs in the environment, -v added to GOFLAGS, the output redirected', () => {
    const { args, env } = buildCompileArgs(spec, '/nx-podman/out/postgres-1/plugin', { GOFLAGS: '-mod=mod' });
    expect(args).toEqual([
      'exec',
      '-w',
      '/src/plugins/postgres',
      '--env',
      'VERSION',
      '--env',
      'GOFLAGS',
      'nx-podman-builder-abc',
      '/bin/sh',
      '-c',
      'go build -trimpath -buildvcs=false -o /nx-podman/out/postgres-1/plugin .',
    ]);
    expect(env).toEqual({ VERSION: 'secret-ish', GOFLAGS: '-mod=mod -v' });
  });

  it('a compile server reads each request: token, WORKDIR, the environment, the command, token; a value it cannot carry takes the plain exec', () => {
    expect(buildCompileServerArgs('nx-podman-builder-abc')).toEqual(['exec', '-i', 'nx-podman-builder-abc', '/bin/sh', '-c', COMPILE_SERVER_PROGRAM]);
    const input = buildCompileInput(recipe, '/nx-podman/out/postgres-1/plugin', { GOFLAGS: '-mod=mod' }, 'tok-1')!;
    expect(input).toBe(
      'tok-1\n/src/plugins/postgres\nVERSION=secret-ish\nGOFLAGS=-mod=mod -v\n\ngo build -trimpath -buildvcs=false -o /nx-podman/out/postgres-1/plugin .\ntok-1\n',
    );
    expect(compileRequestToken(input)).toBe('tok-1');
    expect(buildCompileInput({ ...recipe, args: { NOTE: 'two\nlines' } }, '/o', {}, 't')).toBeUndefined();
    expect(buildCompileInput({ ...recipe, args: { 'NOT-A-NAME': 'x' } }, '/o', {}, 't')).toBeUndefined();
    expect(buildCompileInput({ ...recipe, command: 'echo a\nt\necho b' }, '/o', {}, 't')).toBeUndefined();
  });

  it('finds the done line of a compile in the output, wherever the chunks split it', () => {
    expect(parseCompileDone('prism/core\nprism/postgres\n', 't1')).toBeUndefined();
    expect(parseCompileDone('prism/core\nt1 0', 't1')).toBeUndefined();
    expect(parseCompileDone('prism/core\nt1 0\n', 't1')).toEqual({ exitCode: 0, output: 'prism/core\n' });
    expect(parseCompileDone('t1 2\n', 't1')).toEqual({ exitCode: 2, output: '' });
    expect(parseCompileDone('# x\n./a.go:1: t1 2\nt1 1\n', 't1')).toEqual({ exitCode: 1, output: '# x\n./a.go:1: t1 2\n' });
  });

  it('the compile server runs requests one after another as sh -c would, values taken as they are, nothing kept between them (real sh)', () => {
    const request = (token: string, patch: Partial<LiveUpdateRecipe>) => buildCompileInput({ ...recipe, ...patch }, '/o', {}, token)!;
    const input = [
      request('t1', { workdir: '/', args: { A: `$HOME \`id\` 'q' "d"` }, command: 'echo "[$A] [$GOFLAGS] $(pwd)" && \\\n  echo "to stderr" >&2 && exit 3' }),
      // A directory that is not there fails that request only; the next one is read and runs.
      request('t2', { workdir: '/no/such/dir', args: {}, command: 'echo never' }),
      request('t3', { workdir: '/tmp', args: {}, command: 'echo "[${A-unset}] $(pwd)"; if read x; then echo "stdin: $x"; else echo "stdin: closed"; fi' }),
    ].join('');
    const result = spawnSync('/bin/sh', ['-c', COMPILE_SERVER_PROGRAM], { input, encoding: 'utf8' });
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`[$HOME \`id\` 'q' "d"] [-v] /`);
    expect(lines.slice(1, 3)).toEqual(['to stderr', 't1 3']);
    expect(lines.at(lines.indexOf('t3 0') - 2)).toBe('[unset] /tmp');
    expect(lines.at(lines.indexOf('t3 0') - 1)).toBe('stdin: closed');
    expect(lines).toContain('t2 125');
    expect(result.stdout).not.toContain('never');
    expect(result.status).toBe(0);
  });

  it('the compile server stops at a request cut short (its stdin ended mid-request) without running it (real sh)', () => {
    const cut = buildCompileInput({ ...recipe, workdir: '/', args: {}, command: 'echo ran' }, '/o', {}, 't1')!.replace(/t1\n$/, '');
    const result = spawnSync('/bin/sh', ['-c', COMPILE_SERVER_PROGRAM], { input: cut, encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(125);
  });

  it('keys builders by image, context, env and user, not by command or mounts (plugins share one)', () => {
    const kafka = {
      ...recipe,
      command: 'go build -o /out/plugin .',
      mounts: [
        { source: 'core', target: '/src/core' },
        { source: 'plugins/kafka', target: '/src/plugins/kafka' },
      ],
    };
    expect(builderKey(recipe, 'sha256:1', '/ws')).toBe(builderKey(kafka, 'sha256:1', '/ws'));
    expect(builderKey(recipe, 'sha256:1', '/ws')).not.toBe(builderKey(recipe, 'sha256:2', '/ws'));
    expect(builderKey(recipe, 'sha256:1', '/ws')).not.toBe(builderKey({ ...recipe, env: { CGO_ENABLED: '1' } }, 'sha256:1', '/ws'));
    const merged = mergeMounts(recipe.mounts, kafka.mounts)!;
    expect(merged.map((m) => m.target)).toEqual(['/src/core', '/src/plugins/kafka', '/src/plugins/postgres']);
    expect(coversMounts(merged, recipe.mounts) && coversMounts(merged, kafka.mounts)).toBe(true);
    expect(mergeMounts(recipe.mounts, [{ source: 'other', target: '/src/core' }])).toBeUndefined();
  });
});

describe('helpers', () => {
  it.each([
    ['go build -o /out/plugin .', 'go build -o /o/p .'],
    ['go build -o=bin/app ./cmd', 'go build -o=/o/p ./cmd'],
    ['make build OUT=/out/plugin', 'make build OUT=/o/p'],
  ])('redirectBuildOutput(%s)', (command, expected) => {
    expect(redirectBuildOutput(command, '/out/plugin', '/o/p')).toBe(expected);
  });

  it('goCachePaths follows GOCACHE, GOMODCACHE, GOPATH and HOME', () => {
    expect(goCachePaths({})).toEqual({ buildCache: '/root/.cache/go-build', moduleCache: '/root/go/pkg/mod' });
    expect(goCachePaths({ GOPATH: '/go' })).toEqual({ buildCache: '/root/.cache/go-build', moduleCache: '/go/pkg/mod' });
    expect(goCachePaths({ GOCACHE: '/c', GOMODCACHE: '/m' })).toEqual({ buildCache: '/c', moduleCache: '/m' });
  });

  it('parseCompileOutput splits the compiled packages from the compiler messages', () => {
    const parsed = parseCompileOutput(
      'example.com/core\nexample.com/plugins/postgres\n# example.com/plugins/postgres\n./main.go:3:1: syntax error: unexpected }\n',
    );
    expect(parsed).toEqual({
      packages: ['example.com/core', 'example.com/plugins/postgres'],
      messages: '# example.com/plugins/postgres\n./main.go:3:1: syntax error: unexpected }',
    });
  });
});
