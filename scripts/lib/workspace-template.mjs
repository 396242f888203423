// Workspaces with the packed plugin, one recipe for the e2e tests, the benchmarks and the demo (types in
// workspace-template.d.mts): a template dir with nx + the packed plugin installed, the environment every nx command
// runs with, and where nx's CLI is. No import.meta here: the e2e tests load this file through Jest's CommonJS transform.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export { BUSYBOX_IMAGE, DELVE_IMAGE, GO_BUILDER_IMAGE } from './base-images.mjs';

/** Environment of every nx command the tests, bench and demo run: no daemon (unless asked), no TUI, no cloud, no cache. */
export const NX_ENV = Object.freeze({
  NX_DAEMON: 'false',
  NX_TUI: 'false',
  NX_NO_CLOUD: 'true',
  NX_SKIP_NX_CACHE: 'true',
  NX_PREFER_NODE_STRIP_TYPES: 'false',
  CI: 'true',
  FORCE_COLOR: '0',
});

/** Builds and packs the plugin (`npm run package -- --out <dir>`); returns the tarball path (printed last). */
export function packPlugin(repoRoot, outDir) {
  const out = execFileSync('npm', ['run', '--silent', 'package', '--', '--out', outDir], { cwd: repoRoot, encoding: 'utf8' });
  const tarball = out.trim().split('\n').pop();
  if (!tarball || !existsSync(tarball)) throw new Error(`no plugin tarball (got "${tarball}"): npm run package should print its path last`);
  return tarball;
}

/**
 * Makes `dir` a template: packs the plugin (unless `tarball` is given) and installs nx, @nx/devkit (the repo's
 * versions) and the tarball. Returns the tarball path.
 */
export function prepareTemplate(dir, { repoRoot, name = 'nx-podman-workspace', tarball, log = () => undefined, stdio = ['ignore', 'ignore', 'inherit'] }) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (!tarball) {
    log('npm run package (builds and packs @prism/nx-podman)');
    tarball = packPlugin(repoRoot, join(dir, 'pack'));
  }
  if (!existsSync(tarball)) throw new Error(`no plugin tarball at ${tarball}`);
  const rootPkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const devDependencies = { nx: rootPkg.devDependencies.nx, '@nx/devkit': rootPkg.devDependencies['@nx/devkit'], '@prism/nx-podman': `file:${tarball}` };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, devDependencies }, null, 2));
  log('npm install nx + the packed plugin');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir, stdio });
  return tarball;
}

/** nx's CLI entry point in a workspace with node_modules (read from its package.json: the path moved between versions). */
export function nxBin(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', 'nx', 'package.json'), 'utf8'));
  return join(dir, 'node_modules', 'nx', typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.nx);
}
