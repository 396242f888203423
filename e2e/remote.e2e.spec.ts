import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createE2eWorkspace, type E2eWorkspace, expectSucceeded, generateLocalPlugin, removePodmanObjects } from './utils/workspace';
import { freePort } from './utils/registry';
import { describeWithPodman } from '../packages/nx-podman/src/testing/podman-available';

/**
 * The big-build-box path: podman-build and podman-run through a podman service (`podman system service` on a unix
 * socket in a temp dir), reached with the `connection` option naming a `podman system connection add` entry in a
 * containers.conf of the test's own (CONTAINERS_CONF).
 */
const NAME = `rm${process.pid % 100000}`;
const CONNECTION = 'nx-podman-e2e';

jest.setTimeout(600_000);

describeWithPodman('remote e2e: build and run through a podman service with the connection option', () => {
  let ws: E2eWorkspace;
  let dir: string;
  let service: ChildProcess | undefined;
  let env: Record<string, string>;
  let port: number;
  const socket = () => join(dir, 'podman.sock');

  const startService = async () => {
    service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket()}`], { env: { ...process.env, ...env }, stdio: 'ignore' });
    for (let tries = 0; tries < 100 && !existsSync(socket()); tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(spawnSync('podman', ['--remote', '--connection', CONNECTION, 'version'], { env: { ...process.env, ...env } }).status).toBe(0);
  };
  const stopService = async () => {
    if (!service || service.exitCode !== null) return;
    const exited = new Promise((resolve) => service!.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
    rmSync(socket(), { force: true });
  };

  beforeAll(async () => {
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'nx-podman-remote-'));
    // A containers.conf of our own: the machine's (or the test run's CONTAINERS_CONF) plus the connection entry.
    const conf = join(dir, 'containers.conf');
    if (process.env.CONTAINERS_CONF) copyFileSync(process.env.CONTAINERS_CONF, conf);
    env = { CONTAINERS_CONF: conf };
    execFileSync('podman', ['system', 'connection', 'add', CONNECTION, `unix://${socket()}`], { env: { ...process.env, ...env } });
    expect(readFileSync(conf, 'utf8')).toContain(`unix://${socket()}`);
    await startService();

    ws = createE2eWorkspace('remote');
    generateLocalPlugin(ws, NAME, { port, protocol: 'http' });
    const projectJson = JSON.parse(ws.read(`plugins/${NAME}/project.json`)) as { targets: Record<string, { options?: Record<string, unknown> }> };
    projectJson.targets['podman-build'] = { options: { connection: CONNECTION } };
    projectJson.targets['podman-run'] = {
      ...projectJson.targets['podman-run'],
      options: { ...projectJson.targets['podman-run']?.options, connection: CONNECTION },
    };
    ws.write(`plugins/${NAME}/project.json`, JSON.stringify(projectJson, null, 2));
  });

  afterAll(async () => {
    await stopService();
    removePodmanObjects({ containers: [`${NAME}-plugin`], images: ['production', 'latest'].map((tag) => `localhost/prism/${NAME}-plugin:${tag}`) });
    ws?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds through the service: the podman command names the connection', () => {
    const result = ws.nx(['run', `${NAME}:podman-build`, '--verbose'], env);
    expectSucceeded(result);
    expect(result.output).toMatch(new RegExp(`DEBUG podman command plugin=${NAME} command="podman --remote --connection ${CONNECTION} build `));
    expect(result.output).toMatch(new RegExp(`INFO build completed plugin=${NAME}`));
    // The service and local podman share this machine's storage: the image is there.
    expect(spawnSync('podman', ['image', 'exists', `localhost/prism/${NAME}-plugin:production`]).status).toBe(0);
  });

  it('runs through the service, healthy, serving the plugin', async () => {
    const result = ws.nx(['run', `${NAME}:podman-run`, '--verbose'], env);
    expectSucceeded(result);
    expect(result.output).toMatch(new RegExp(`INFO plugin healthy plugin=${NAME}`));
    const answer = (await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).json()) as Record<string, string>;
    expect(answer.message).toBe(`hello from ${NAME}`);
  });

  it('a service that is down: a clear error naming the connection and how to check it', async () => {
    await stopService();
    try {
      const result = ws.nx(['run', `${NAME}:podman-build`, '--force'], env);
      expect(result.code).not.toBe(0);
      expect(result.output).toContain(`podman version failed (connection "${CONNECTION}")`);
      expect(result.output).toContain(`podman --remote --connection ${CONNECTION} version --format json`);
    } finally {
      await startService();
    }
  });
});
