import { parseContainerfile } from './containerfile';
import { computeInputHash, createSourceMatcher, normalizeContextPath, parseIgnoreFile, selectContextSources, type InputHashInput } from './input-hash';

const multiStage = `
FROM localhost/prism/go-builder:1.19 AS builder
WORKDIR /src
COPY core/go.mod core/ core/
COPY ./postgres/go.mod ./postgres/go.sum postgres/
COPY postgres/ postgres/
RUN go build -o /out/plugin ./postgres
FROM scratch AS production
COPY --from=builder /out/plugin /plugin
COPY config/production.yaml /etc/plugin.yaml
FROM localhost/prism/busybox:latest AS debug
COPY --from=builder /out/plugin /plugin
COPY config/debug.yaml /etc/plugin.yaml
`;

describe('selectContextSources', () => {
  const parsed = parseContainerfile(multiStage);

  it('keeps the sources of the target stage and the stages before it', () => {
    expect(selectContextSources(parsed, 'production')).toEqual({
      wholeContext: false,
      sources: ['config/production.yaml', 'core', 'core/go.mod', 'postgres', 'postgres/go.mod', 'postgres/go.sum'],
    });
    expect(selectContextSources(parsed, 'debug')?.sources).toContain('config/debug.yaml');
    expect(selectContextSources(parsed, 'builder')?.sources).not.toContain('config/production.yaml');
  });

  it('is the whole context for `.` or a variable source', () => {
    expect(selectContextSources(parseContainerfile('FROM scratch AS production\nCOPY . /app\n'), 'production')?.wholeContext).toBe(true);
    expect(selectContextSources(parseContainerfile('FROM scratch AS production\nCOPY ./ /app\n'), 'production')?.wholeContext).toBe(true);
    expect(selectContextSources(parseContainerfile('FROM scratch AS production\nARG DIR\nCOPY ${DIR} /app\n'), 'production')?.wholeContext).toBe(true);
  });

  it('is undefined for an unknown stage', () => {
    expect(selectContextSources(parsed, 'staging')).toBeUndefined();
  });
});

describe('normalizeContextPath', () => {
  it.each([
    ['./a/b/', 'a/b'],
    ['/a//b', 'a/b'],
    ['.', ''],
    ['./', ''],
    ['a/../b', 'b'],
  ])('%s -> %s', (input, expected) => expect(normalizeContextPath(input)).toBe(expected));
});

describe('createSourceMatcher', () => {
  const matcher = createSourceMatcher({ wholeContext: false, sources: ['go.mod', 'cmd', 'internal/*.go', 'config/**/*.yaml', 'data/[ab].txt'] });

  it.each([
    ['go.mod', true],
    ['go.sum', false],
    ['cmd/main.go', true],
    ['cmd/sub/x.go', true],
    ['internal/a.go', true],
    ['internal/a_test.go', true],
    ['internal/sub/a.go', false],
    ['config/x.yaml', true],
    ['config/a/b/x.yaml', true],
    ['config/x.json', false],
    ['data/a.txt', true],
    ['data/c.txt', false],
    ['README.md', false],
  ])('selects %s: %s', (path, expected) => expect(matcher.selects(path)).toBe(expected));

  it.each([
    ['cmd', true],
    ['cmd/deep/er', true],
    ['internal', true],
    ['internal/sub', false],
    ['config/a/b', true],
    ['docs', false],
  ])('may contain selected files in %s: %s', (dir, expected) => expect(matcher.mayContain(dir)).toBe(expected));
});

describe('parseIgnoreFile', () => {
  const ignore = parseIgnoreFile(`
# comment
node_modules
*.md
!README.md
**/*_test.go
/tmp/
build/**
!build/keep.txt
`);

  it.each([
    ['node_modules/x/index.js', true],
    ['node_modules', true],
    ['NOTES.md', true],
    ['docs/NOTES.md', false], // like podman: `*.md` is anchored at the context root
    ['README.md', false],
    ['pkg/a_test.go', true],
    ['a_test.go', true],
    ['pkg/a.go', false],
    ['tmp/x', true],
    ['build/out.bin', true],
    ['build/keep.txt', false],
  ])('ignores %s: %s', (path, expected) => expect(ignore.ignores(path)).toBe(expected));

  it('never skips a whole directory when an exception could bring a file back', () => {
    expect(ignore.ignoresWholeDirectory('build')).toBe(false);
    const simple = parseIgnoreFile('node_modules\n');
    expect(simple.ignoresWholeDirectory('node_modules')).toBe(true);
    expect(simple.ignoresWholeDirectory('src')).toBe(false);
  });

  it('ignores nothing when empty', () => {
    expect(parseIgnoreFile('').ignores('anything')).toBe(false);
  });
});

describe('computeInputHash', () => {
  const input: InputHashInput = {
    containerfile: 'FROM scratch AS production\nCOPY a /a\n',
    stage: 'production',
    buildArgs: { A: '1', B: '2' },
    labels: {},
    platforms: [],
    extraArgs: [],
    files: [
      { path: 'a', digest: 'da', executable: false },
      { path: 'b', digest: 'db', executable: false },
    ],
  };
  const hash = computeInputHash(input);

  it('does not depend on the order of files or map keys', () => {
    expect(computeInputHash({ ...input, buildArgs: { B: '2', A: '1' }, files: [...input.files].reverse() })).toBe(hash);
  });

  it.each<[string, Partial<InputHashInput>]>([
    ['Containerfile', { containerfile: input.containerfile + 'RUN true\n' }],
    ['stage', { stage: 'debug' }],
    ['build arg', { buildArgs: { A: '1', B: '3' } }],
    ['label', { labels: { x: 'y' } }],
    ['platform', { platforms: ['linux/arm64'] }],
    ['extra args', { extraArgs: ['--squash'] }],
    ['file content', { files: [{ path: 'a', digest: 'changed', executable: false }, input.files[1]] }],
    ['executable bit', { files: [{ path: 'a', digest: 'da', executable: true }, input.files[1]] }],
    ['deleted file', { files: [input.files[0]] }],
  ])('changes with the %s', (_what, change) => {
    expect(computeInputHash({ ...input, ...change })).not.toBe(hash);
  });
});
