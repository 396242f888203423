import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real OCI registry for the e2e tests: Debian's `docker-registry` (the CNCF distribution server) on 127.0.0.1 and a
 * free port, its storage, config, registries.conf and auth files in a temp dir. Podman reaches it through `env`
 * (registries.conf marking it insecure: plain HTTP on loopback; the auth file with the credentials).
 */
export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** For podman and nx: CONTAINERS_REGISTRIES_CONF and REGISTRY_AUTH_FILE (right credentials). */
  env: Record<string, string>;
  /** An auth file with a wrong password for this registry. */
  wrongAuthFile: string;
  /** The tags of a repository (`GET /v2/<name>/tags/list`); [] when the repository does not exist. */
  tags(repository: string): Promise<string[]>;
  /** A manifest or image index (OCI or Docker v2) by tag or digest. */
  manifest(repository: string, reference: string): Promise<RegistryManifest>;
  /** A blob by digest, as stored (a layer is gzip'ed tar). */
  blob(repository: string, digest: string): Promise<Buffer>;
  stop(): Promise<void>;
}

export interface RegistryManifest {
  mediaType?: string;
  /** An index / manifest list. */
  manifests?: { digest: string; platform?: { os: string; architecture: string } }[];
  /** An image manifest. */
  layers?: { digest: string; mediaType: string }[];
  config?: { digest: string };
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export const REGISTRY_USER = 'nx-podman-e2e';
const PASSWORD = 'e2e-right-password';
// bcrypt of PASSWORD (made once with python3 `crypt`); the registry reads htpasswd files with bcrypt entries only.
const PASSWORD_BCRYPT = '$2b$10$abcdefghijklmnopqrstuuPEYqR97pV6PpWu3thXE97.1CrYrPBiq';

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const basicAuth = (password: string) => Buffer.from(`${REGISTRY_USER}:${password}`).toString('base64');

export async function startRegistry(): Promise<TestRegistry> {
  const which = spawnSync('sh', ['-c', 'command -v docker-registry'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('docker-registry is not installed: npm test installs it (apt-get install -y docker-registry).');
  const dir = mkdtempSync(join(tmpdir(), 'nx-podman-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'htpasswd'), `${REGISTRY_USER}:${PASSWORD_BCRYPT}\n`);
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      `  filesystem: { rootdirectory: ${join(dir, 'data')} }`,
      '  delete: { enabled: true }',
      'http:',
      `  addr: ${host}`,
      'auth:',
      '  htpasswd:',
      '    realm: nx-podman-e2e',
      `    path: ${join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'registries.conf'), `unqualified-search-registries = []\n\n[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
  const authFile = (name: string, password: string) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ auths: { [host]: { auth: basicAuth(password) } } }));
    return path;
  };
  const env = { CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'), REGISTRY_AUTH_FILE: authFile('auth.json', PASSWORD) };
  const wrongAuthFile = authFile('wrong-auth.json', 'wrong-password');

  let output = '';
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (output = `${output}${chunk}`.slice(-8192)));
  child.stderr!.on('data', (chunk: Buffer) => (output = `${output}${chunk}`.slice(-8192)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  // node:http without keep-alive: no socket outlives a test (fetch keeps them open for seconds).
  const get = (path: string, accept?: string) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const request = httpGet(`http://${host}${path}`, { agent: false, timeout: 30_000, headers: { authorization: `Basic ${basicAuth(PASSWORD)}`, ...(accept && { accept }) } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
      request.on('error', reject);
    });
  const ok = async (path: string, accept?: string) => {
    const answer = await get(path, accept);
    if (answer.status !== 200) throw new Error(`GET ${path} from the registry answered ${answer.status}: ${answer.body.toString()}`);
    return answer.body;
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  for (let tries = 0; ; tries++) {
    const answer = await get('/v2/').catch(() => undefined);
    if (answer?.status === 200) break;
    if (child.exitCode !== null || tries > 100) {
      await stop();
      throw new Error(`docker-registry did not start on ${host}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    host,
    env,
    wrongAuthFile,
    async tags(repository) {
      const answer = await get(`/v2/${repository}/tags/list`);
      if (answer.status === 404) return [];
      const body = JSON.parse(answer.body.toString()) as { tags?: string[] | null };
      return [...(body.tags ?? [])].sort();
    },
    manifest: async (repository, reference) => JSON.parse((await ok(`/v2/${repository}/manifests/${reference}`, MANIFEST_TYPES)).toString()) as RegistryManifest,
    blob: (repository, digest) => ok(`/v2/${repository}/blobs/${digest}`),
    stop,
  };
}

/**
 * A CI agent's own podman image store: a storage.conf in a temp dir for CONTAINERS_STORAGE_CONF (everything that runs
 * podman with `env` uses it), with the local base images loaded (on a real agent they come from a registry).
 */
export interface AgentStorage {
  env: Record<string, string>;
  /** podman with this storage. */
  podman(args: string[]): { code: number; stdout: string; stderr: string };
  remove(): void;
}

export function agentStorage(name: string, baseImagesArchive: string): AgentStorage {
  const dir = mkdtempSync(join(tmpdir(), `nx-podman-agent-${name}-`));
  writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = "${join(dir, 'root')}"\nrunroot = "${join(dir, 'runroot')}"\n`);
  const env = { CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
  const podman = (args: string[]) => {
    const result = spawnSync('podman', args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
    return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  };
  const loaded = podman(['load', '--quiet', '--input', baseImagesArchive]);
  if (loaded.code !== 0) throw new Error(`podman load into agent ${name}'s storage failed: ${loaded.stderr}`);
  return {
    env,
    podman,
    remove() {
      podman(['rm', '--all', '--force', '--time', '0']);
      podman(['system', 'reset', '--force']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** podman on a storage of its own (`--root`/`--runroot` in a temp dir): a clean machine, or another CI agent. */
export interface SeparateStorage {
  podman(args: string[], env?: Record<string, string>): { code: number; stdout: string; stderr: string };
  /** `--root`/`--runroot` arguments for podman (global flags). */
  flags: string[];
  remove(): void;
}

export function separateStorage(name: string): SeparateStorage {
  const dir = mkdtempSync(join(tmpdir(), `nx-podman-storage-${name}-`));
  const flags = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot')];
  const podman = (args: string[], env: Record<string, string> = {}) => {
    const result = spawnSync('podman', [...flags, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
    return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  };
  return {
    podman,
    flags,
    remove() {
      podman(['rm', '--all', '--force', '--time', '0']);
      podman(['system', 'reset', '--force']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
