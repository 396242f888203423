import { spawnSync } from 'node:child_process';
import {
  buildBuilderRunArgs,
  buildCompileArgs,
  buildCompileInput,
  buildCompileProcessArgs,
  COMPILE_PROCESS_PROGRAM,
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
    expect(decide(['core/x.go'], { recipe: { ok: false, reason: 'builder stage "b": it starts FROM scratch' } })).toBe('no live update recipe: builder stage "b": it starts FROM scratch');
    expect(decide(['core/x.go'], { fullReason: 'initial build' })).toBe('initial build');
  });

  it('maps files through a context that is not the workspace root', () => {
    const reason = liveUpdateFallbackReason({ files: ['plugins/core/a.go'], fullReason: undefined, recipe: { ok: true, recipe: { ...recipe, mounts: [{ source: 'core', target: '/src/core' }] } }, containerfile: 'plugins/x/Containerfile', context: 'plugins' });
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
      'run', '-d', '--name', 'nx-podman-builder-abc', '--pull=never', '--stop-timeout', '1', '-w', '/src/plugins/postgres',
      '--label', 'nx-podman.builder=/ws',
      '--env', 'CGO_ENABLED', '--env', 'GOCACHE',
      '-v', '/ws/core:/src/core:ro', '-v', '/ws/plugins/postgres:/src/plugins/postgres:ro',
      '-v', 'gocache:/tmp/gocache', '-v', 'gomodcache:/tmp/go/pkg/mod', '-v', '/ws/.nx/podman/live/out/k:/nx-podman/out',
      '--entrypoint', '/bin/sh', 'sha256:1234', '-c', expect.stringContaining('sleep'),
    ]);
    expect(env).toEqual({ CGO_ENABLED: '0', GOCACHE: '/tmp/gocache' });
  });

  it('hides a .git directory under a mount (the image context has none)', () => {
    const { args } = buildBuilderRunArgs({ ...spec, mounts: [{ source: '.', target: '/app' }], gitDirs: ['.'] });
    expect(args).toContain('type=tmpfs,destination=/app/.git');
  });

  it('compiles with the stage command, its ARGs in the environment, -v added to GOFLAGS, the output redirected', () => {
    const { args, env } = buildCompileArgs(spec, '/nx-podman/out/postgres-1/plugin', { GOFLAGS: '-mod=mod' });
    expect(args).toEqual(['exec', '-w', '/src/plugins/postgres', '--env', 'VERSION', '--env', 'GOFLAGS', 'nx-podman-builder-abc', '/bin/sh', '-c', 'go build -trimpath -buildvcs=false -o /nx-podman/out/postgres-1/plugin .']);
    expect(env).toEqual({ VERSION: 'secret-ish', GOFLAGS: '-mod=mod -v' });
  });

  it('a compile process started ahead reads WORKDIR, the environment and the command on stdin; a line break in a value takes the plain exec', () => {
    expect(buildCompileProcessArgs('nx-podman-builder-abc')).toEqual(['exec', '-i', 'nx-podman-builder-abc', '/bin/sh', '-c', COMPILE_PROCESS_PROGRAM]);
    expect(buildCompileInput(recipe, '/nx-podman/out/postgres-1/plugin', { GOFLAGS: '-mod=mod' })).toBe(
      '/src/plugins/postgres\nVERSION=secret-ish\nGOFLAGS=-mod=mod -v\n\ngo build -trimpath -buildvcs=false -o /nx-podman/out/postgres-1/plugin .\n',
    );
    expect(buildCompileInput({ ...recipe, args: { NOTE: 'two\nlines' } }, '/o', {})).toBeUndefined();
  });

  it('the compile process program runs the command as sh -c would, with values taken as they are (real sh)', () => {
    const input = buildCompileInput({ ...recipe, workdir: '/', args: { A: `$HOME \`id\` 'q' "d"` }, command: 'echo "[$A] [$GOFLAGS] $(pwd)" && \\\n  exit 3' }, '/o', {})!;
    const result = spawnSync('/bin/sh', ['-c', COMPILE_PROCESS_PROGRAM], { input, encoding: 'utf8' });
    expect(result.stdout).toBe(`[$HOME \`id\` 'q' "d"] [-v] /\n`);
    expect(result.status).toBe(3);
  });

  it('keys builders by image, context, env and user, not by command or mounts (plugins share one)', () => {
    const kafka = { ...recipe, command: 'go build -o /out/plugin .', mounts: [{ source: 'core', target: '/src/core' }, { source: 'plugins/kafka', target: '/src/plugins/kafka' }] };
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
    const parsed = parseCompileOutput('example.com/core\nexample.com/plugins/postgres\n# example.com/plugins/postgres\n./main.go:3:1: syntax error: unexpected }\n');
    expect(parsed).toEqual({ packages: ['example.com/core', 'example.com/plugins/postgres'], messages: '# example.com/plugins/postgres\n./main.go:3:1: syntax error: unexpected }' });
  });
});
