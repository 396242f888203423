import type { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureGoTool } from '../../../../../scripts/lib/go-tools.mjs';
import { createTempDir } from '../../testing/temp-dir';
import { pluginGenerator } from './generator';

// The generated Go code must build, vet and be gofmt-clean with the machine's Go (the local builder image is made from
// it); a gRPC plugin's modules come through the Go module proxy, as for users.
function hasGo(): boolean {
  const ok = spawnSync('go', ['version']).status === 0;
  if (!ok && process.env.REQUIRE_PODMAN === '1') throw new Error('REQUIRE_PODMAN=1 but the go toolchain is missing: apt-get install -y golang-go');
  if (!ok) process.stderr.write('\n!!! go is not installed: the generated-code compile tests DID NOT RUN.\n\n');
  return ok;
}

function writeTree(tree: Tree, root: string): void {
  for (const change of tree.listChanges()) {
    if (change.type === 'DELETE' || !change.content) continue;
    mkdirSync(dirname(join(root, change.path)), { recursive: true });
    writeFileSync(join(root, change.path), change.content);
  }
}

/** Runs go; `modules`: may download from the module proxy (else GOPROXY=off, and go.sum must not change). */
function go(args: string[], cwd: string, { modules = false } = {}) {
  const result = spawnSync('go', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...(modules ? {} : { GOPROXY: 'off' }), GOFLAGS: '-mod=readonly', CGO_ENABLED: '0', GOWORK: 'off', GOTOOLCHAIN: 'local' },
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

(hasGo() ? describe : describe.skip)('generated Go code', () => {
  const temp = createTempDir('nx-podman-gen-go-');

  afterAll(() => temp.cleanup());

  it('builds, vets and passes its tests with the host Go: core and an HTTP plugin with no module, a gRPC plugin with its go.sum as written', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await pluginGenerator(tree, { name: 'postgres', skipFormat: true });
    await pluginGenerator(tree, { name: 'kafka', protocol: 'http', skipFormat: true });
    writeTree(tree, temp.path);

    for (const dir of ['plugins/core', 'plugins/kafka']) {
      expect(go(['vet', './...'], join(temp.path, dir))).toEqual({ code: 0, output: '' });
    }
    // -mod=readonly: go.mod and go.sum as generated are complete (a missing hash would be an error, not an edit).
    const grpc = go(['vet', './...'], join(temp.path, 'plugins/postgres'), { modules: true });
    expect(grpc.output.split('\n').filter((line) => line && !line.startsWith('go: downloading'))).toEqual([]);
    expect(grpc.code).toBe(0);
    expect(go(['build', '-o', join(temp.path, 'postgres-bin'), '.'], join(temp.path, 'plugins/postgres'), { modules: true }).code).toBe(0);
    expect(go(['build', '-o', join(temp.path, 'kafka-bin'), '.'], join(temp.path, 'plugins/kafka')).code).toBe(0);
    const tests = go(['test', './...'], join(temp.path, 'plugins/core'));
    expect(tests.output).toMatch(/^ok\s+prism\/core/m);
    expect(tests.code).toBe(0);
    const formatted = spawnSync('gofmt', ['-l', 'plugins'], { cwd: temp.path, encoding: 'utf8' });
    expect(formatted.stdout).toBe('');
  });
});

describe('generated gRPC code', () => {
  const temp = createTempDir('nx-podman-gen-proto-');

  afterAll(() => temp.cleanup());

  it('is what the regeneration command in the plugin README makes from its .proto (protoc + the pinned Go plugins)', async () => {
    if (spawnSync('protoc', ['--version']).status !== 0) throw new Error('protoc is missing: apt-get install -y protobuf-compiler (npm test installs it)');
    const tree = createTreeWithEmptyWorkspace();
    await pluginGenerator(tree, { name: 'postgres', skipFormat: true });
    writeTree(tree, temp.path);
    const plugin = join(temp.path, 'plugins/postgres');
    const readme = readFileSync(join(plugin, 'README.md'), 'utf8');
    // The versions and the command exactly as the README gives them.
    const tools = [...readme.matchAll(/^go install (\S+)@(v\S+)$/gm)].map(([, module, version]) => ({ module, version, name: module.split('/').pop()! }));
    expect(tools.map((tool) => tool.name)).toEqual(['protoc-gen-go', 'protoc-gen-go-grpc']);
    const bins = tools.map((tool) => dirname(ensureGoTool(tool, () => undefined)));
    const command = /^(protoc --go_out=.*)$/m.exec(readme)![1].split(' ');
    const generated = ['plugin.pb.go', 'plugin_grpc.pb.go'].map((file) => join(plugin, 'proto/plugin/v1', file));
    const committed = generated.map((file) => readFileSync(file, 'utf8'));
    for (const file of generated) rmSync(file);

    const result = spawnSync(command[0], command.slice(1), {
      cwd: plugin,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bins.join(':')}:${process.env.PATH}` },
    });

    expect(result.stderr).toBe('');
    expect(generated.map((file) => readFileSync(file, 'utf8'))).toEqual(committed);
  }, 300_000);
});
