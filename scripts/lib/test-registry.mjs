// A real OCI registry and CI-agent podman storages, for the e2e tests and the bench (shared like
// workspace-template.mjs): Debian's `docker-registry` (the CNCF distribution server) on 127.0.0.1 and a free port, its
// storage, config, registries.conf and auth files in a temp dir. Podman reaches it through `env` (registries.conf
// marking it insecure: plain HTTP on loopback; the auth file with the credentials).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_USER = 'nx-podman-e2e';
const PASSWORD = 'e2e-right-password';
// bcrypt of PASSWORD (made once with python3 `crypt`); the registry reads htpasswd files with bcrypt entries only.
const PASSWORD_BCRYPT = '$2b$10$abcdefghijklmnopqrstuuPEYqR97pV6PpWu3thXE97.1CrYrPBiq';

/** A TCP port on 127.0.0.1 that nothing listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const basicAuth = (password) => Buffer.from(`${REGISTRY_USER}:${password}`).toString('base64');

/** Starts the registry; `stop()` ends it and removes its files. */
export async function startRegistry() {
  if (spawnSync('sh', ['-c', 'command -v docker-registry']).status !== 0) {
    throw new Error('docker-registry is not installed: npm test installs it (apt-get install -y docker-registry).');
  }
  const dir = mkdtempSync(join(tmpdir(), 'nx-podman-registry-'));
  const host = `127.0.0.1:${await freePort()}`;
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'htpasswd'), `${REGISTRY_USER}:${PASSWORD_BCRYPT}\n`);
  const config = [
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
  ];
  writeFileSync(join(dir, 'config.yml'), `${config.join('\n')}\n`);
  writeFileSync(join(dir, 'registries.conf'), `unqualified-search-registries = []\n\n[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
  const authFile = (name, password) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ auths: { [host]: { auth: basicAuth(password) } } }));
    return path;
  };
  const env = { CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'), REGISTRY_AUTH_FILE: authFile('auth.json', PASSWORD) };
  const wrongAuthFile = authFile('wrong-auth.json', 'wrong-password');

  let output = '';
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk) => (output = `${output}${chunk}`.slice(-8192));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));

  // node:http without keep-alive: no socket outlives its request (fetch keeps them open for seconds).
  const get = (path, accept) =>
    new Promise((resolve, reject) => {
      const headers = { authorization: `Basic ${basicAuth(PASSWORD)}`, ...(accept && { accept }) };
      const request = httpGet(`http://${host}${path}`, { agent: false, timeout: 30_000, headers }, (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
      request.on('error', reject);
    });
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
  return { host, env, wrongAuthFile, get, stop };
}

/**
 * A podman image store of its own (another CI agent, a clean machine): a storage.conf in a temp dir for
 * CONTAINERS_STORAGE_CONF (everything that runs podman with `env` uses it), with the images of `baseImagesArchive`
 * loaded when given (on a real agent they come from a registry).
 */
export function agentStorage(name, baseImagesArchive = undefined) {
  const dir = mkdtempSync(join(tmpdir(), `nx-podman-agent-${name}-`));
  writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = "${join(dir, 'root')}"\nrunroot = "${join(dir, 'runroot')}"\n`);
  const env = { CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
  const podman = (args, extraEnv = {}) => {
    const result = spawnSync('podman', args, { encoding: 'utf8', env: { ...process.env, ...extraEnv, ...env }, timeout: 300_000 });
    return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  };
  const loaded = baseImagesArchive === undefined ? undefined : podman(['load', '--quiet', '--input', baseImagesArchive]);
  if (loaded && loaded.code !== 0) throw new Error(`podman load into agent ${name}'s storage failed: ${loaded.stderr}`);
  return {
    env,
    podman,
    remove() {
      // Not `podman system reset`: it removes the machine's networks too, which are not this store's.
      podman(['rm', '--all', '--force', '--time', '0']);
      podman(['rmi', '--all', '--force']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Saves `images` to an OCI archive in a new temp dir (load it into agent storages); `remove()` deletes it. */
export function saveImages(images) {
  const dir = mkdtempSync(join(tmpdir(), 'nx-podman-base-images-'));
  const path = join(dir, 'images.tar');
  const saved = spawnSync('podman', ['save', '--quiet', '--format', 'oci-archive', '--output', path, ...images], { encoding: 'utf8' });
  if (saved.status !== 0) throw new Error(`podman save ${images.join(' ')} failed: ${saved.stderr}`);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
