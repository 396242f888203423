// `npm test`: every test layer, on a fresh machine too. Installs what is missing (npm ci, podman, runc, Go,
// busybox-static; see lib/prereqs.mjs), makes podman run containers here (lib/podman-doctor.mjs: detected, and fixed
// for our child processes only through CONTAINERS_CONF), then: typecheck, unit tests, then the real-podman layers
// (integration, e2e) one file at a time since they share podman and two cores.
// Extra arguments go to every jest run (e.g. a test path filter).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkNode, ensureNodeModules, ensureSystemPackages } from './lib/prereqs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
checkNode();
ensureNodeModules(root);
ensureSystemPackages();
const { ensurePodmanWorks } = await import('./lib/podman-doctor.mjs');
const { ensureGoBuilderImage } = await import('./lib/base-images.mjs');
const podmanEnv = ensurePodmanWorks({ fix: 'env', confDir: join(root, 'tmp') });
ensureGoBuilderImage();

const extra = process.argv.slice(2);
const steps = [
  ['typecheck', 'npx', ['tsc', '-p', 'packages/nx-podman/tsconfig.spec.json', '--noEmit']],
  ['unit', 'npx', ['jest', '--selectProjects', 'unit', ...extra]],
  ['integration + e2e', 'npx', ['jest', '--selectProjects', 'integration', 'e2e', '--runInBand', ...extra]],
];
for (const [name, file, args] of steps) {
  console.log(`\n=== ${name}: ${file} ${args.join(' ')}`);
  const result = spawnSync(file, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...podmanEnv } });
  if (result.status !== 0) {
    console.error(`\n=== ${name} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}
console.log('\n=== all test layers passed');
