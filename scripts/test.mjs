// `npm test`: every test layer, on a fresh machine too. Installs what is missing (npm ci, podman, runc, Go,
// busybox-static; see lib/prereqs.mjs), makes podman run containers here (lib/podman-doctor.mjs: detected, and fixed
// for our child processes only through CONTAINERS_CONF), then: typecheck, unit tests, then the real-podman layers
// (integration, e2e) one file at a time since they share podman and two cores.
// Extra arguments go to every jest run (e.g. a test path filter).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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
const reports = join(root, 'tmp', 'test-reports');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const jest = (name, args) => ['npx', ['jest', ...args, '--json', '--outputFile', join(reports, `${name}.json`), ...extra]];
const steps = [
  ['typecheck', 'npx', ['tsc', '-p', 'packages/nx-podman/tsconfig.spec.json', '--noEmit']],
  ['unit', ...jest('unit', ['--selectProjects', 'unit'])],
  ['integration + e2e', ...jest('real', ['--selectProjects', 'integration', 'e2e', '--runInBand'])],
];
const totals = { passed: 0, failed: 0, skipped: 0 };
let failedStep;
for (const [name, file, args] of steps) {
  console.log(`\n=== ${name}: ${file} ${args.join(' ')}`);
  const result = spawnSync(file, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...podmanEnv } });
  const report = join(reports, `${name === 'unit' ? 'unit' : 'real'}.json`);
  if (name !== 'typecheck' && existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    totals.passed += json.numPassedTests;
    totals.failed += json.numFailedTests + json.numRuntimeErrorTestSuites;
    totals.skipped += json.numPendingTests + json.numTodoTests;
  }
  if (result.status !== 0) {
    failedStep = `${name} (exit ${result.status ?? result.signal})`;
    if (name === 'typecheck') totals.failed += 1;
    break;
  }
}
console.log(failedStep ? `\n=== failed: ${failedStep}` : '\n=== all test layers passed');
// The plain closing line CI reads (suites that crashed before running count as failures).
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedStep ? 1 : 0);
