import { spawnSync } from 'node:child_process';

/**
 * Whether real-podman tests can run. With REQUIRE_PODMAN=1 (CI) a missing or broken podman throws, so those tests
 * fail; otherwise it prints a loud notice and the caller skips them (`describeWithPodman`).
 */
export function hasPodman(): boolean {
  const result = spawnSync('podman', ['version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' });
  const ok = result.status === 0;
  if (!ok && process.env.REQUIRE_PODMAN === '1') {
    throw new Error(`REQUIRE_PODMAN=1 but podman is not usable: ${result.error?.message ?? result.stderr}. Run .ci/run or apt-get install -y podman runc.`);
  }
  if (!ok) {
    process.stderr.write(`\n!!! podman is not usable here: tests that need real podman DID NOT RUN. Set REQUIRE_PODMAN=1 to make that a failure.\n\n`);
  }
  return ok;
}

/** `describe` when podman works, `describe.skip` with a loud notice otherwise (a failure with REQUIRE_PODMAN=1). */
export const describeWithPodman: jest.Describe = (hasPodman() ? describe : describe.skip) as jest.Describe;
