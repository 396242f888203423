import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseContainerfile } from '../core/containerfile';
import { createTempDir } from '../testing/temp-dir';
import { createContextHasher } from './context-hasher';
import type { ContextHashRequest } from '../core/ports';

const CONTAINERFILE = `FROM localhost/prism/go-builder:1.19 AS builder
WORKDIR /src
COPY core/ core/
COPY postgres/go.mod postgres/*.go postgres/
RUN go build -o /out/plugin ./postgres
FROM scratch AS production
COPY --from=builder /out/plugin /plugin
COPY config/production.yaml /etc/plugin.yaml
FROM localhost/prism/busybox:latest AS debug
COPY --from=builder /out/plugin /plugin
COPY config/debug.yaml /etc/plugin.yaml
`;

describe('createContextHasher (real files)', () => {
  let dir: ReturnType<typeof createTempDir>;
  const hasher = createContextHasher();
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(dir.path, path)), { recursive: true });
    writeFileSync(join(dir.path, path), content);
  };
  const request = (overrides: Partial<ContextHashRequest> = {}): ContextHashRequest => {
    const containerfile = overrides.containerfile ?? CONTAINERFILE;
    return {
      context: dir.path,
      containerfile,
      parsed: parseContainerfile(containerfile),
      stage: 'production',
      buildArgs: {},
      labels: {},
      platforms: [],
      extraArgs: [],
      ...overrides,
    };
  };
  const hash = async (overrides: Partial<ContextHashRequest> = {}) => (await hasher.hash(request(overrides))).inputHash;

  beforeEach(() => {
    dir = createTempDir('nxp-build-hasher-');
    write('core/go.mod', 'module prism/core\n');
    write('core/log/log.go', 'package log\n');
    write('postgres/go.mod', 'module prism/postgres\n');
    write('postgres/main.go', 'package main\n');
    write('postgres/README.md', '# postgres\n');
    write('postgres/testdata/fixture.sql', 'select 1;\n');
    write('config/production.yaml', 'level: info\n');
    write('config/debug.yaml', 'level: debug\n');
    write('docs/guide.md', 'guide\n');
  });
  afterEach(() => dir.cleanup());

  it('hashes exactly the files the stage copies', async () => {
    const result = await hasher.hash(request());
    expect(result).toEqual({
      inputHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      files: ['config/production.yaml', 'core/go.mod', 'core/log/log.go', 'postgres/go.mod', 'postgres/main.go'],
      wholeContext: false,
    });
    expect((await hasher.hash(request({ stage: 'debug' }))).files).toContain('config/debug.yaml');
  });

  it('with cacheDigests (the watcher), gives the same hash as a fresh hasher after every change, same size and same second included', async () => {
    const cached = createContextHasher({ cacheDigests: true });
    const both = async () => [(await cached.hash(request())).inputHash, (await createContextHasher().hash(request())).inputHash];
    const [first, fresh] = await both();
    expect(first).toBe(fresh);
    // Same length, written right away: the stat key (size, mtime and ctime in ns, inode) still changes.
    write('postgres/main.go', 'package main\n'.replace('main', 'mein'));
    const [second, freshSecond] = await both();
    expect(second).toBe(freshSecond);
    expect(second).not.toBe(first);
    chmodSync(join(dir.path, 'postgres/main.go'), 0o755);
    const [third, freshThird] = await both();
    expect(third).toBe(freshThird);
    expect(third).not.toBe(second);
  });

  it('changes when a copied file changes, is added, is deleted or becomes executable', async () => {
    const before = await hash();
    write('postgres/main.go', 'package main\n\nfunc main() {}\n');
    const edited = await hash();
    expect(edited).not.toBe(before);
    write('core/log/level.go', 'package log\n');
    const added = await hash();
    expect(added).not.toBe(edited);
    rmSync(join(dir.path, 'core/log/level.go'));
    expect(await hash()).toBe(edited);
    chmodSync(join(dir.path, 'postgres/main.go'), 0o755);
    expect(await hash()).not.toBe(edited);
  });

  it('does not change for files no COPY of the stage reads', async () => {
    const before = await hash();
    write('docs/guide.md', 'changed\n');
    write('postgres/README.md', 'changed\n');
    write('postgres/testdata/fixture.sql', 'select 2;\n');
    write('config/debug.yaml', 'level: trace\n'); // only the debug stage copies it
    expect(await hash()).toBe(before);
  });

  it('changes with the Containerfile, stage, build args, labels and platforms', async () => {
    const before = await hash();
    expect(await hash({ containerfile: CONTAINERFILE + 'ENV X=1\n' })).not.toBe(before);
    expect(await hash({ stage: 'debug' })).not.toBe(before);
    expect(await hash({ buildArgs: { GOFLAGS: '-trimpath' } })).not.toBe(before);
    expect(await hash({ labels: { 'org.opencontainers.image.version': '1' } })).not.toBe(before);
    expect(await hash({ platforms: ['linux/arm64'] })).not.toBe(before);
  });

  it('hashes the whole context for COPY . and honours .containerignore', async () => {
    const copyAll = 'FROM scratch AS production\nCOPY . /app\n';
    write('node_modules/x/index.js', 'x\n');
    write('.containerignore', 'node_modules\n**/*.md\n!postgres/README.md\n');
    const result = await hasher.hash(request({ containerfile: copyAll }));
    expect(result.wholeContext).toBe(true);
    expect(result.files).toEqual([
      '.containerignore',
      'config/debug.yaml',
      'config/production.yaml',
      'core/go.mod',
      'core/log/log.go',
      'postgres/README.md',
      'postgres/go.mod',
      'postgres/main.go',
      'postgres/testdata/fixture.sql',
    ]);
    const before = result.inputHash;
    write('node_modules/x/index.js', 'y\n');
    write('docs/guide.md', 'ignored by **/*.md\n');
    expect(await hash({ containerfile: copyAll })).toBe(before);
    write('postgres/README.md', 'kept by the exception\n');
    expect(await hash({ containerfile: copyAll })).not.toBe(before);
  });

  it('falls back to .dockerignore and prefers .containerignore', async () => {
    const copyAll = 'FROM scratch AS production\nCOPY . /app\n';
    write('.dockerignore', 'docs\n');
    expect((await hasher.hash(request({ containerfile: copyAll }))).files).not.toContain('docs/guide.md');
    write('.containerignore', 'config\n');
    const files = (await hasher.hash(request({ containerfile: copyAll }))).files;
    expect(files).toContain('docs/guide.md');
    expect(files).not.toContain('config/debug.yaml');
  });

  it('never hashes excluded directories such as the workspace .nx folder', async () => {
    const copyAll = 'FROM scratch AS production\nCOPY . /app\n';
    write('.nx/podman/builds/postgres/production.json', '{}');
    const excludeDirectories = [join(dir.path, '.nx')];
    const before = await hash({ containerfile: copyAll, excludeDirectories });
    write('.nx/podman/builds/postgres/production.json', '{"changed":true}');
    expect(await hash({ containerfile: copyAll, excludeDirectories })).toBe(before);
  });

  it('hashes a symbolic link by its target without following it', async () => {
    const copyAll = 'FROM scratch AS production\nCOPY . /app\n';
    symlinkSync('production.yaml', join(dir.path, 'config/current.yaml'));
    const before = await hasher.hash(request({ containerfile: copyAll }));
    expect(before.files).toContain('config/current.yaml');
    rmSync(join(dir.path, 'config/current.yaml'));
    symlinkSync('debug.yaml', join(dir.path, 'config/current.yaml'));
    expect(await hash({ containerfile: copyAll })).not.toBe(before.inputHash);
  });

  it('reports an unreadable context', async () => {
    await expect(hasher.hash(request({ context: join(dir.path, 'missing') }))).rejects.toThrow(/^Cannot read the build context/);
  });
});
