import { parseContainerfile } from '../core/containerfile';
import { parseGoMod } from '../core/go-module';
import { createGoProjectConfiguration, inferBuildContext, inferBuildInputs, type GoProjectFacts } from './create-nodes';
import { normalizePluginOptions } from './plugin-options';

const CONTAINERFILE = [
  'FROM localhost/prism/go-builder:1.19 AS builder',
  'WORKDIR /src',
  'COPY core/ core/',
  'COPY postgres/ postgres/',
  'RUN cd postgres && go build -o /out/plugin .',
  'FROM scratch AS production',
  'COPY --from=builder /out/plugin /plugin',
  'COPY postgres/config.yaml /config.yaml',
  'ENTRYPOINT ["/plugin"]',
  'FROM localhost/prism/busybox:latest AS debug',
  'COPY --from=builder /out/plugin /plugin',
].join('\n');

const postgres: GoProjectFacts = {
  root: 'plugins/postgres',
  name: 'postgres',
  goMod: parseGoMod('module prism/postgres\nrequire prism/core v0.0.0\nreplace prism/core => ../core\n'),
  containerfile: { fileName: 'Containerfile', parsed: parseContainerfile(CONTAINERFILE) },
};

const defaults = normalizePluginOptions(undefined);

describe('normalizePluginOptions', () => {
  it('applies defaults', () => {
    expect(defaults).toEqual({
      buildTargetName: 'podman-build',
      runTargetName: 'podman-run',
      watchTargetName: 'watch-reload',
      includeTestImports: false,
      registry: undefined,
    });
  });

  it.each([
    ['ghcr.io/acme', 'ghcr.io/acme'],
    ['127.0.0.1:5000/', '127.0.0.1:5000'],
    ['localhost', 'localhost'],
    ['registry.internal:5000/team/prism', 'registry.internal:5000/team/prism'],
  ])('accepts the registry %j as %j', (registry, expected) => {
    expect(normalizePluginOptions({ registry }).registry).toBe(expected);
  });

  it.each([
    [{ buildTargetName: '' }, /"buildTargetName" must be a non-empty target name .* \(got ""\)/],
    [{ runTargetName: 42 }, /"runTargetName" must be a non-empty target name .* \(got 42\)/],
    [{ watchTargetName: 'a:b' }, /"watchTargetName" must be a non-empty target name without ":" \(got "a:b"\)/],
    [{ includeTestImports: 'yes' }, /"includeTestImports" must be true or false \(got "yes"\)/],
    [{ registry: 'https://ghcr.io/acme' }, /"registry" must not have a scheme \(got "https:\/\/ghcr.io\/acme"\).*host\[:port\]\[\/namespace\]/],
    [{ registry: 'acme' }, /"registry" is not a registry host .* \(got "acme"\)/],
    [{ registry: 'ghcr.io/Acme' }, /"registry" is not a registry host with an optional lower-case namespace/],
    [{ registry: 'ghcr.io/acme:v1' }, /"registry" is not a registry host .*no tag/],
    [{ registry: 5000 }, /"registry" must be a registry name \(got 5000\)/],
    [{ runTargetName: 'podman-build' }, /must differ \(two are "podman-build"\)/],
  ])('rejects %j naming the option and value', (options, message) => {
    expect(() => normalizePluginOptions(options as never)).toThrow(message);
  });
});

describe('inferBuildContext', () => {
  it.each([
    ['module m\n', 'plugins/postgres'],
    ['module m\nreplace prism/core => ../core\n', 'plugins'],
    ['module m\nreplace prism/core => ./internal/core\n', 'plugins/postgres'],
    ['module m\nreplace (\n  a => ../core\n  b => ../../shared/b\n)\n', '.'],
    ['module m\nreplace a => example.com/fork v1.0.0\nreplace b => /abs\n', 'plugins/postgres'],
  ])('%j → %s', (goMod, expected) => {
    expect(inferBuildContext('plugins/postgres', parseGoMod(goMod))).toBe(expected);
  });
});

describe('inferBuildInputs', () => {
  it('covers own Go sources without tests, build files, copied files and dependency sources, each once', () => {
    const parsed = parseContainerfile('FROM scratch\nCOPY main.go go.mod /src/\nCOPY core/ /core/\nCOPY postgres/config.yaml postgres/conf.d /etc/\n');
    const kinds = { 'plugins/postgres/config.yaml': 'file', 'plugins/postgres/conf.d': 'dir' } as const;
    expect(inferBuildInputs('plugins/postgres', 'plugins', { fileName: 'Containerfile', parsed, kinds })).toEqual([
      '{projectRoot}/**/*.go',
      '{projectRoot}/go.mod',
      '{projectRoot}/go.sum',
      '{projectRoot}/Containerfile',
      '{projectRoot}/.containerignore',
      '{workspaceRoot}/plugins/.containerignore',
      '{projectRoot}/.dockerignore',
      '{workspaceRoot}/plugins/.dockerignore',
      // Not there (yet): it may become a file or a directory.
      '{workspaceRoot}/plugins/main.go',
      '{workspaceRoot}/plugins/main.go/**/*',
      '{workspaceRoot}/plugins/go.mod',
      '{workspaceRoot}/plugins/go.mod/**/*',
      '{workspaceRoot}/plugins/core/**/*',
      '{projectRoot}/config.yaml',
      '{projectRoot}/conf.d/**/*',
      '!{projectRoot}/**/*_test.go',
      '!{workspaceRoot}/plugins/main.go/**/*_test.go',
      '!{workspaceRoot}/plugins/go.mod/**/*_test.go',
      '!{workspaceRoot}/plugins/core/**/*_test.go',
      '^{projectRoot}/**/!(*_test).go',
      '^{projectRoot}/go.mod',
      '^{projectRoot}/go.sum',
    ]);
  });

  it('the generated Containerfile: each COPY source as the file, glob or directory it is, nothing a directory input covers', () => {
    const parsed = parseContainerfile(
      'FROM golang AS sources\nCOPY core/go.mod core/go.sum* /src/core/\nCOPY postgres/go.mod postgres/go.sum* /src/postgres/\nCOPY core/ /src/core/\nCOPY postgres/ /src/postgres/\n',
    );
    const kinds = { 'plugins/core/go.mod': 'file', 'plugins/postgres/go.mod': 'file', 'plugins/core': 'dir', 'plugins/postgres': 'dir' } as const;
    expect(inferBuildInputs('plugins/postgres', 'plugins', { fileName: 'Containerfile', parsed, kinds })).toEqual([
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
  });

  it('maps a whole-context COPY and globs inside the project, and skips variables and escapes', () => {
    const parsed = parseContainerfile('FROM scratch\nCOPY . /src\nCOPY *.yaml /etc/\nCOPY $CONFIG /etc/\nCOPY ../outside /x\n');
    const inputs = inferBuildInputs('plugins/echo', 'plugins/echo', { fileName: 'Dockerfile', parsed });
    expect(inputs).toEqual([
      '{projectRoot}/**/*',
      '!{projectRoot}/**/*_test.go',
      '^{projectRoot}/**/!(*_test).go',
      '^{projectRoot}/go.mod',
      '^{projectRoot}/go.sum',
    ]);
  });
});

describe('createGoProjectConfiguration', () => {
  it('infers build, run and watch targets for a plugin with a Containerfile', () => {
    const project = createGoProjectConfiguration(postgres, defaults);
    expect(project.name).toBe('postgres');
    expect(Object.keys(project.targets!)).toEqual(['podman-build', 'podman-run', 'watch-reload']);
    const configurations = { production: { stage: 'production' }, debug: { stage: 'debug' } };
    expect(project.targets!['podman-build']).toEqual({
      executor: '@prism/nx-podman:podman-build',
      cache: false,
      inputs: inferBuildInputs('plugins/postgres', 'plugins', postgres.containerfile!),
      options: { file: '{projectRoot}/Containerfile', context: 'plugins' },
      configurations,
      defaultConfiguration: 'production',
      metadata: {
        technologies: ['podman', 'go'],
        description: expect.stringContaining('Builds the postgres plugin image'),
        help: { command: 'npx nx run postgres:podman-build --help', example: { options: { stage: 'debug', force: true } } },
      },
    });
    expect(project.targets!['podman-run']).toMatchObject({
      executor: '@prism/nx-podman:podman-run',
      cache: false,
      configurations,
      defaultConfiguration: 'production',
      metadata: { technologies: ['podman', 'go'], help: { command: 'npx nx run postgres:podman-run --help' } },
    });
    expect(project.targets!['podman-run'].dependsOn).toBeUndefined();
    expect(project.targets!['watch-reload']).toMatchObject({
      executor: '@prism/nx-podman:watch-reload',
      continuous: true,
      configurations,
      defaultConfiguration: 'production',
      metadata: { technologies: ['podman', 'go'], description: expect.stringContaining('Watches postgres') },
    });
  });

  it('takes the context project.json sets: COPY sources map from there ({projectRoot}/config.yaml, not {projectRoot}/solo/config.yaml)', () => {
    const solo: GoProjectFacts = {
      root: 'plugins/solo',
      name: 'solo',
      goMod: parseGoMod('module prism/solo\n'),
      containerfile: {
        fileName: 'Containerfile',
        parsed: parseContainerfile('FROM scratch AS production\nCOPY solo/main.go solo/go.mod solo/config.yaml /src/solo/\n'),
      },
      contextOption: 'plugins',
    };
    const build = createGoProjectConfiguration(solo, defaults).targets!['podman-build'];
    expect(build.options).toEqual({ file: '{projectRoot}/Containerfile', context: 'plugins' });
    expect(build.inputs).toEqual(expect.arrayContaining(['{projectRoot}/config.yaml', '{projectRoot}/main.go', '{projectRoot}/go.mod']));
    expect(build.inputs).not.toContain('{projectRoot}/solo/config.yaml');
  });

  it('keeps the project root as context when nothing outside it is replaced', () => {
    const echo = { ...postgres, root: 'plugins/echo', name: 'echo', goMod: parseGoMod('module prism/echo\n') };
    expect(createGoProjectConfiguration(echo, defaults).targets!['podman-build'].options).toEqual({
      file: '{projectRoot}/Containerfile',
      context: '{projectRoot}',
    });
  });

  it('uses the configured target names', () => {
    const options = normalizePluginOptions({ buildTargetName: 'image', runTargetName: 'up', watchTargetName: 'dev' });
    const project = createGoProjectConfiguration(postgres, options);
    expect(Object.keys(project.targets!)).toEqual(['image', 'up', 'dev']);
    expect(project.targets!.dev.metadata!.help!.command).toBe('npx nx run postgres:dev --help');
    expect(project.targets!.dev.options).toEqual({ buildTarget: 'image', runTarget: 'up' });
    expect(createGoProjectConfiguration(postgres, defaults).targets!['watch-reload'].options).toEqual({});
  });

  it('adds a ci configuration pushing the production image to the registry when one is set', () => {
    expect(createGoProjectConfiguration(postgres, defaults).targets!['podman-build'].configurations).not.toHaveProperty('ci');
    const build = createGoProjectConfiguration(postgres, normalizePluginOptions({ registry: '127.0.0.1:5000/prism' })).targets!['podman-build'];
    expect(build.configurations!.ci).toEqual({
      stage: 'production',
      push: true,
      tags: ['127.0.0.1:5000/prism/postgres-plugin:{shortCommitSha}', '127.0.0.1:5000/prism/postgres-plugin:latest'],
      registryCache: true,
    });
    expect(build.defaultConfiguration).toBe('production');
    expect(build.metadata!.description).toContain('ci pushes it to 127.0.0.1:5000/prism');
  });

  it('a Go project without a Containerfile is a project with no targets', () => {
    const { containerfile: _, ...core } = { ...postgres, name: 'core', root: 'plugins/core' };
    expect(createGoProjectConfiguration(core, defaults)).toEqual({ name: 'core', targets: {} });
  });

  it('does not share configuration objects between projects', () => {
    const a = createGoProjectConfiguration(postgres, defaults);
    const b = createGoProjectConfiguration(postgres, defaults);
    a.targets!['podman-build'].configurations!.debug.stage = 'changed';
    expect(b.targets!['podman-build'].configurations!.debug.stage).toBe('debug');
  });
});
