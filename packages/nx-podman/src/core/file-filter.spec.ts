import {
  DEFAULT_EXCLUDE,
  DEFAULT_INCLUDE,
  createFileFilter,
  globsFromCopySources,
  globsFromTargetInputs,
  isAlwaysExcluded,
  isIgnoredBy,
  parseIgnoreFile,
} from './file-filter';

describe('isAlwaysExcluded', () => {
  it.each([
    ['plugins/postgres/.git/index', true],
    ['plugins/postgres/node_modules/x/index.js', true],
    ['plugins/postgres/dist/app', true],
    ['plugins/postgres/vendor/github.com/x/y.go', true],
    ['.nx/cache/x', true],
    ['plugins/postgres/.main.go.swp', true],
    ['plugins/postgres/main.go~', true],
    ['plugins/postgres/4913', true],
    ['plugins/postgres/.#main.go', true],
    ['plugins/postgres/main.go___jb_tmp___', true],
    ['plugins/postgres/main.go-go-tmp-umask', true],
    ['plugins/postgres/main.go', false],
    ['plugins/postgres/distribution/x.go', false],
    ['plugins/postgres/49130', false],
  ])('%s → %s', (path, expected) => {
    expect(isAlwaysExcluded(path)).toBe(expected);
  });
});

describe('createFileFilter with the defaults', () => {
  const filter = createFileFilter({ projectRoot: 'plugins/postgres', include: DEFAULT_INCLUDE, exclude: DEFAULT_EXCLUDE });
  it.each([
    ['plugins/postgres/main.go', true],
    ['plugins/postgres/internal/db/db.go', true],
    ['plugins/postgres/go.mod', true],
    ['plugins/postgres/go.sum', true],
    ['plugins/postgres/Containerfile', true],
    ['plugins/postgres/Dockerfile', true],
    ['plugins/postgres/debug.Containerfile', true],
    ['plugins/postgres/.containerignore', true],
    ['plugins/postgres/.dockerignore', true],
    ['plugins/postgres/main_test.go', false],
    ['plugins/postgres/testdata/x.go', false],
    ['plugins/postgres/README.md', false],
    ['plugins/postgres/foo.mod', false],
    ['plugins/postgres/.main.go.swp', false],
    ['plugins/postgres/vendor/x.go', false],
    ['plugins/other/main.go', false],
  ])('%s → %s', (path, expected) => {
    expect(filter(path)).toBe(expected);
  });
});

describe('.containerignore', () => {
  const rules = parseIgnoreFile('# comment\n\n**/*.md\nsecrets/\n!secrets/keep.txt\n/tmp\n');
  it('parses patterns, negations and comments', () => {
    expect(rules).toEqual([
      { pattern: '**/*.md', negated: false },
      { pattern: 'secrets', negated: false },
      { pattern: 'secrets/keep.txt', negated: true },
      { pattern: 'tmp', negated: false },
    ]);
  });
  it.each([
    ['README.md', true],
    ['docs/x.md', true],
    ['secrets/key.pem', true],
    ['secrets/keep.txt', false],
    ['tmp/a/b.go', true],
    ['main.go', false],
  ])('%s ignored → %s', (path, expected) => {
    expect(isIgnoredBy(rules, path)).toBe(expected);
  });
  it('rules are relative to the build context, which may be above the project root', () => {
    const filter = createFileFilter({
      projectRoot: 'plugins/postgres',
      include: ['**/*'],
      exclude: [],
      ignore: { context: 'plugins', rules: parseIgnoreFile('postgres/local\n') },
    });
    expect(filter('plugins/postgres/local/x.go')).toBe(false);
    expect(filter('plugins/postgres/main.go')).toBe(true);
  });
});

describe('globsFromTargetInputs', () => {
  const namedInputs = {
    default: ['{projectRoot}/**/*', 'sharedGlobals'],
    sharedGlobals: ['{workspaceRoot}/go.work'],
    production: ['default', '!{projectRoot}/**/*_test.go', '!{projectRoot}/**/*.md'],
  };
  it('expands named inputs and negations into project-relative globs', () => {
    expect(globsFromTargetInputs(['production', '^production'], { projectRoot: 'plugins/postgres', namedInputs })).toEqual({
      include: ['**/*'],
      exclude: ['**/*_test.go', '**/*.md'],
    });
  });
  it('accepts fileset objects and workspace-root paths inside the project', () => {
    expect(
      globsFromTargetInputs([{ fileset: '{projectRoot}/**/*.go' }, '{workspaceRoot}/plugins/postgres/config/*.yaml', { env: 'X' }], {
        projectRoot: 'plugins/postgres',
        namedInputs,
      }),
    ).toEqual({ include: ['**/*.go', 'config/*.yaml'], exclude: [] });
  });
  it('is undefined without file sets, so the defaults apply', () => {
    expect(globsFromTargetInputs(undefined, { projectRoot: 'p', namedInputs })).toBeUndefined();
    expect(globsFromTargetInputs(['^production', { runtime: 'go version' }], { projectRoot: 'p', namedInputs })).toBeUndefined();
  });
  it('survives named inputs that refer to each other', () => {
    expect(globsFromTargetInputs(['a'], { projectRoot: 'p', namedInputs: { a: ['b', '{projectRoot}/x'], b: ['a'] } })).toEqual({ include: ['x'], exclude: [] });
  });
});

describe('globsFromCopySources', () => {
  it('adds files and directories copied from inside the project; a copy of the whole project adds everything; other projects add nothing', () => {
    expect(
      globsFromCopySources(['core/', 'postgres/config.yaml', 'postgres/templates', './postgres/static/'], {
        buildContext: 'plugins',
        projectRoot: 'plugins/postgres',
      }),
    ).toEqual(['config.yaml', 'config.yaml/**', 'templates', 'templates/**', 'static/**']);
    expect(globsFromCopySources(['postgres/', 'postgres/config.yaml'], { buildContext: 'plugins', projectRoot: 'plugins/postgres' })).toEqual([
      '**',
      'config.yaml',
      'config.yaml/**',
    ]);
    expect(globsFromCopySources(['.', 'app.yaml'], { buildContext: 'plugins/redis', projectRoot: 'plugins/redis' })).toEqual(['**', 'app.yaml', 'app.yaml/**']);
  });
});
