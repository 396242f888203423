import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CreateDependenciesContext, FileData, ProjectConfiguration } from '@nx/devkit';
import { createTempDir } from '../testing/temp-dir';
import { createDependencies } from './create-dependencies';
import { readGoProjectFacts } from './create-nodes';

const goMod = (module: string, extra = '') => `module ${module}\n\ngo 1.19\n${extra}`;
const usesCore = 'require prism/core v0.0.0\n\nreplace prism/core => ../core\n';

/** A small Go plugin workspace: core, three plugins importing it in different ways, and echo which does not. */
const FILES: Record<string, string> = {
  'plugins/core/go.mod': goMod('prism/core'),
  'plugins/core/core.go': 'package core\n\nfunc Version() string { return "1" }\n',
  'plugins/core/health/health.go': 'package health\n',
  'plugins/postgres/go.mod': goMod('prism/postgres', usesCore),
  'plugins/postgres/main.go': 'package main\n\nimport (\n\t"fmt"\n\n\t"prism/core"\n)\n\nfunc main() { fmt.Println(core.Version()) }\n',
  'plugins/kafka/go.mod': goMod('prism/kafka', usesCore),
  'plugins/kafka/main.go': '//go:build linux\n\npackage main\n\nimport c "prism/core/health"\n\nvar _ = c.X\n',
  'plugins/redis/go.mod': goMod('prism/redis', usesCore),
  'plugins/redis/main.go': 'package main\n\nimport _ "prism/core"\n',
  'plugins/echo/go.mod': goMod('prism/echo'),
  'plugins/echo/main.go': 'package main\n\n// import "prism/core"\nimport "fmt"\n\nconst s = `import "prism/core"`\n\nfunc main() { fmt.Println(s) }\n',
  'plugins/echo/main_test.go': 'package main\n\nimport "prism/core"\n',
  'plugins/echo/testdata/fixture.go': 'package fixture\n\nimport "prism/core"\n',
};

const ROOTS: Record<string, string> = {
  core: 'plugins/core',
  postgres: 'plugins/postgres',
  kafka: 'plugins/kafka',
  redis: 'plugins/redis',
  echo: 'plugins/echo',
};

describe('createDependencies (real files in a temp workspace)', () => {
  let workspace: ReturnType<typeof createTempDir>;
  const write = (files: Record<string, string>) => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(workspace.path, path)), { recursive: true });
      writeFileSync(join(workspace.path, path), content);
    }
  };
  const fileMapOf = (files: string[]) => {
    const projectFileMap: Record<string, FileData[]> = Object.fromEntries(Object.keys(ROOTS).map((name) => [name, []]));
    for (const file of files) {
      const owner = Object.entries(ROOTS).find(([, root]) => file.startsWith(`${root}/`))?.[0];
      if (owner) projectFileMap[owner].push({ file, hash: 'h' });
    }
    return { projectFileMap, nonProjectFiles: [] };
  };
  const contextFor = (filesToProcess: string[], extraFiles: string[]): CreateDependenciesContext => ({
    externalNodes: {},
    projects: Object.fromEntries(Object.entries(ROOTS).map(([name, root]): [string, ProjectConfiguration] => [name, { name, root }])),
    nxJsonConfiguration: {},
    fileMap: fileMapOf([...Object.keys(FILES), ...extraFiles]),
    filesToProcess: fileMapOf(filesToProcess),
    workspaceRoot: workspace.path,
  });
  const edges = async (filesToProcess: string[], options = {}, extraFiles: string[] = []) =>
    (await createDependencies(options, contextFor(filesToProcess, extraFiles)))
      .map((d) => `${d.source} -> ${d.target} (${'sourceFile' in d ? d.sourceFile : ''}, ${d.type})`)
      .sort();

  beforeEach(() => {
    workspace = createTempDir('nx-podman-graph-');
    write(FILES);
  });
  afterEach(() => workspace.cleanup());

  it('finds go.mod and import edges for every file, and none for echo', async () => {
    expect(await edges(Object.keys(FILES))).toEqual([
      'kafka -> core (plugins/kafka/go.mod, static)',
      'kafka -> core (plugins/kafka/main.go, static)',
      'postgres -> core (plugins/postgres/go.mod, static)',
      'postgres -> core (plugins/postgres/main.go, static)',
      'redis -> core (plugins/redis/go.mod, static)',
      'redis -> core (plugins/redis/main.go, static)',
    ]);
  });

  it('ignores third-party modules (no project, no edge) and still links the replaced local module', async () => {
    write({
      'plugins/postgres/go.mod': goMod(
        'prism/postgres',
        'require (\n\tgithub.com/google/uuid v1.3.0\n\tgithub.com/jackc/pgx/v5 v5.5.0 // indirect\n\tprism/core v0.0.0\n)\n\nreplace prism/core => ../core\n',
      ),
      'plugins/postgres/main.go':
        'package main\n\nimport (\n\t"github.com/google/uuid"\n\t"github.com/jackc/pgx/v5"\n\n\t"prism/core"\n)\n\nvar _, _ = uuid.New, pgx.Connect\n\nfunc main() { _ = core.Version() }\n',
    });
    expect(await edges(['plugins/postgres/go.mod', 'plugins/postgres/main.go'])).toEqual([
      'postgres -> core (plugins/postgres/go.mod, static)',
      'postgres -> core (plugins/postgres/main.go, static)',
    ]);
  });

  it('processes only filesToProcess', async () => {
    expect(await edges(['plugins/postgres/main.go', 'plugins/core/core.go'])).toEqual(['postgres -> core (plugins/postgres/main.go, static)']);
  });

  it('counts test imports only when includeTestImports is set', async () => {
    expect(await edges(['plugins/echo/main_test.go', 'plugins/echo/testdata/fixture.go'])).toEqual([]);
    expect(await edges(['plugins/echo/main_test.go', 'plugins/echo/testdata/fixture.go'], { includeTestImports: true })).toEqual([
      'echo -> core (plugins/echo/main_test.go, static)',
    ]);
  });

  it('reads go.work use directives inside a project', async () => {
    write({ 'plugins/echo/go.work': 'go 1.19\n\nuse (\n\t.\n\t../core\n)\n' });
    expect(await edges(['plugins/echo/go.work'], {}, ['plugins/echo/go.work'])).toEqual(['echo -> core (plugins/echo/go.work, static)']);
  });

  it('skips a malformed go.mod (createNodes reports it) and still maps imports to the other modules', async () => {
    write({ 'plugins/redis/go.mod': 'module prism/redis\nreplace prism/core ../core\n' });
    expect(await edges(['plugins/redis/go.mod', 'plugins/postgres/main.go'])).toEqual(['postgres -> core (plugins/postgres/main.go, static)']);
  });
});

describe('readGoProjectFacts', () => {
  let workspace: ReturnType<typeof createTempDir>;
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(workspace.path, path)), { recursive: true });
    writeFileSync(join(workspace.path, path), content);
  };
  beforeEach(() => (workspace = createTempDir('nx-podman-facts-')));
  afterEach(() => workspace.cleanup());

  it('names the project after its folder and finds the Containerfile', () => {
    write('plugins/postgres/go.mod', goMod('prism/postgres', usesCore));
    write('plugins/postgres/Containerfile', 'FROM scratch AS production\nCOPY postgres/ /src/\n');
    const facts = readGoProjectFacts('plugins/postgres/go.mod', workspace.path)!;
    expect(facts).toMatchObject({ root: 'plugins/postgres', name: 'postgres', goMod: { module: 'prism/postgres' } });
    expect(facts.containerfile?.fileName).toBe('Containerfile');
    expect(facts.containerfile?.parsed.copies[0].sources).toEqual(['postgres/']);
  });

  it('prefers project.json name, and falls back to a Dockerfile', () => {
    write('plugins/pg/go.mod', goMod('prism/pg'));
    write('plugins/pg/project.json', JSON.stringify({ name: 'postgres-plugin' }));
    write('plugins/pg/Dockerfile', 'FROM scratch\n');
    const facts = readGoProjectFacts('plugins/pg/go.mod', workspace.path)!;
    expect(facts.name).toBe('postgres-plugin');
    expect(facts.containerfile?.fileName).toBe('Dockerfile');
  });

  it('a root go.mod is a project only with a project.json', () => {
    write('go.mod', goMod('prism/tools'));
    expect(readGoProjectFacts('go.mod', workspace.path)).toBeUndefined();
    write('project.json', JSON.stringify({ name: 'tools' }));
    expect(readGoProjectFacts('go.mod', workspace.path)).toMatchObject({ root: '.', name: 'tools' });
  });

  it('ignores go.mod files under testdata and vendor', () => {
    write('plugins/x/testdata/mod/go.mod', goMod('fixture'));
    write('plugins/x/vendor/example.com/y/go.mod', goMod('example.com/y'));
    expect(readGoProjectFacts('plugins/x/testdata/mod/go.mod', workspace.path)).toBeUndefined();
    expect(readGoProjectFacts('plugins/x/vendor/example.com/y/go.mod', workspace.path)).toBeUndefined();
  });

  it('a malformed go.mod throws with file and line', () => {
    write('plugins/bad/go.mod', 'module prism/bad\n\nrequire prism/core\n');
    expect(() => readGoProjectFacts('plugins/bad/go.mod', workspace.path)).toThrow('plugins/bad/go.mod:3: require: expected "module version"');
  });
});
