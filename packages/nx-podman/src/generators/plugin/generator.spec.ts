// Why this file is long: the generator writes one project with many files (Containerfile, Go sources, launch.json, nx.json
// entries); each is checked here against the same generated tree.
import { addProjectConfiguration, parseJson, readJson, readNxJson, readProjectConfiguration, updateNxJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parseContainerfile, parseInstructions } from '../../core/containerfile';
import { inferLiveUpdateRecipe } from '../../core/live-update-recipe';
import { pluginGenerator } from './generator';
import type { PluginGeneratorSchema } from './schema';

const LOCAL_IMAGES = {
  builderImage: 'localhost/prism/go-builder:1.26.8',
  runtimeImage: 'scratch',
  debugImage: 'localhost/prism/busybox:latest',
};

function generate(tree: Tree, options: Partial<PluginGeneratorSchema> & { name: string }) {
  return pluginGenerator(tree, { skipFormat: true, ...options });
}

/** Every pending change of the tree, to prove a failing run wrote nothing. */
function snapshot(tree: Tree): string[] {
  return tree.listChanges().map((change) => `${change.type} ${change.path} ${change.content?.toString('utf8') ?? ''}`);
}

function fromLines(tree: Tree, path: string): Record<string, string> {
  const parsed = parseContainerfile(tree.read(path, 'utf-8')!);
  return Object.fromEntries(parsed.stages.map((stage) => [stage.name ?? `#${stage.index}`, stage.from]));
}

describe('plugin generator', () => {
  let tree: Tree;

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  describe('a first plugin', () => {
    beforeEach(async () => {
      await generate(tree, { name: 'postgres' });
    });

    it('creates the core module beside the plugin', () => {
      expect(tree.read('plugins/core/go.mod', 'utf-8')).toBe('module prism/core\n\ngo 1.26.0\n');
      for (const file of ['config.go', 'config_test.go', 'health.go', 'log.go', 'server.go', 'version.go', 'README.md']) {
        expect(tree.exists(`plugins/core/${file}`)).toBe(true);
      }
      expect(tree.read('plugins/core/version.go', 'utf-8')).toContain('const Version = "0.1.0"');
      expect(tree.read('plugins/core/server.go', 'utf-8')).toContain('signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)');
      // Core is a library: no Containerfile, so inference gives it no image targets, and no project.json.
      expect(tree.exists('plugins/core/Containerfile')).toBe(false);
      expect(tree.exists('plugins/core/project.json')).toBe(false);
    });

    it('writes a go.mod on a current Go that requires gRPC and protobuf, requires and replaces core, and its go.sum', () => {
      const goMod = tree.read('plugins/postgres/go.mod', 'utf-8')!;
      expect(goMod).toMatch(/^module prism\/postgres\n\ngo 1\.26\.0\n/);
      expect(goMod).toContain('\tgoogle.golang.org/grpc v1.85.0\n\tgoogle.golang.org/protobuf v1.36.12\n\tprism/core v0.0.0\n');
      expect(goMod).toMatch(/\nreplace prism\/core => \.\.\/core\n$/);
      // Every required module has its hashes: the image build's `go mod download` needs no go mod tidy first.
      const goSum = tree.read('plugins/postgres/go.sum', 'utf-8')!;
      for (const [, module, version] of goMod.matchAll(/^\t(\S+) (v\S+)/gm)) {
        if (module === 'prism/core') continue;
        expect([module, goSum.includes(`${module} ${version} h1:`), goSum.includes(`${module} ${version}/go.mod h1:`)]).toEqual([module, true, true]);
      }
    });

    it('writes a Containerfile with builder, debug and production stages on the official images, relative to the plugins/ context', () => {
      const text = tree.read('plugins/postgres/Containerfile', 'utf-8')!;
      expect(fromLines(tree, 'plugins/postgres/Containerfile')).toEqual({
        sources: 'docker.io/library/golang:1.26',
        builder: 'sources',
        'debug-builder': 'sources',
        delve: 'docker.io/library/golang:1.26',
        debug: 'gcr.io/distroless/static-debian12:debug-nonroot',
        production: 'gcr.io/distroless/static-debian12:nonroot',
      });
      expect(parseContainerfile(text).stages.map((stage) => stage.name)).toEqual(['sources', 'builder', 'debug-builder', 'delve', 'debug', 'production']);
      // go.mod and go.sum first (the module download layer), then the sources.
      expect(parseContainerfile(text).copies.map((copy) => copy.sources)).toEqual([
        ['core/go.mod', 'core/go.sum*'],
        ['postgres/go.mod', 'postgres/go.sum*'],
        ['core/'],
        ['postgres/'],
      ]);
      expect(text).toContain(
        'COPY postgres/go.mod postgres/go.sum* /src/postgres/\nRUN --mount=type=cache,target=/tmp/gomodcache go mod download\nCOPY core/ /src/core/\n',
      );
      expect(text).toContain('ARG GOPROXY= GOPRIVATE= GONOPROXY= GONOSUMDB= GOSUMDB= GOFLAGS=\n');
      expect(text).toContain('WORKDIR /src/postgres\n');
      expect(text).toContain('ENV CGO_ENABLED=0 GOCACHE=/tmp/gocache GOMODCACHE=/tmp/gomodcache GOTOOLCHAIN=local\n');
      expect(text).toContain(
        'RUN --mount=type=cache,target=/tmp/gocache --mount=type=cache,target=/tmp/gomodcache GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/plugin .\n',
      );
      // The builder runs natively and cross-compiles (no emulation for other platforms).
      expect(text).toContain(
        'FROM --platform=$BUILDPLATFORM docker.io/library/golang:1.26 AS sources\n# Empty defaults: no "missing build argument" warnings; podman\'s platform values and passed build args override them.\nARG TARGETOS= TARGETARCH=\n',
      );
      expect(text.match(/^USER 65532:65532$/gm)).toHaveLength(2);
      expect(text.match(/^EXPOSE 9090$/gm)).toHaveLength(1);
      // Debug: an unoptimized build (no -trimpath: the debugger maps /src to the workspace) run under headless Delve.
      expect(text).toContain('go build -buildvcs=false -gcflags="all=-N -l" -o /out/plugin-debug .\n');
      expect(text).toContain(
        'go install github.com/go-delve/delve/cmd/dlv@v1.27.2 && mkdir -p /out && find /go/bin -name dlv -type f -exec cp {} /out/dlv \\;\n',
      );
      expect(text).toContain('COPY --from=delve /out/dlv /usr/local/bin/dlv\nCOPY --from=debug-builder /out/plugin-debug /plugin\n');
      expect(text).toContain('EXPOSE 9090 2345\n');
      expect(text).toContain(
        'ENTRYPOINT ["/usr/local/bin/dlv", "exec", "/plugin", "--headless", "--listen=:2345", "--api-version=2", "--accept-multiclient", "--continue"]\n',
      );
    });

    it('every stage that uses a platform or module setting declares its ARG (an ARG is scoped to its stage)', () => {
      const instructions = parseInstructions(tree.read('plugins/postgres/Containerfile', 'utf-8')!);
      const stages = [...new Set(instructions.filter((i) => i.stageIndex >= 0).map((i) => i.stageIndex))];
      let checked = 0;
      for (const stage of stages) {
        const own = instructions.filter((i) => i.stageIndex === stage);
        const declared = new Set(own.filter((i) => i.keyword === 'ARG').flatMap((i) => i.rest.split(/\s+/).map((part) => part.split('=')[0])));
        for (const run of own.filter((i) => i.keyword === 'RUN')) {
          for (const used of run.rest.match(/\$(TARGETOS|TARGETARCH)\b/g) ?? []) {
            expect([run.line, used, declared.has(used.slice(1))]).toEqual([run.line, used, true]);
            checked++;
          }
        }
      }
      expect(checked).toBe(6);
    });

    it('the generated Containerfile has a live update recipe for both stages (dlv, built from no context file, is not a second binary)', () => {
      const text = tree.read('plugins/postgres/Containerfile', 'utf-8')!;
      const kindOf = (path: string) => (['core', 'postgres'].includes(path) ? 'dir' : path.endsWith('go.mod') ? 'file' : undefined);
      const debug = inferLiveUpdateRecipe(text, { stage: 'debug', kindOf });
      expect(debug).toMatchObject({
        ok: true,
        recipe: { builderStage: 'debug-builder', artifact: '/out/plugin-debug', destination: '/plugin', workdir: '/src/postgres' },
      });
      const production = inferLiveUpdateRecipe(text, { stage: 'production', kindOf });
      expect(production).toMatchObject({ ok: true, recipe: { builderStage: 'builder', artifact: '/out/plugin', destination: '/plugin' } });
    });

    it("writes a VS Code attach entry for the plugin's Delve", () => {
      expect(JSON.parse(tree.read('.vscode/launch.json', 'utf-8')!)).toEqual({
        version: '0.2.0',
        configurations: [
          {
            name: 'Attach to postgres (Delve in postgres-plugin-debug)',
            type: 'go',
            request: 'attach',
            mode: 'remote',
            host: '127.0.0.1',
            port: 11090,
            substitutePath: [{ from: '${workspaceFolder}/plugins', to: '/src' }],
          },
        ],
      });
    });

    it('writes a README and a .containerignore at the build context root', () => {
      expect(tree.read('plugins/postgres/README.md', 'utf-8')).toContain('nx run postgres:podman-build');
      const ignore = tree.read('plugins/.containerignore', 'utf-8')!;
      expect(ignore.split('\n')).toEqual(expect.arrayContaining(['**/*_test.go', '**/project.json', '**/README.md']));
    });

    it('writes a project.json with only the podman-run options (targets come from inference)', () => {
      const project = readProjectConfiguration(tree, 'postgres');
      expect(project.root).toBe('plugins/postgres');
      expect(project.tags).toEqual(['plugin']);
      expect(project.targets).toEqual({
        'podman-run': {
          options: { ports: ['9090'], healthCheck: { grpc: '127.0.0.1:9090' }, env: { PORT: '9090' } },
          configurations: { debug: { ports: ['10090:9090', '11090:2345'], healthCheck: { grpc: '127.0.0.1:10090' } } },
        },
      });
      expect(readJson(tree, 'plugins/postgres/project.json').$schema).toBe('../../node_modules/nx/schemas/project-schema.json');
    });

    it('registers the plugin in nx.json', () => {
      expect(readNxJson(tree)?.plugins).toContain('@prism/nx-podman');
    });

    it('gives the next plugin the next port and leaves core and the first plugin alone', async () => {
      tree.write('plugins/core/version.go', 'package core\n\nconst Version = "9.9.9"\n');
      const before = ['plugins/core/version.go', 'plugins/postgres/main.go', 'plugins/postgres/project.json', 'plugins/.containerignore'].map((path) =>
        tree.read(path, 'utf-8'),
      );

      const second = await generate(tree, { name: 'kafka' });

      expect(second.port).toBe(9091);
      expect(second.coreExists).toBe(true);
      expect(
        ['plugins/core/version.go', 'plugins/postgres/main.go', 'plugins/postgres/project.json', 'plugins/.containerignore'].map((path) =>
          tree.read(path, 'utf-8'),
        ),
      ).toEqual(before);
      expect(readProjectConfiguration(tree, 'kafka').targets!['podman-run'].options.ports).toEqual(['9091']);
      expect(tree.read('plugins/kafka/main.go', 'utf-8')).toMatch(/defaultPort = 9091/);
    });

    it('refuses to generate the same plugin twice and writes nothing', async () => {
      const before = snapshot(tree);

      await expect(generate(tree, { name: 'postgres' })).rejects.toThrow('A project named "postgres" already exists at "plugins/postgres"');

      expect(snapshot(tree)).toEqual(before);
    });

    it('refuses a plugin named like the core module', async () => {
      await expect(generate(tree, { name: 'core' })).rejects.toThrow(`expected a name other than the core module's ("core", at "plugins/core")`);
    });

    it('refuses a port another plugin uses', async () => {
      await expect(generate(tree, { name: 'redis', port: 9090 })).rejects.toThrow(
        'Invalid plugin generator option "port": 9090 is already used by "postgres". Choose another --port',
      );
    });
  });

  it('uses the images it is given (local builder, scratch, busybox)', async () => {
    await generate(tree, { name: 'redis', ...LOCAL_IMAGES });

    expect(fromLines(tree, 'plugins/redis/Containerfile')).toEqual({
      sources: 'localhost/prism/go-builder:1.26.8',
      builder: 'sources',
      'debug-builder': 'sources',
      delve: 'localhost/prism/go-builder:1.26.8',
      debug: 'localhost/prism/busybox:latest',
      production: 'scratch',
    });
  });

  it('delve=image takes dlv from the debug image: no delve stage', async () => {
    await generate(tree, { name: 'redis', ...LOCAL_IMAGES, debugImage: 'localhost/prism/delve:1.27.2', delve: 'image' });
    const text = tree.read('plugins/redis/Containerfile', 'utf-8')!;
    expect(parseContainerfile(text).stages.map((stage) => stage.name)).toEqual(['sources', 'builder', 'debug-builder', 'debug', 'production']);
    expect(text).toContain('FROM localhost/prism/delve:1.27.2 AS debug\nCOPY --from=debug-builder /out/plugin-debug /plugin\n');
    expect(text).toContain('ENTRYPOINT ["dlv", "exec", "/plugin", "--headless"');
    await expect(generate(tree, { name: 'kafka', delve: 'apt' as never })).rejects.toThrow('Invalid plugin generator option "delve": expected "install"');
  });

  it("adds its entry to an existing launch.json, keeping the user's entries and comments; a second plugin gets its own port", async () => {
    const user =
      '{\n  // mine\n  "version": "0.2.0",\n  "configurations": [\n    { "name": "Launch tool", "type": "go", "request": "launch", "program": "${workspaceFolder}/tool" }\n  ]\n}\n';
    tree.write('.vscode/launch.json', user);
    await generate(tree, { name: 'redis', port: 9300 });
    await generate(tree, { name: 'kafka', port: 9400 });
    const text = tree.read('.vscode/launch.json', 'utf-8')!;
    expect(text).toContain('// mine');
    const parsed = parseJson(text) as { configurations: { name: string; port?: number }[] };
    expect(parsed.configurations.map((entry) => [entry.name, entry.port])).toEqual([
      ['Attach to kafka (Delve in kafka-plugin-debug)', 11400],
      ['Attach to redis (Delve in redis-plugin-debug)', 11300],
      ['Launch tool', undefined],
    ]);
  });

  it('takes the port, module prefix, tags and directory it is given', async () => {
    const options = await generate(tree, { name: 'billing', directory: 'services/billing', port: 8200, module: 'github.com/acme/prism', tags: 'team:pay, db' });

    expect(options.context).toBe('services');
    expect(tree.read('services/core/go.mod', 'utf-8')).toBe('module github.com/acme/prism/core\n\ngo 1.26.0\n');
    expect(tree.read('services/billing/go.mod', 'utf-8')).toContain('\tgithub.com/acme/prism/core v0.0.0\n');
    expect(tree.read('services/billing/go.mod', 'utf-8')).toContain('\nreplace github.com/acme/prism/core => ../core\n');
    expect(tree.read('services/billing/main.go', 'utf-8')).toContain('"github.com/acme/prism/core"');
    expect(tree.read('services/billing/main.go', 'utf-8')).toContain('pluginv1 "github.com/acme/prism/billing/proto/plugin/v1"');
    expect(tree.exists('services/.containerignore')).toBe(true);
    const project = readProjectConfiguration(tree, 'billing');
    expect(project.tags).toEqual(['plugin', 'team:pay', 'db']);
    expect(project.targets!['podman-run'].options.ports).toEqual(['8200']);
  });

  it('widens the build context to the workspace root for a core module elsewhere', async () => {
    const options = await generate(tree, { name: 'orders', core: 'libs/core' });

    expect(options.context).toBe('.');
    expect(tree.read('plugins/orders/go.mod', 'utf-8')).toContain('replace prism/core => ../../libs/core\n');
    const text = tree.read('plugins/orders/Containerfile', 'utf-8')!;
    expect(parseContainerfile(text).copies.map((copy) => copy.sources)).toEqual([
      ['libs/core/go.mod', 'libs/core/go.sum*'],
      ['plugins/orders/go.mod', 'plugins/orders/go.sum*'],
      ['libs/core/'],
      ['plugins/orders/'],
    ]);
    expect(text).toContain('WORKDIR /src/plugins/orders\n');
    expect(tree.exists('.containerignore')).toBe(true);
  });

  it('uses an existing core module and its module path', async () => {
    tree.write('plugins/core/go.mod', 'module example.com/shared/core\n\ngo 1.21\n');
    tree.write('plugins/core/core.go', 'package core\n');

    const options = await generate(tree, { name: 'search' });

    expect(options.coreExists).toBe(true);
    expect(tree.read('plugins/core/go.mod', 'utf-8')).toBe('module example.com/shared/core\n\ngo 1.21\n');
    expect(tree.exists('plugins/core/version.go')).toBe(false);
    expect(tree.read('plugins/search/go.mod', 'utf-8')).toContain('\texample.com/shared/core v0.0.0\n');
    expect(tree.read('plugins/search/go.mod', 'utf-8')).toContain('\nreplace example.com/shared/core => ../core\n');
  });

  it('keeps a .containerignore the user already has', async () => {
    tree.write('plugins/.containerignore', 'secrets/\n');

    await generate(tree, { name: 'mail' });

    expect(tree.read('plugins/.containerignore', 'utf-8')).toBe('secrets/\n');
  });

  it.each([
    ['tcp', { tcp: 9090 }, { tcp: 10090 }],
    ['command', { command: ['/plugin', '-healthcheck'] }, { command: ['/plugin', '-healthcheck'] }],
  ] as const)('writes a %s health check', async (kind, production, debug) => {
    await generate(tree, { name: 'queue', healthCheck: kind });

    const target = readProjectConfiguration(tree, 'queue').targets!['podman-run'];
    expect(target.options.healthCheck).toEqual(production);
    expect(target.configurations!.debug.healthCheck).toEqual(debug);
  });

  it('writes no health check for healthCheck=none', async () => {
    await generate(tree, { name: 'queue', healthCheck: 'none' });

    const target = readProjectConfiguration(tree, 'queue').targets!['podman-run'];
    expect(target.options).toEqual({ ports: ['9090'], env: { PORT: '9090' } });
    expect(target.configurations).toEqual({ debug: { ports: ['10090:9090', '11090:2345'] } });
  });

  it('skips ports used by existing projects and by EXPOSE in Go projects without project.json', async () => {
    addProjectConfiguration(tree, 'legacy', {
      root: 'apps/legacy',
      targets: { serve: { executor: '@prism/nx-podman:podman-run', options: { ports: ['127.0.0.1:9090:9090'] } } },
    });
    tree.write('plugins/audit/go.mod', 'module prism/audit\n');
    tree.write('plugins/audit/Containerfile', 'FROM scratch AS production\nEXPOSE 9091/tcp\n');

    const options = await generate(tree, { name: 'users' });

    expect(options.port).toBe(9092);
  });

  it('names the run target as the plugin options in nx.json do', async () => {
    updateNxJson(tree, { ...readNxJson(tree), plugins: [{ plugin: '@prism/nx-podman', options: { runTargetName: 'container' } }] });

    await generate(tree, { name: 'audit' });

    expect(Object.keys(readProjectConfiguration(tree, 'audit').targets!)).toEqual(['container']);
  });

  describe('refuses bad input before writing anything', () => {
    it.each([
      [{ name: 'Postgres' }, 'Invalid plugin generator option "name": expected a Go package name'],
      [{ name: 'my-plugin' }, 'received "my-plugin"'],
      [{ name: '1db' }, 'received "1db"'],
      [{ name: '' }, 'received ""'],
      [{ name: 'func' }, 'expected a name that is not a Go keyword, received "func"'],
      [{ name: 'db', directory: '../outside' }, 'Invalid plugin generator option "directory": expected a directory inside the workspace'],
      [{ name: 'db', directory: '/abs/db' }, 'Invalid plugin generator option "directory": expected a workspace-relative directory'],
      [{ name: 'db', port: 80 }, 'Invalid plugin generator option "port": expected an integer from 1024 to 63535'],
      [{ name: 'db', port: 9090.5 }, 'received 9090.5'],
      [{ name: 'db', module: 'bad module' }, 'Invalid plugin generator option "module"'],
      [{ name: 'db', builderImage: 'golang 1.23' }, 'Invalid plugin generator option "builderImage"'],
      [{ name: 'db', healthCheck: 'soap' as never }, 'Invalid plugin generator option "healthCheck": expected one of grpc, http, tcp, command, none'],
      [
        { name: 'db', healthCheck: 'http' },
        'Invalid plugin generator option "healthCheck": expected a check the plugin answers (the grpc plugin serves no http health check',
      ],
      [
        { name: 'db', protocol: 'http', healthCheck: 'grpc' },
        'the http plugin serves no grpc health check: leave healthCheck out (it follows protocol), or choose http, tcp, command or none',
      ],
      [{ name: 'db', protocol: 'thrift' as never }, 'Invalid plugin generator option "protocol": expected one of grpc, http, received "thrift"'],
      [{ name: 'core' }, `Invalid plugin generator option "name": expected a name other than the core module's ("core", at "plugins/core")`],
      [{ name: 'db', core: 'plugins/db/lib' }, 'Invalid plugin generator option "core": expected a directory that neither contains nor is inside'],
    ])('%j', async (options, message) => {
      const before = snapshot(tree);

      await expect(generate(tree, options as PluginGeneratorSchema)).rejects.toThrow(message);

      expect(snapshot(tree)).toEqual(before);
    });

    it('an existing directory', async () => {
      tree.write('plugins/db/notes.txt', 'mine');
      const before = snapshot(tree);

      await expect(generate(tree, { name: 'db' })).rejects.toThrow('Directory "plugins/db" already exists. Choose another name or --directory');

      expect(snapshot(tree)).toEqual(before);
    });

    it('an existing project of that name elsewhere', async () => {
      addProjectConfiguration(tree, 'db', { root: 'libs/db' });
      const before = snapshot(tree);

      await expect(generate(tree, { name: 'db' })).rejects.toThrow('A project named "db" already exists at "libs/db"');

      expect(snapshot(tree)).toEqual(before);
    });

    it('a core directory that is not a Go module', async () => {
      tree.write('plugins/core/notes.txt', 'not go');
      const before = snapshot(tree);

      await expect(generate(tree, { name: 'db' })).rejects.toThrow('Core directory "plugins/core" exists but has no go.mod');

      expect(snapshot(tree)).toEqual(before);
    });
  });
});
