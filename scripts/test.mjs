// `npm test`: every test layer, on a fresh machine too. Installs what is missing (npm ci, podman, runc, Go when there
// is none, busybox-static, docker-registry; see lib/prereqs.mjs; grpcurl and Delve from the Go module proxy), makes podman run containers here (lib/podman-doctor.mjs: detected, and fixed
// for our child processes only through CONTAINERS_CONF), then: typecheck, lint (ESLint), format (Prettier), unit tests, then the real-podman layers
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
ensureSystemPackages({ tests: true });
const { ensurePodmanWorks } = await import('./lib/podman-doctor.mjs');
const { ensureDelveImage, ensureGoBuilderImage } = await import('./lib/base-images.mjs');
const podmanEnv = ensurePodmanWorks({ fix: 'env', confDir: join(root, 'tmp') });
ensureGoBuilderImage();
ensureDelveImage();
// grpcurl, the real gRPC client the e2e tests call the generated plugins with (built from its module, once).
// dlv, the real Delve client (`dlv connect`) the debug-session e2e test attaches with.
const { ensureDlv, ensureGrpcurl } = await import('./lib/go-tools.mjs');
ensureGrpcurl();
ensureDlv();

const extra = process.argv.slice(2);
const reports = join(root, 'tmp', 'test-reports');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const jest = (name, args) => ['npx', ['jest', ...args, '--json', '--outputFile', join(reports, `${name}.json`), ...extra]];
const steps = [
  ['typecheck', 'npx', ['tsc', '-p', 'packages/nx-podman/tsconfig.spec.json', '--noEmit']],
  ['lint', 'npm', ['run', '--silent', 'lint']],
  ['format', 'npm', ['run', '--silent', 'format:check']],
  ['unit', ...jest('unit', ['--selectProjects', 'unit'])],
  ['integration + e2e', ...jest('real', ['--selectProjects', 'integration', 'e2e', '--runInBand'])],
];
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
let failedStep;
for (const [name, file, args] of steps) {
  console.log(`\n=== ${name}: ${file} ${args.join(' ')}`);
  const result = spawnSync(file, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...podmanEnv } });
  const report = join(reports, `${name === 'unit' ? 'unit' : 'real'}.json`);
  if ((name === 'unit' || name.startsWith('integration')) && existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    totals.passed += json.numPassedTests;
    totals.failed += json.numFailedTests + json.numRuntimeErrorTestSuites;
    totals.skipped += json.numPendingTests + json.numTodoTests;
    failures.push(...failedTests(json));
  }
  if (result.status !== 0) {
    failedStep = `${name} (exit ${result.status ?? result.signal})`;
    if (['typecheck', 'lint', 'format'].includes(name)) totals.failed += 1;
    break;
  }
}
if (failures.length > 0) showFailures(failures);
console.log(failedStep ? `\n=== failed: ${failedStep}` : '\n=== all test layers passed');
// The plain closing line CI reads (suites that crashed before running count as failures).
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedStep ? 1 : 0);

/** Each failed test (or suite that failed to run) in a jest JSON report: its name and the start of its message. */
function failedTests(json) {
  const found = [];
  for (const suite of json.testResults ?? []) {
    const file = suite.name.startsWith(root) ? suite.name.slice(root.length + 1) : suite.name;
    const failed = (suite.assertionResults ?? []).filter((test) => test.status === 'failed');
    for (const test of failed) found.push({ name: `${file} › ${test.fullName}`, message: test.failureMessages.join('\n') });
    if (failed.length === 0 && suite.status === 'failed') found.push({ name: file, message: suite.message ?? '' });
  }
  return found;
}

/**
 * Repeated at the very end, where a CI log cut in the middle still shows it: which tests failed, how, and what podman
 * had running then (a test that fails on a process or container left behind is read from this).
 */
function showFailures(list) {
  // eslint-disable-next-line no-control-regex -- ANSI colour codes
  const plain = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');
  console.log(`\n=== failed tests (${list.length})`);
  for (const { name, message } of list) {
    console.log(`\u2715 ${name}`);
    const lines = plain(message)
      .split('\n')
      .filter((line) => line.trim() && !/^\s+at /.test(line));
    // The start of the message, then the lines that say what went wrong (a long output quoted in a message would
    // otherwise push them out of view).
    const notable = lines.slice(12).filter((line) => /\b(ERROR|WARN|FAILED)\b|Error:|exited \d|Expected|Received/.test(line));
    for (const line of [...lines.slice(0, 12), ...(notable.length ? ['...', ...notable.slice(-12)] : [])]) console.log(`    ${line.slice(0, 300)}`);
  }
  const show = (label, file, args) => {
    const result = spawnSync(file, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...podmanEnv }, timeout: 20_000 });
    console.log(`--- ${label}\n${(result.stdout || result.stderr || `(no output, exit ${result.status ?? result.signal})`).trimEnd()}`);
  };
  show('podman containers (with build containers)', 'podman', ['ps', '-a', '--external', '--format', '{{.ID}} {{.Names}} {{.Status}} {{.Image}}']);
  const processes = spawnSync('ps', ['-eo', 'pid,ppid,etime,args'], { encoding: 'utf8' }).stdout ?? '';
  console.log(
    `--- podman, buildah and container processes\n${processes
      .split('\n')
      .filter((line) => /^\s*\d+\s+\d+\s+\S+\s+(\S*\/)?(podman|conmon|runc|buildah-oci-runtime|sleep|nx-podman-\S+)(\s|$)/.test(line))
      .map((line) => line.slice(0, 200))
      .join('\n')}`,
  );
  console.log(`--- load: ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim()}`);
}
