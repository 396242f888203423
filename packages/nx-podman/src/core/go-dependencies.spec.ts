import { createGoModuleIndex, goImportDependencies, goModDependencies, goWorkDependencies, isGoSourceFile, resolveGoDir } from './go-dependencies';
import { commonAncestorDir, findProjectForDir, type ProjectRoot } from './workspace-paths';
import { parseGoImports } from './go-imports';
import { parseGoMod, parseGoWork } from './go-module';

const projects: ProjectRoot[] = [
  { name: 'core', root: 'plugins/core' },
  { name: 'core-api', root: 'plugins/core/api' },
  { name: 'postgres', root: 'plugins/postgres' },
  { name: 'fork', root: 'third_party/fork' },
  { name: 'tools', root: 'tools' },
];

const index = createGoModuleIndex([
  { project: 'core', modulePath: 'prism/core' },
  { project: 'core-api', modulePath: 'prism/core/api' },
  { project: 'postgres', modulePath: 'prism/postgres' },
  { project: 'fork', modulePath: 'example.com/fork' },
]);

describe('createGoModuleIndex', () => {
  it.each([
    ['prism/core', 'core'],
    ['prism/core/health', 'core'],
    ['prism/core/api', 'core-api'],
    ['prism/core/api/v1', 'core-api'],
    ['prism/corex', undefined],
    ['prism', undefined],
    ['fmt', undefined],
    ['net/http', undefined],
    ['example.com/fork/pkg', 'fork'],
  ])('package %s belongs to %s (longest module prefix)', (importPath, owner) => {
    expect(index.packageOwner(importPath)).toBe(owner);
  });

  it('matches module paths exactly for requires', () => {
    expect(index.moduleOwner('prism/core')).toBe('core');
    expect(index.moduleOwner('prism/core/health')).toBeUndefined();
  });
});

describe('directories', () => {
  it.each([
    ['plugins/core', 'core'],
    ['plugins/core/internal', 'core'],
    ['plugins/core/api/v1', 'core-api'],
    ['plugins', undefined],
    ['plugins/corex', undefined],
  ])('%s is owned by %s (deepest root)', (dir, owner) => {
    expect(findProjectForDir(dir, projects)).toBe(owner);
  });

  it('a root project owns what no other project does', () => {
    expect(findProjectForDir('docs', [...projects, { name: 'root', root: '.' }])).toBe('root');
    expect(findProjectForDir('plugins/core', [...projects, { name: 'root', root: '.' }])).toBe('core');
  });

  it.each([
    ['plugins/postgres', '../core', 'plugins/core'],
    ['plugins/postgres', './../core/', 'plugins/core'],
    ['plugins/postgres', './vendored', 'plugins/postgres/vendored'],
    ['.', './plugins/core', 'plugins/core'],
    ['plugins/postgres', '../../../outside', undefined],
    ['plugins/postgres', '/abs/path', undefined],
    ['plugins/postgres', '..\\core', 'plugins/core'],
  ])('from %s, %s resolves to %s', (fileDir, dir, expected) => {
    expect(resolveGoDir(fileDir, dir)).toBe(expected);
  });

  it.each([
    [['plugins/postgres'], 'plugins/postgres'],
    [['plugins/postgres', 'plugins/core'], 'plugins'],
    [['plugins/postgres', 'plugins/core', 'plugins/core/api'], 'plugins'],
    [['plugins/postgres', 'shared/core'], '.'],
    [['plugins/a/b', 'plugins/a'], 'plugins/a'],
    [['.', 'plugins/core'], '.'],
  ])('common ancestor of %j is %s', (dirs, expected) => {
    expect(commonAncestorDir(dirs)).toBe(expected);
  });

  it.each([
    ['main.go', false, true],
    ['cmd/server/main.go', false, true],
    ['main_test.go', false, false],
    ['main_test.go', true, true],
    ['vendor/x/y.go', false, false],
    ['internal/testdata/fixture.go', false, false],
    ['_old/main.go', false, false],
    ['.hidden/main.go', false, false],
    ['go.mod', false, false],
    ['main.go.orig', false, false],
  ])('%s is Go source (tests included: %s): %s', (path, includeTests, expected) => {
    expect(isGoSourceFile(path, includeTests)).toBe(expected);
  });
});

describe('goModDependencies', () => {
  const context = (sourceFile = 'plugins/postgres/go.mod') => ({ source: 'postgres', sourceFile, projects });

  it('follows a local replace of a required module', () => {
    const goMod = parseGoMod('module prism/postgres\nrequire prism/core v0.0.0\nreplace prism/core => ../core\n');
    expect(goModDependencies(goMod, index, context())).toEqual([{ source: 'postgres', target: 'core', sourceFile: 'plugins/postgres/go.mod' }]);
  });

  it('maps a require of a workspace module without replace (go.work resolves it)', () => {
    const goMod = parseGoMod('module prism/postgres\nrequire (\n  prism/core v0.0.0\n  prism/core/api v0.0.0\n  github.com/lib/pq v1.10.0\n)\n');
    expect(goModDependencies(goMod, index, context()).map((edge) => edge.target)).toEqual(['core', 'core-api']);
  });

  it('follows a module replacement to the replacing workspace module', () => {
    const goMod = parseGoMod('module prism/postgres\nrequire example.com/orig v1.0.0\nreplace example.com/orig => example.com/fork v1.0.0\n');
    expect(goModDependencies(goMod, index, context()).map((edge) => edge.target)).toEqual(['fork']);
  });

  it('a replace that points away from the workspace module removes the edge to it', () => {
    const goMod = parseGoMod('module prism/postgres\nrequire prism/core v0.0.0\nreplace prism/core => example.com/elsewhere v1.0.0\n');
    expect(goModDependencies(goMod, index, context())).toEqual([]);
  });

  it('prefers a version-specific replace over a wildcard one', () => {
    const goMod = parseGoMod('module prism/postgres\nrequire prism/core v0.0.0\nreplace prism/core => ../../tools\nreplace prism/core v0.0.0 => ../core\n');
    expect(
      goModDependencies(goMod, index, context())
        .map((edge) => edge.target)
        .sort(),
    ).toEqual(['core', 'tools']);
  });

  it('a local replace makes an edge even without a require, deduplicated, never to itself or outside projects', () => {
    const goMod = parseGoMod(
      'module prism/postgres\nrequire prism/core v0.0.0\nreplace (\n  prism/core => ../core\n  prism/x => ../core/\n  prism/self => ./internal/self\n  prism/gone => ../missing\n  prism/abs => /opt/x\n)\n',
    );
    expect(goModDependencies(goMod, index, context())).toEqual([{ source: 'postgres', target: 'core', sourceFile: 'plugins/postgres/go.mod' }]);
  });
});

describe('goImportDependencies', () => {
  it('maps every import form to the owning project, once per file', () => {
    const { imports } = parseGoImports(
      'package main\nimport (\n\tc "prism/core"\n\t. "prism/core/dsl"\n\t_ "prism/core/api/driver"\n\t"fmt"\n\t"prism/postgres/internal"\n)\nimport "prism/core/health"\n',
    );
    expect(goImportDependencies(imports, index, { source: 'postgres', sourceFile: 'plugins/postgres/main.go', projects })).toEqual([
      { source: 'postgres', target: 'core', sourceFile: 'plugins/postgres/main.go' },
      { source: 'postgres', target: 'core-api', sourceFile: 'plugins/postgres/main.go' },
    ]);
  });
});

describe('goWorkDependencies', () => {
  it('maps use and local replace directories of a project-owned go.work', () => {
    const goWork = parseGoWork('go 1.19\nuse (\n  .\n  ../core\n  ../../third_party/fork\n  ../../nowhere\n)\nreplace x => ../../tools\n');
    expect(goWorkDependencies(goWork, { source: 'postgres', sourceFile: 'plugins/postgres/go.work', projects }).map((edge) => edge.target)).toEqual([
      'core',
      'fork',
      'tools',
    ]);
  });
});
