// Makes a fresh machine ready for the README's commands: Node version check, `npm ci` when node_modules is missing,
// and the system packages the real-podman layers need (podman, runc, catatonit, Go for the local builder image, busybox-static
// for the local base images). System packages are installed only when missing, only as root with apt-get (a Debian
// CI machine or container); anywhere else the script stops and says what to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const SYSTEM_PACKAGES = [
  { pkg: 'podman', present: () => which('podman') },
  { pkg: 'runc', present: () => which('runc') },
  // podman-run's pods: podman makes the pod's infra (pause) image locally from catatonit, with no registry.
  { pkg: 'catatonit', present: () => which('catatonit') || existsSync('/usr/libexec/podman/catatonit') },
  // Go for the local builder and Delve images: the machine's Go when there is one (PATH, or /usr/local/go, which
  // ensureSystemPackages puts on PATH); Debian's golang-go only when there is none.
  { pkg: 'golang-go', present: () => which('go') },
  { pkg: 'busybox-static', present: () => existsSync('/bin/busybox') || existsSync('/usr/bin/busybox') },
  // The e2e tests drive the status page in headless Chromium (puppeteer-core, executablePath).
  { pkg: 'chromium', present: () => which('chromium'), testsOnly: true },
  // The e2e tests push to a real OCI registry (the CNCF distribution server) on 127.0.0.1; the demo does not need it.
  { pkg: 'docker-registry', present: () => which('docker-registry'), testsOnly: true },
  // protoc: a test regenerates the gRPC plugin's committed Go code with the command its README gives.
  { pkg: 'protobuf-compiler', present: () => which('protoc'), testsOnly: true },
  // Go sources of a third-party module: the e2e tests make an offline GOPROXY from them.
  { pkg: 'golang-github-google-uuid-dev', present: () => existsSync('/usr/share/gocode/src/github.com/google/uuid/go.mod'), testsOnly: true },
];

function which(command) {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'which', command], { stdio: 'ignore' }).status === 0;
}

function run(file, args, options = {}) {
  console.log(`prereqs: ${file} ${args.join(' ')}`);
  const result = spawnSync(file, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new Error(`Node.js ${process.versions.node} is too old: nx-podman needs >=20.19 (it require()s ESM-only execa/chokidar).`);
  }
}

/** Runs `npm ci` in `root` when its dependencies are not installed. */
export function ensureNodeModules(root) {
  if (existsSync(join(root, 'node_modules', '.package-lock.json')) && existsSync(join(root, 'node_modules', 'nx'))) return;
  run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root });
}

/** Installs missing system packages (root + apt-get only), or explains what is missing. `tests`: also what only the tests need. */
export function ensureSystemPackages({ tests = false } = {}) {
  useInstalledGo();
  const missing = SYSTEM_PACKAGES.filter((entry) => (tests || !entry.testsOnly) && !entry.present()).map((entry) => entry.pkg);
  if (missing.length === 0) return;
  const canInstall = process.getuid?.() === 0 && which('apt-get');
  if (!canInstall) {
    throw new Error(
      `missing system packages: ${missing.join(', ')}. Install them (Debian/Ubuntu: sudo apt-get install -y ${missing.join(' ')}) and run again.`,
    );
  }
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** A Go installed from go.dev (/usr/local/go) but not on PATH: put it there for this process and its children. */
function useInstalledGo() {
  if (which('go') || !existsSync('/usr/local/go/bin/go')) return;
  process.env.PATH = `/usr/local/go/bin:${process.env.PATH ?? ''}`;
}
