import { readNxJson, updateNxJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { initGenerator, readInferredTargetNames } from './generator';

describe('init generator', () => {
  let tree: Tree;

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  it('registers the plugin and ignores the build records', async () => {
    const report = await initGenerator(tree, { skipFormat: true });

    expect(readNxJson(tree)?.plugins).toContain('@prism/nx-podman');
    expect(tree.read('.gitignore', 'utf-8')).toContain('/.nx/podman\n');
    expect(report.changed).toEqual(['registered @prism/nx-podman in nx.json plugins', 'added /.nx/podman to .gitignore']);
    expect(report.skipped).toEqual([]);
  });

  it('is idempotent: a second run changes nothing and says what it skipped', async () => {
    await initGenerator(tree, { skipFormat: true });
    const nxJson = tree.read('nx.json', 'utf-8');
    const gitignore = tree.read('.gitignore', 'utf-8');

    const report = await initGenerator(tree, { skipFormat: true });

    expect(tree.read('nx.json', 'utf-8')).toBe(nxJson);
    expect(tree.read('.gitignore', 'utf-8')).toBe(gitignore);
    expect(report.changed).toEqual([]);
    expect(report.skipped).toEqual(['@prism/nx-podman is already registered in nx.json; kept its options', '.gitignore already ignores .nx/podman']);
  });

  it('keeps an existing registration with its options and the other plugins', async () => {
    const existing = { plugin: '@prism/nx-podman', options: { buildTargetName: 'image' } };
    updateNxJson(tree, { ...readNxJson(tree), plugins: ['@nx/other', existing] });

    const report = await initGenerator(tree, { skipFormat: true, buildTargetName: 'container' });

    expect(readNxJson(tree)?.plugins).toEqual(['@nx/other', existing]);
    expect(report.skipped[0]).toMatch(/already registered.*buildTargetName were not applied/);
    expect(readInferredTargetNames(tree)).toEqual({ buildTargetName: 'image', runTargetName: 'podman-run', watchTargetName: 'watch-reload' });
  });

  it('writes requested target names as plugin options when it registers the plugin', async () => {
    await initGenerator(tree, { skipFormat: true, runTargetName: 'serve-image' });

    expect(readNxJson(tree)?.plugins).toEqual([{ plugin: '@prism/nx-podman', options: { runTargetName: 'serve-image' } }]);
    expect(readInferredTargetNames(tree).runTargetName).toBe('serve-image');
  });

  it.each(['.nx', '/.nx/', '.nx/podman', '.nx/**'])('leaves a .gitignore that already covers the records alone (%s)', async (line) => {
    tree.write('.gitignore', `node_modules\n${line}`);

    await initGenerator(tree, { skipFormat: true });

    expect(tree.read('.gitignore', 'utf-8')).toBe(`node_modules\n${line}`);
  });

  it('appends to a .gitignore without a trailing newline, keeping its content', async () => {
    tree.write('.gitignore', 'node_modules\n.nx/cache');

    await initGenerator(tree, { skipFormat: true });

    expect(tree.read('.gitignore', 'utf-8')).toBe('node_modules\n.nx/cache\n# @prism/nx-podman build records\n/.nx/podman\n');
  });

  it('creates .gitignore when there is none', async () => {
    tree.delete('.gitignore');

    await initGenerator(tree, { skipFormat: true });

    expect(tree.read('.gitignore', 'utf-8')).toBe('# @prism/nx-podman build records\n/.nx/podman\n');
  });
});
