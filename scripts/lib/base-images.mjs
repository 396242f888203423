// Base images made locally, for machines that reach no container registry.
//   localhost/prism/busybox:latest            busybox-static rootfs: a shell, httpd, nc (debug stage, test fixtures)
//   localhost/prism/go-builder:<go version>   the host's Go toolchain (whatever `go env GOROOT` says) + busybox:
//                                             stands in for golang:1.x, named after the Go it holds (e.g. 1.26.8)
//   localhost/prism/delve:<delve version>     busybox + a static dlv built from its module (go install through the
//                                             module proxy, at DELVE_VERSION): the debug stage's base
// `podman import` of a rootfs tarball needs no registry and takes seconds.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const BUSYBOX_IMAGE = 'localhost/prism/busybox:latest';
/** The host's Go: its GOROOT and version (`1.26.8`), read once from `go env`. */
export const HOST_GO = readHostGo();
export const GO_BUILDER_IMAGE = `localhost/prism/go-builder:${HOST_GO.version}`;
/** The Delve release built into the local debug image; it must support the Go in use (Delve 1.27: Go 1.24-1.26). */
export const DELVE_VERSION = 'v1.27.2';
export const DELVE_IMAGE = `localhost/prism/delve:${DELVE_VERSION.slice(1)}`;
const APPLETS = [
  'sh',
  'ls',
  'cat',
  'echo',
  'sleep',
  'httpd',
  'wget',
  'nc',
  'env',
  'mkdir',
  'rm',
  'cp',
  'mv',
  'ps',
  'kill',
  'true',
  'false',
  'test',
  'grep',
  'sed',
  'tar',
  'id',
  'chmod',
  'touch',
  'find',
  'head',
  'tail',
];

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

/** GOROOT and version of the `go` on PATH (or /usr/local/go); `version` is `unknown` when there is no Go. */
function readHostGo() {
  for (const go of ['go', '/usr/local/go/bin/go']) {
    const result = spawnSync(go, ['env', 'GOROOT', 'GOVERSION'], { encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local' } });
    if (result.status !== 0) continue;
    const [goRoot, goVersion] = result.stdout.trim().split('\n');
    return { go, goRoot: realpathSync(goRoot), version: goVersion.replace(/^go/, '') };
  }
  return { go: undefined, goRoot: undefined, version: 'unknown' };
}

function requireGo() {
  if (!HOST_GO.goRoot) throw new Error('Go is needed to make the local base images: install Go (https://go.dev/dl) or apt-get install -y golang-go');
  return HOST_GO;
}

/**
 * Bumped when the Go builder image's make-up changes, so that a machine with an older one makes it again.
 * 2: no `ENV GOPROXY=off` (it overrode the GOPROXY build arg podman-build passes from the environment).
 * 3: the host's CA certificates, so that `go mod download` in a RUN step reaches the module proxy over TLS (as in the
 *    official golang images, which carry Debian's ca-certificates).
 */
const GO_BUILDER_REVISION = '3';
const REVISION_LABEL = 'io.prism.base-image.revision';

/** Imports the Go builder image (host Go toolchain + the libc the Debian go binary links) unless it exists. */
export function ensureGoBuilderImage(log = console.log) {
  if (imageExists(GO_BUILDER_IMAGE)) {
    const revision = spawnSync('podman', ['image', 'inspect', '--format', `{{index .Labels "${REVISION_LABEL}"}}`, GO_BUILDER_IMAGE], {
      encoding: 'utf8',
    }).stdout.trim();
    if (revision === GO_BUILDER_REVISION) return;
    log(`base images: ${GO_BUILDER_IMAGE} is an older make-up (revision ${revision || 'none'}); making it again`);
    run('podman', ['rmi', '--force', GO_BUILDER_IMAGE]);
  }
  const { goRoot } = requireGo();
  const rootfs = mkdtempSync(join(tmpdir(), 'prism-go-builder-'));
  try {
    addBusybox(rootfs);
    cpSync(goRoot, join(rootfs, 'usr', 'local', 'go'), { recursive: true, dereference: true });
    // A Debian go binary is dynamically linked (the official one is static); CGO is off, so the built plugins are static.
    copyLibc(rootfs);
    copyCaCertificates(rootfs);
    importRootfs(rootfs, GO_BUILDER_IMAGE, [
      'ENV PATH=/usr/local/go/bin:/bin',
      'ENV CGO_ENABLED=0',
      'ENV GOCACHE=/tmp/gocache',
      'ENV HOME=/tmp',
      'ENV GOFLAGS=-mod=mod',
      'WORKDIR /src',
      `LABEL ${REVISION_LABEL}=${GO_BUILDER_REVISION}`,
    ]);
    log(`base images: imported ${GO_BUILDER_IMAGE} from the host's Go (${goRoot})`);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

/**
 * The host's CA bundle as /etc/ssl/certs/ca-certificates.crt (where Go looks first): without it a RUN step reaches the
 * module proxy but fails "x509: certificate signed by unknown authority" (a verified fact on the project's machines).
 */
function copyCaCertificates(rootfs) {
  const bundle = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'].find((path) => existsSync(path));
  if (!bundle) return;
  mkdirSync(join(rootfs, 'etc', 'ssl', 'certs'), { recursive: true });
  cpSync(realpathSync(bundle), join(rootfs, 'etc', 'ssl', 'certs', 'ca-certificates.crt'));
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
 * `dlv exec --headless`. dlv is built on the host from its module (`go install` through the module proxy, static:
 * CGO off), the same way the generated Containerfile's `delve=install` stage builds it. dlv keeps its config under
 * $XDG_CONFIG_HOME, which the nonroot user can write in /tmp.
 */
export function ensureDelveImage(log = console.log) {
  if (imageExists(DELVE_IMAGE)) return;
  const { go } = requireGo();
  const rootfs = mkdtempSync(join(tmpdir(), 'prism-delve-'));
  const gobin = join(rootfs, 'usr', 'bin');
  try {
    addBusybox(rootfs);
    // dlv writes its config under /tmp as the nonroot user: world-writable, whatever the umask made of it.
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    mkdirSync(gobin, { recursive: true });
    const started = Date.now();
    run(go, ['install', `github.com/go-delve/delve/cmd/dlv@${DELVE_VERSION}`], {
      env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '' },
    });
    importRootfs(rootfs, DELVE_IMAGE, ['ENV PATH=/usr/bin:/bin', 'ENV XDG_CONFIG_HOME=/tmp', 'CMD ["/bin/sh"]']);
    log(`base images: imported ${DELVE_IMAGE} (dlv built from github.com/go-delve/delve@${DELVE_VERSION} in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}
