import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Repository root. */
export const REPO_ROOT = join(__dirname, '..', '..');
/**
 * Where the e2e template workspace (with nx and the packed plugin installed) lives; shared by the test files of one
 * run. NX_PODMAN_E2E_TEMPLATE overrides it, so that two runs on one machine do not share it.
 */
export const TEMPLATE_DIR = process.env.NX_PODMAN_E2E_TEMPLATE ?? join(tmpdir(), 'nx-podman-e2e-template');
export const GO_BUILDER_IMAGE = 'localhost/prism/go-builder:1.19';
export const BUSYBOX_IMAGE = 'localhost/prism/busybox:latest';

/** Environment for every Nx command in e2e: no daemon, no analytics prompts, no TUI. */
export const E2E_ENV: Record<string, string> = {
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  NX_SKIP_NX_CACHE: 'true',
  NX_PREFER_NODE_STRIP_TYPES: 'false',
  CI: 'true',
  FORCE_COLOR: '0',
};

/** Packs the plugin and installs nx + the tarball into TEMPLATE_DIR. Called once, from global setup. */
export function prepareE2eTemplate(): void {
  rmSync(TEMPLATE_DIR, { recursive: true, force: true });
  mkdirSync(TEMPLATE_DIR, { recursive: true });
  const out = execFileSync('npm', ['run', '--silent', 'package', '--', '--out', TEMPLATE_DIR], { cwd: REPO_ROOT, encoding: 'utf8' });
  const tarball = out.trim().split('\n').pop()!;
  if (!existsSync(tarball)) throw new Error(`npm run package did not print a tarball path (got "${tarball}")`);
  const rootPkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  writeFileSync(
    join(TEMPLATE_DIR, 'package.json'),
    JSON.stringify(
      {
        name: 'e2e-workspace',
        private: true,
        devDependencies: {
          nx: rootPkg.devDependencies.nx,
          '@nx/devkit': rootPkg.devDependencies['@nx/devkit'],
          '@prism/nx-podman': `file:${tarball}`,
        },
      },
      null,
      2,
    ),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: TEMPLATE_DIR, stdio: 'inherit' });
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
  cleanup(): void;
}

/** A long-running process driven until a log line appears, then stopped with its whole process tree. */
export interface LongRunning {
  child: ChildProcess;
  output(): string;
  /** Resolves when `pattern` matches output written after `fromIndex` (default: anything so far). */
  waitFor(pattern: RegExp, timeoutMs?: number, fromIndex?: number): Promise<RegExpMatchArray>;
  /** Sends SIGINT (or the given signal) and waits for exit; SIGKILLs the process group after 20 s. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function createE2eWorkspace(name: string, options: { plugins?: unknown[] } = {}): E2eWorkspace {
  if (!existsSync(join(TEMPLATE_DIR, 'node_modules', '@prism', 'nx-podman'))) {
    throw new Error(`e2e template missing at ${TEMPLATE_DIR}: run the e2e project (its globalSetup prepares it)`);
  }
  const root = join(tmpdir(), `nx-podman-e2e-${name}-${process.pid}-${Date.now()}`);
  mkdirSync(root, { recursive: true });
  symlinkSync(join(TEMPLATE_DIR, 'node_modules'), join(root, 'node_modules'));
  cpSync(join(TEMPLATE_DIR, 'package.json'), join(root, 'package.json'));
  writeFileSync(
    join(root, 'nx.json'),
    JSON.stringify({ analytics: false, plugins: options.plugins ?? ['@prism/nx-podman'] }, null, 2),
  );
  writeFileSync(join(root, '.gitignore'), 'node_modules\n.nx\n');
  const env = (extra: Record<string, string> = {}) => ({ ...process.env, ...E2E_ENV, ...extra });
  // nx 24 ships its CLI at dist/bin/nx.js; read the path from its package.json so a layout change does not break e2e.
  const nxPackage = JSON.parse(readFileSync(join(TEMPLATE_DIR, 'node_modules', 'nx', 'package.json'), 'utf8')) as { bin: { nx: string } };
  const nxBin = join(root, 'node_modules', 'nx', nxPackage.bin.nx);
  return {
    root,
    write(path, content) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    read: (path) => readFileSync(join(root, path), 'utf8'),
    nx(args, extra) {
      try {
        const output = execFileSync('node', [nxBin, ...args], { cwd: root, env: env(extra), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
        return { code: 0, output };
      } catch (error) {
        const e = error as { status?: number; stdout?: string; stderr?: string };
        return { code: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    },
    spawnNx: (args, extra) => spawnLongRunning('node', [nxBin, ...args], root, env(extra)),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Spawns a process in its own process group so that stop() can reach every descendant. */
export function spawnLongRunning(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): LongRunning {
  const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    waitFor(pattern, timeoutMs = 120_000, fromIndex = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = text.slice(fromIndex).match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; output so far:\n${text.slice(-4000)}`));
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          const match = text.slice(fromIndex).match(pattern);
          if (match) resolve(match);
          else reject(new Error(`process exited while waiting for ${pattern}; output:\n${text.slice(-4000)}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.on('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 20_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

/** Removes containers and images by name; ignores missing ones. Use in afterAll/afterEach. */
export function removePodmanObjects({ containers = [], images = [] }: { containers?: string[]; images?: string[] }): void {
  if (containers.length) execFileSync('podman', ['rm', '-f', '--ignore', ...containers], { stdio: 'ignore' });
  for (const image of images) {
    try {
      execFileSync('podman', ['rmi', '-f', image], { stdio: 'ignore' });
    } catch {
      // missing is fine
    }
  }
}

/** Fails with the command's whole output (not just its exit code) when an `nx` run did not succeed. */
export function expectSucceeded(result: { code: number; output: string }): void {
  if (result.code !== 0) throw new Error(`expected exit 0, got ${result.code}; output:\n${result.output}`);
}
