// Removing what podman-run and the watcher make for a container, for the tests, the benchmarks and the demo (types in
// podman-objects.d.mts): the container, its pod `<name>-pod` (podman-run's), and the pods `<name>-pod-<port>` it ran
// in behind the watcher's gate (holdRequests). Missing objects are fine.
import { spawnSync } from 'node:child_process';

/** The pods named `<name>-pod-<port>` of these containers (a gate's backend pods). */
function gatePodsOf(containers) {
  const listed = spawnSync('podman', ['pod', 'ps', '--format', '{{.Name}}'], { encoding: 'utf8' }).stdout ?? '';
  return listed.split('\n').filter((pod) => containers.some((name) => pod.startsWith(`${name}-pod-`) && /^\d+$/.test(pod.slice(`${name}-pod-`.length))));
}

/** The containers with the ones a watcher's gate names after them (`<name>-next`, `<name>-old`: left by a killed watcher). */
function withGateSiblings(containers) {
  return containers.flatMap((name) => [name, `${name}-next`, `${name}-old`]);
}

/** Removes the containers (stop timeout `timeSeconds`), their gate siblings and every pod they may have run in. */
export function removeContainersAndPods(containers, { timeSeconds = 2 } = {}) {
  if (containers.length === 0) return;
  spawnSync('podman', ['rm', '-f', '--ignore', '--time', String(timeSeconds), ...withGateSiblings(containers)], { stdio: 'ignore' });
  spawnSync('podman', ['pod', 'rm', '-f', '--ignore', ...containers.map((name) => `${name}-pod`), ...gatePodsOf(containers)], { stdio: 'ignore' });
}

/**
 * Removes the live update builders a watcher of `workspaceRoot` left (label `nx-podman.builder=<root>`): a watcher
 * SIGKILLed (a test's clean-up) has no time to remove its own.
 */
export function removeBuildersOf(workspaceRoot) {
  const listed = spawnSync('podman', ['ps', '-a', '-q', '--filter', `label=nx-podman.builder=${workspaceRoot}`], { encoding: 'utf8' }).stdout ?? '';
  const ids = listed.split('\n').filter(Boolean);
  if (ids.length > 0) spawnSync('podman', ['rm', '-f', '--ignore', '--time', '0', ...ids], { stdio: 'ignore' });
}
