import type { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTempDir } from '../../testing/temp-dir';
import { pluginGenerator } from './generator';

// The generated Go code must build with the oldest toolchain we support (the local builder image is Go 1.19).
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

function go(args: string[], cwd: string) {
  const result = spawnSync('go', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod', CGO_ENABLED: '0', GOWORK: 'off' },
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

(hasGo() ? describe : describe.skip)('generated Go code', () => {
  const temp = createTempDir('nx-podman-gen-go-');

  afterAll(() => temp.cleanup());

  it('builds, vets and passes its tests with the host Go and no module downloads', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await pluginGenerator(tree, { name: 'postgres', skipFormat: true });
    await pluginGenerator(tree, { name: 'kafka', skipFormat: true });
    writeTree(tree, temp.path);

    for (const dir of ['plugins/core', 'plugins/postgres', 'plugins/kafka']) {
      expect(go(['vet', './...'], join(temp.path, dir))).toEqual({ code: 0, output: '' });
    }
    expect(go(['build', '-o', join(temp.path, 'postgres-bin'), '.'], join(temp.path, 'plugins/postgres')).code).toBe(0);
    const tests = go(['test', './...'], join(temp.path, 'plugins/core'));
    expect(tests.output).toMatch(/^ok\s+prism\/core/m);
    expect(tests.code).toBe(0);
    const formatted = spawnSync('gofmt', ['-l', 'plugins'], { cwd: temp.path, encoding: 'utf8' });
    expect(formatted.stdout).toBe('');
  });
});
