// `npm test`: typecheck, unit tests, then the real-podman layers (integration, e2e) one file at a time,
// since they share podman and two cores. Extra arguments go to every jest run (e.g. a test path filter).
import { spawnSync } from 'node:child_process';

const extra = process.argv.slice(2);
const steps = [
  ['typecheck', 'npx', ['tsc', '-p', 'packages/nx-podman/tsconfig.spec.json', '--noEmit']],
  ['unit', 'npx', ['jest', '--selectProjects', 'unit', ...extra]],
  ['integration + e2e', 'npx', ['jest', '--selectProjects', 'integration', 'e2e', '--runInBand', ...extra]],
];
for (const [name, file, args] of steps) {
  console.log(`\n=== ${name}: ${file} ${args.join(' ')}`);
  const result = spawnSync(file, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`\n=== ${name} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}
console.log('\n=== all test layers passed');
