// Base images made locally from Debian packages, for machines that reach no container registry.
//   localhost/prism/busybox:latest     busybox-static rootfs: a shell, httpd, nc (debug stage, test fixtures)
//   localhost/prism/go-builder:1.19    the host's Go toolchain (golang-go) + busybox: stands in for golang:1.x
//   localhost/prism/delve:1.20         busybox + Debian's dlv (delve) and the libc it links: the debug stage's base
// `podman import` of a rootfs tarball needs no registry and takes seconds.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const BUSYBOX_IMAGE = 'localhost/prism/busybox:latest';
export const GO_BUILDER_IMAGE = 'localhost/prism/go-builder:1.19';
export const DELVE_IMAGE = 'localhost/prism/delve:1.20';
const APPLETS = ['sh', 'ls', 'cat', 'echo', 'sleep', 'httpd', 'wget', 'nc', 'env', 'mkdir', 'rm', 'cp', 'mv', 'ps', 'kill', 'true', 'false', 'test', 'grep', 'sed', 'tar', 'id', 'chmod', 'touch', 'find', 'head', 'tail'];

function run(file, args, options = {}) {
  const result = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (exit ${result.status}): ${result.stderr || result.error}`);
  return result.stdout;
}

function imageExists(ref) {
  return spawnSync('podman', ['image', 'exists', ref]).status === 0;
}

function findBusybox() {
  for (const path of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(path)) return realpathSync(path);
  throw new Error('busybox is needed to make local base images: apt-get install -y busybox-static');
}

function addBusybox(rootfs) {
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'tmp'), { recursive: true, mode: 0o1777 });
  cpSync(findBusybox(), join(rootfs, 'bin', 'busybox'));
  for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
}

function importRootfs(rootfs, image, changes) {
  const tar = spawnSync('tar', ['-C', rootfs, '-cf', '-', '.'], { maxBuffer: 2 * 1024 * 1024 * 1024 });
  if (tar.status !== 0) throw new Error(`tar of ${rootfs} failed: ${tar.stderr}`);
  run('podman', ['import', ...changes.flatMap((change) => ['--change', change]), '-', image], { input: tar.stdout });
}

/** Imports the busybox image unless it exists. */
export function ensureBusyboxImage(log = console.log) {
  if (imageExists(BUSYBOX_IMAGE)) return;
  const rootfs = mkdtempSync(join(tmpdir(), 'prism-busybox-'));
  try {
    addBusybox(rootfs);
    importRootfs(rootfs, BUSYBOX_IMAGE, ['ENV PATH=/bin', 'CMD ["/bin/sh"]']);
    log(`base images: imported ${BUSYBOX_IMAGE} from busybox-static`);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

function findGoRoot() {
  for (const candidate of ['/usr/lib/go', '/usr/local/go']) {
    if (existsSync(join(candidate, 'bin', 'go'))) return realpathSync(candidate);
  }
  throw new Error('Go is needed to make the local Go builder image: apt-get install -y golang-go');
}

/**
 * Bumped when the Go builder image's make-up changes, so that a machine with an older one makes it again.
 * 2: no `ENV GOPROXY=off` (it overrode the GOPROXY build arg podman-build passes from the environment).
 */
const GO_BUILDER_REVISION = '2';
const REVISION_LABEL = 'io.prism.base-image.revision';

/** Imports the Go builder image (host Go toolchain + the libc the Debian go binary links) unless it exists. */
export function ensureGoBuilderImage(log = console.log) {
  if (imageExists(GO_BUILDER_IMAGE)) {
    const revision = spawnSync('podman', ['image', 'inspect', '--format', `{{index .Labels "${REVISION_LABEL}"}}`, GO_BUILDER_IMAGE], { encoding: 'utf8' }).stdout.trim();
    if (revision === GO_BUILDER_REVISION) return;
    log(`base images: ${GO_BUILDER_IMAGE} is an older make-up (revision ${revision || 'none'}); making it again`);
    run('podman', ['rmi', '--force', GO_BUILDER_IMAGE]);
  }
  const goRoot = findGoRoot();
  const rootfs = mkdtempSync(join(tmpdir(), 'prism-go-builder-'));
  try {
    addBusybox(rootfs);
    cpSync(goRoot, join(rootfs, 'usr', 'local', 'go'), { recursive: true, dereference: true });
    // The Debian go binary is dynamically linked; CGO is off, so the built plugins are static.
    copyLibc(rootfs);
    importRootfs(rootfs, GO_BUILDER_IMAGE, [
      'ENV PATH=/usr/local/go/bin:/bin',
      'ENV CGO_ENABLED=0',
      'ENV GOCACHE=/tmp/gocache',
      'ENV HOME=/tmp',
      // No network here: a build that needs a module needs a GOPROXY that is reachable (passed as a build arg).
      'ENV GOFLAGS=-mod=mod',
      'WORKDIR /src',
      `LABEL ${REVISION_LABEL}=${GO_BUILDER_REVISION}`,
    ]);
    log(`base images: imported ${GO_BUILDER_IMAGE} from the host's Go (${goRoot})`);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}


/** The libc and loader a Debian binary links (Go binaries built with cgo, like go and dlv). */
function copyLibc(rootfs) {
  for (const lib of ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2', '/lib/aarch64-linux-gnu/libc.so.6', '/lib/ld-linux-aarch64.so.1']) {
    if (!existsSync(lib)) continue;
    mkdirSync(join(rootfs, dirname(lib)), { recursive: true });
    cpSync(realpathSync(lib), join(rootfs, lib));
  }
}

/**
 * Imports the debug base image (busybox + dlv) unless it exists: the generated debug stage runs the plugin under
 * `dlv exec --headless`. dlv keeps its config under $XDG_CONFIG_HOME, which the nonroot user can write in /tmp.
 */
export function ensureDelveImage(log = console.log) {
  if (imageExists(DELVE_IMAGE)) return;
  const dlv = ['/usr/bin/dlv', '/usr/local/bin/dlv'].find((path) => existsSync(path));
  if (!dlv) throw new Error('Delve is needed to make the local debug image: apt-get install -y delve');
  const rootfs = mkdtempSync(join(tmpdir(), 'prism-delve-'));
  try {
    addBusybox(rootfs);
    // dlv writes its config under /tmp as the nonroot user: world-writable, whatever the umask made of it.
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
    cpSync(realpathSync(dlv), join(rootfs, 'usr', 'bin', 'dlv'));
    copyLibc(rootfs);
    importRootfs(rootfs, DELVE_IMAGE, ['ENV PATH=/usr/bin:/bin', 'ENV XDG_CONFIG_HOME=/tmp', 'CMD ["/bin/sh"]']);
    log(`base images: imported ${DELVE_IMAGE} from Debian's delve (${dlv})`);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}
