import { execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startLongRunning } from '../../scripts/lib/long-running.mjs';
import { removeBuildersOf, removeContainersAndPods } from '../../scripts/lib/podman-objects.mjs';
import { BUSYBOX_IMAGE, GO_BUILDER_IMAGE, NX_ENV, nxBin, prepareTemplate } from '../../scripts/lib/workspace-template.mjs';

/** Repository root. */
export const REPO_ROOT = join(__dirname, '..', '..');
/**
 * Where the e2e template workspace (with nx and the packed plugin installed) lives; shared by the test files of one
 * run. NX_PODMAN_E2E_TEMPLATE overrides it, so that two runs on one machine do not share it.
 */
export const TEMPLATE_DIR = process.env.NX_PODMAN_E2E_TEMPLATE ?? join(tmpdir(), 'nx-podman-e2e-template');
export { BUSYBOX_IMAGE, DELVE_IMAGE, GO_BUILDER_IMAGE } from '../../scripts/lib/workspace-template.mjs';

/** Packs the plugin and installs nx + the tarball into TEMPLATE_DIR. Called once, from global setup. */
export function prepareE2eTemplate(): void {
  prepareTemplate(TEMPLATE_DIR, { repoRoot: REPO_ROOT, name: 'e2e-workspace', stdio: 'inherit' });
}

/** A fresh Nx workspace in a temp dir, sharing the template's node_modules. */
export interface E2eWorkspace {
  root: string;
  /** Writes a file (workspace-relative), creating directories. */
  write(path: string, content: string): void;
  read(path: string): string;
  /** Runs `nx ...args`; never throws, returns exit code and combined output. */
  nx(args: string[], env?: Record<string, string>): { code: number; output: string };
  /** Starts a long-running `nx ...args` (watch-reload); the caller must `stop()` it. */
  spawnNx(args: string[], env?: Record<string, string>): LongRunning;
  /** Removes the workspace, and the live update builders a killed watcher of it left. */
  cleanup(): void;
}

/** A long-running process driven until a log line appears, then stopped with its whole process tree. */
export interface LongRunning {
  child: ChildProcess;
  output(): string;
  /** Resolves when `pattern` matches output written after `fromIndex` (default: anything so far). */
  waitFor(pattern: RegExp, timeoutMs?: number, fromIndex?: number): Promise<RegExpMatchArray>;
  /**
   * Sends SIGINT (or the given signal) to the process group like a terminal's Ctrl-C (`group: false`: to the child
   * alone) and waits for the exit code (128 + n for a signal); SIGKILLs the process group after 20 s.
   */
  stop(signal?: NodeJS.Signals, options?: { group?: boolean }): Promise<number>;
}

export function createE2eWorkspace(name: string, options: { plugins?: unknown[] } = {}): E2eWorkspace {
  if (!existsSync(join(TEMPLATE_DIR, 'node_modules', '@prism', 'nx-podman'))) {
    throw new Error(`e2e template missing at ${TEMPLATE_DIR}: run the e2e project (its globalSetup prepares it)`);
  }
  const root = join(tmpdir(), `nx-podman-e2e-${name}-${process.pid}-${Date.now()}`);
  mkdirSync(root, { recursive: true });
  symlinkSync(join(TEMPLATE_DIR, 'node_modules'), join(root, 'node_modules'));
  cpSync(join(TEMPLATE_DIR, 'package.json'), join(root, 'package.json'));
  writeFileSync(join(root, 'nx.json'), JSON.stringify({ analytics: false, plugins: options.plugins ?? ['@prism/nx-podman'] }, null, 2));
  writeFileSync(join(root, '.gitignore'), 'node_modules\n.nx\n');
  const env = (extra: Record<string, string> = {}) => ({ ...process.env, ...NX_ENV, ...extra });
  const nx = nxBin(root);
  return {
    root,
    write(path, content) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    read: (path) => readFileSync(join(root, path), 'utf8'),
    nx(args, extra) {
      try {
        const output = execFileSync('node', [nx, ...args], {
          cwd: root,
          env: env(extra),
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 256 * 1024 * 1024,
        });
        return { code: 0, output };
      } catch (error) {
        const e = error as { status?: number; stdout?: string; stderr?: string };
        return { code: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    },
    spawnNx: (args, extra) => spawnLongRunning('node', [nx, ...args], root, env(extra)),
    cleanup: () => {
      // The live update builders of a watcher the test SIGKILLed (it could not remove them itself).
      removeBuildersOf(root);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Spawns a process in its own process group (scripts/lib/long-running.mjs, shared with the demo and the bench). */
export function spawnLongRunning(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): LongRunning {
  const running = startLongRunning(file, args, { cwd, env, label: file });
  return {
    child: running.child,
    output: () => running.output(),
    waitFor: (pattern, timeoutMs = 120_000, fromIndex = 0) => running.waitFor(pattern, { from: fromIndex, timeoutMs }),
    stop: (signal = 'SIGINT', options = {}) => running.stop({ signal, group: options.group ?? true }),
  };
}

/** Removes containers and images by name; ignores missing ones. Use in afterAll/afterEach. */
export function removePodmanObjects({ containers = [], images = [] }: { containers?: string[]; images?: string[] }): void {
  // The containers, the ones a watcher's gate names after them (`-next`, `-old`), podman-run's pods `<name>-pod` and
  // the gate's `<name>-pod-<port>` (scripts/lib/podman-objects.mjs, shared with the bench); podman's usual 10 s to stop.
  removeContainersAndPods(containers, { timeSeconds: 10 });
  for (const image of images) {
    try {
      execFileSync('podman', ['rmi', '-f', image], { stdio: 'ignore' });
    } catch {
      // missing is fine
    }
  }
}

/**
 * `nx g @prism/nx-podman:plugin <name>` with this machine's local images (no registry): the Go builder made from the
 * host's Go, `scratch` for production, busybox (or `debugImage`) for debug. Fails with nx's output when it fails.
 */
export function generateLocalPlugin(
  ws: E2eWorkspace,
  name: string,
  options: { port: number; protocol?: 'grpc' | 'http'; debugImage?: string; delve?: 'install' | 'image' },
): void {
  expectSucceeded(
    ws.nx([
      'g',
      '@prism/nx-podman:plugin',
      name,
      `--port=${options.port}`,
      ...(options.protocol ? [`--protocol=${options.protocol}`] : []),
      `--builderImage=${GO_BUILDER_IMAGE}`,
      '--runtimeImage=scratch',
      `--debugImage=${options.debugImage ?? BUSYBOX_IMAGE}`,
      ...(options.delve ? [`--delve=${options.delve}`] : []),
      '--no-interactive',
    ]),
  );
}

/** Fails with the command's whole output (not just its exit code) when an `nx` run did not succeed. */
export function expectSucceeded(result: { code: number; output: string }): void {
  if (result.code !== 0) throw new Error(`expected exit 0, got ${result.code}; output:\n${result.output}`);
}

/** Lines of a long-running process's output after `from` that match `pattern`. */
export function linesAfter(watch: LongRunning, from: number, pattern: RegExp): string[] {
  return watch
    .output()
    .slice(from)
    .split('\n')
    .filter((line) => pattern.test(line));
}
