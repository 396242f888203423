// Makes sure podman can build and run containers on this machine, and explains what it changed.
//
// Sandboxed CI machines (cgroup v1/v2 hybrid, no permission to raise rlimits) make `podman run` fail with
//   crun: setrlimit RLIMIT_NOFILE: Operation not permitted   /   crun: cgroups in hybrid mode not supported
// Both go away with runc and fixed ulimits. We detect the failure with a real `podman run` and only then apply
// the fix: as a containers.conf drop-in (CI machines, `fix: 'system'`) or as a CONTAINERS_CONF file used by our
// own child processes only (`fix: 'env'`, the demo on a developer's machine), never silently.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from './base-images.mjs';

export const SANDBOX_CONF = `# Written by nx-podman's podman doctor: podman run failed here with a sandbox error (rlimits / hybrid cgroups).
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
`;

const SANDBOX_ERRORS = [/setrlimit/i, /rlimit/i, /cgroups in hybrid mode/i];

function podman(args, env) {
  return spawnSync('podman', args, { encoding: 'utf8', env: { ...process.env, ...env } });
}

/** Returns { ok, output } for a throwaway container run. */
export function probeRun(env = {}) {
  const result = podman(['run', '--rm', '--network=none', BUSYBOX_IMAGE, 'true'], env);
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/**
 * Ensures `podman run` works. Returns the environment variables our child processes need (possibly empty).
 * @param {{ fix: 'system' | 'env' | 'none', confDir?: string, log?: (line: string) => void }} options
 */
export function ensurePodmanWorks({ fix, confDir, log = console.log }) {
  const version = podman(['version', '--format', '{{.Client.Version}}']);
  if (version.error || version.status !== 0) {
    throw new Error(`podman is not usable (${version.error?.message ?? version.stderr?.trim()}). Install it: apt-get install -y podman runc`);
  }
  ensureBusyboxImage(log);
  const first = probeRun();
  if (first.ok) return {};
  if (!SANDBOX_ERRORS.some((pattern) => pattern.test(first.output))) {
    throw new Error(`podman run does not work on this machine:\n${first.output}`);
  }
  log(`podman doctor: "podman run" failed with a sandbox error:\n  ${first.output.split('\n').pop()}`);
  if (fix === 'none') {
    throw new Error(`podman run fails here. Add this to /etc/containers/containers.conf (or a containers.conf.d drop-in):\n${SANDBOX_CONF}`);
  }
  if (!existsSync('/usr/bin/runc') && !existsSync('/usr/sbin/runc')) {
    throw new Error('podman run fails here and the fix needs runc: apt-get install -y runc');
  }
  if (fix === 'system') {
    const path = '/etc/containers/containers.conf.d/50-nx-podman-sandbox.conf';
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, SANDBOX_CONF);
    log(`podman doctor: wrote ${path} (runc, ulimits nofile/nproc=1024)`);
    const again = probeRun();
    if (!again.ok) throw new Error(`podman run still fails after writing ${path}:\n${again.output}`);
    return {};
  }
  const path = join(confDir ?? process.cwd(), 'containers.conf');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, SANDBOX_CONF);
  const env = { CONTAINERS_CONF: path };
  const again = probeRun(env);
  if (!again.ok) throw new Error(`podman run still fails with CONTAINERS_CONF=${path}:\n${again.output}`);
  log(`podman doctor: using CONTAINERS_CONF=${path} for this run only (runc, ulimits nofile/nproc=1024); your system config is untouched`);
  return env;
}

export function podmanVersion() {
  return execFileSync('podman', ['version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' }).trim();
}
