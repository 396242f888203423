import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { BUSYBOX_IMAGE, GO_BUILDER_IMAGE, createE2eWorkspace, removePodmanObjects, type E2eWorkspace } from './utils/workspace';

/** A plugin's Containerfile: the context is `plugins` when it replaces ../core, else its own folder. */
function containerfile(name: string, usesCore: boolean): string {
  const copies = usesCore ? `COPY core/ core/\nCOPY ${name}/ ${name}/\nRUN cd ${name} && go build -o /out/plugin .` : 'COPY . .\nRUN go build -o /out/plugin .';
  return [
    `FROM ${GO_BUILDER_IMAGE} AS builder`,
    'WORKDIR /src',
    copies,
    'FROM scratch AS production',
    'COPY --from=builder /out/plugin /plugin',
    'ENTRYPOINT ["/plugin"]',
    `FROM ${BUSYBOX_IMAGE} AS debug`,
    'COPY --from=builder /out/plugin /plugin',
    'ENTRYPOINT ["/plugin"]',
    '',
  ].join('\n');
}

/** Writes a plugin folder: go.mod (requiring and replacing core when it uses it), main.go and a Containerfile. */
function writePlugin(workspace: E2eWorkspace, name: string, usesCore: boolean, importLine = '\t"prism/core"\n'): void {
  const requireCore = usesCore ? '\nrequire prism/core v0.0.0\n\nreplace prism/core => ../core\n' : '';
  workspace.write(`plugins/${name}/go.mod`, `module prism/${name}\n\ngo 1.19\n${requireCore}`);
  const body = usesCore
    ? `package main\n\nimport (\n\t"fmt"\n\n${importLine})\n\nfunc main() { fmt.Println(core.Greeting("${name}")) }\n`
    : `package main\n\n// import "prism/core" is only mentioned in a comment\nimport "fmt"\n\nfunc main() { fmt.Println("${name}") }\n`;
  workspace.write(`plugins/${name}/main.go`, body);
  workspace.write(`plugins/${name}/Containerfile`, containerfile(name, usesCore));
}

/** Image names unique to this file, so parallel e2e files never share a tag. */
const TEST_IMAGE_PREFIX = 'nxp-test-graph';
const testImages = ['core', 'postgres', 'kafka', 'redis', 'echo'].map((name) => `${TEST_IMAGE_PREFIX}/${name}:production`);

const imageExists = (ref: string) => {
  try {
    execFileSync('podman', ['image', 'exists', ref], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

interface GraphJson {
  graph: {
    nodes: Record<string, { data: { targets: Record<string, Record<string, unknown>> } }>;
    dependencies: Record<string, { source: string; target: string; type: string }[]>;
  };
}

describe('graph inference: Go plugins with Containerfiles', () => {
  let workspace: E2eWorkspace;

  const nx = (args: string[]) => {
    const result = workspace.nx(args);
    if (result.code !== 0) throw new Error(`nx ${args.join(' ')} exited ${result.code}:\n${result.output}`);
    return result.output;
  };
  const json = <T>(args: string[]): T => {
    const output = nx(args);
    // Nx may print notices before the JSON document.
    return JSON.parse(output.slice(output.search(/^[[{]/m))) as T;
  };
  const affected = (file: string) => json<string[]>(['show', 'projects', '--affected', `--files=${file}`, '--json']).sort();
  const readGraph = (): GraphJson['graph'] => {
    rmSync(join(workspace.root, 'graph.json'), { force: true });
    nx(['graph', '--file=graph.json']);
    return (JSON.parse(readFileSync(join(workspace.root, 'graph.json'), 'utf8')) as GraphJson).graph;
  };
  const edges = () =>
    Object.values(readGraph().dependencies)
      .flat()
      .map((d) => `${d.source}->${d.target}:${d.type}`)
      .sort();

  beforeAll(() => {
    workspace = createE2eWorkspace('graph');
    workspace.write('plugins/core/go.mod', 'module prism/core\n\ngo 1.19\n');
    workspace.write(
      'plugins/core/core.go',
      'package core\n\n// Greeting is shared by every plugin.\nfunc Greeting(name string) string { return "hello from " + name }\n',
    );
    workspace.write('plugins/postgres/main_test.go', 'package main\n\nimport "testing"\n\nfunc TestRun(t *testing.T) {}\n');
    workspace.write('plugins/core/core_test.go', 'package core\n\nimport "testing"\n\nfunc TestGreeting(t *testing.T) {}\n');
    writePlugin(workspace, 'postgres', true);
    writePlugin(workspace, 'kafka', true, '\tcore "prism/core"\n');
    writePlugin(workspace, 'redis', true);
    writePlugin(workspace, 'echo', false);
    // project.json targets merge over the inferred ones, as usual in Nx.
    workspace.write('plugins/redis/project.json', JSON.stringify({ targets: { 'podman-run': { options: { ports: ['18080:8080'] } } } }));
    // A Dockerfile outside any Go project creates nothing.
    workspace.write('docs/Dockerfile', 'FROM scratch\n');
    workspace.write('.gitignore', 'node_modules\n.nx\ngraph.json\n');
  });

  afterAll(() => {
    removePodmanObjects({ images: testImages });
    workspace?.cleanup();
  });

  it('infers one project per go.mod folder and nothing for a stray Dockerfile', () => {
    expect(json<string[]>(['show', 'projects', '--json']).sort()).toEqual(['core', 'echo', 'kafka', 'postgres', 'redis']);
  });

  it('nx show project postgres shows the inferred podman targets', () => {
    const project = json<{ root: string; targets: Record<string, Record<string, unknown>> }>(['show', 'project', 'postgres', '--json']);
    expect(project.root).toBe('plugins/postgres');
    const configurations = { production: { stage: 'production' }, debug: { stage: 'debug' } };
    const build = project.targets['podman-build'];
    expect(build).toMatchObject({
      executor: '@prism/nx-podman:podman-build',
      cache: false,
      options: { context: 'plugins', file: 'plugins/postgres/Containerfile' },
      configurations,
      defaultConfiguration: 'production',
      metadata: { technologies: ['podman', 'go'], help: { command: 'npx nx run postgres:podman-build --help' } },
    });
    // COPY core/ and COPY postgres/: the two directories, once each; nothing they cover listed again.
    expect(build.inputs).toEqual([
      '{workspaceRoot}/plugins/.containerignore',
      '{workspaceRoot}/plugins/.dockerignore',
      '{workspaceRoot}/plugins/core/**/*',
      '{projectRoot}/**/*',
      '!{projectRoot}/**/*_test.go',
      '!{workspaceRoot}/plugins/core/**/*_test.go',
      '^{projectRoot}/**/!(*_test).go',
      '^{projectRoot}/go.mod',
      '^{projectRoot}/go.sum',
    ]);
    expect(project.targets['podman-run']).toMatchObject({
      executor: '@prism/nx-podman:podman-run',
      cache: false,
      configurations,
      defaultConfiguration: 'production',
    });
    expect(project.targets['watch-reload']).toMatchObject({
      executor: '@prism/nx-podman:watch-reload',
      continuous: true,
      configurations,
      defaultConfiguration: 'production',
    });

    const { files } = json<{ files: string[] }>(['show', 'target', 'inputs', 'postgres:podman-build', '--json']);
    expect(files).toEqual(
      expect.arrayContaining([
        'plugins/core/core.go',
        'plugins/core/go.mod',
        'plugins/postgres/main.go',
        'plugins/postgres/go.mod',
        'plugins/postgres/Containerfile',
      ]),
    );
    expect(files.filter((file) => file.endsWith('_test.go') || /^plugins\/(echo|kafka|redis)\//.test(file))).toEqual([]);

    // The other projects from one graph file rather than one nx call each.
    const { nodes } = readGraph();
    expect(nodes.echo.data.targets['podman-build'].options).toEqual({ context: 'plugins/echo', file: 'plugins/echo/Containerfile' });
    expect(Object.keys(nodes.core.data.targets)).toEqual([]);
    expect(nodes.redis.data.targets['podman-run']).toMatchObject({ executor: '@prism/nx-podman:podman-run', options: { ports: ['18080:8080'] } });
  });

  it('nx graph has exactly the Go module edges', () => {
    expect(edges()).toEqual(['kafka->core:static', 'postgres->core:static', 'redis->core:static']);
  });

  it('a change to core affects its three dependents and not echo; a change to one plugin affects only it', () => {
    expect(affected('plugins/core/core.go')).toEqual(['core', 'kafka', 'postgres', 'redis']);
    expect(affected('plugins/redis/main.go')).toEqual(['redis']);
    expect(affected('plugins/echo/Containerfile')).toEqual(['echo']);
  });

  it('nx affected -t podman-build for a core change schedules the three dependent image builds only', () => {
    rmSync(join(workspace.root, 'tasks.json'), { force: true });
    nx(['affected', '-t', 'podman-build', '--files=plugins/core/core.go', '--graph=tasks.json']);
    const { tasks } = JSON.parse(readFileSync(join(workspace.root, 'tasks.json'), 'utf8')) as { tasks: { tasks: Record<string, unknown> } };
    expect(Object.keys(tasks.tasks).sort()).toEqual(['kafka:podman-build:production', 'postgres:podman-build:production', 'redis:podman-build:production']);
  });

  it('picks up a new plugin folder without configuration', () => {
    writePlugin(workspace, 'grpc', true, '\t. "prism/core"\n');
    try {
      expect(json<string[]>(['show', 'projects', '--json']).sort()).toEqual(['core', 'echo', 'grpc', 'kafka', 'postgres', 'redis']);
      const grpc = json<{ targets: Record<string, Record<string, unknown>> }>(['show', 'project', 'grpc', '--json']);
      expect(grpc.targets['podman-build']).toMatchObject({ executor: '@prism/nx-podman:podman-build', options: { context: 'plugins' } });
      expect(edges()).toEqual(['grpc->core:static', 'kafka->core:static', 'postgres->core:static', 'redis->core:static']);
      expect(affected('plugins/core/core.go')).toEqual(['core', 'grpc', 'kafka', 'postgres', 'redis']);
    } finally {
      rmSync(join(workspace.root, 'plugins/grpc'), { recursive: true, force: true });
    }
  });

  it('a malformed go.mod is reported with its file and line, not a stack trace', () => {
    workspace.write('plugins/broken/go.mod', 'module prism/broken\n\nrequire prism/core\n');
    try {
      const result = workspace.nx(['show', 'projects']);
      expect(result.code).not.toBe(0);
      expect(result.output).toContain('plugins/broken/go.mod:3: require: expected "module version"');
      expect(result.output).not.toMatch(/^\s+at .*\.js:\d+/m);
    } finally {
      rmSync(join(workspace.root, 'plugins/broken'), { recursive: true, force: true });
    }
  });

  it('nx affected -t podman-build for a core change really builds the three dependents and not echo', () => {
    removePodmanObjects({ images: testImages });
    // targetDefaults merge over inferred targets: tag the test images under a prefix of their own.
    workspace.write(
      'nx.json',
      JSON.stringify({
        analytics: false,
        plugins: ['@prism/nx-podman'],
        targetDefaults: { 'podman-build': { options: { tags: [`${TEST_IMAGE_PREFIX}/{projectName}:{stage}`] } } },
      }),
    );
    const output = nx(['affected', '-t', 'podman-build', '--files=plugins/core/core.go']);
    expect(output).toMatch(/Successfully ran target podman-build for 3 projects/);
    expect(testImages.filter(imageExists).sort()).toEqual([
      `${TEST_IMAGE_PREFIX}/kafka:production`,
      `${TEST_IMAGE_PREFIX}/postgres:production`,
      `${TEST_IMAGE_PREFIX}/redis:production`,
    ]);
  });
});
