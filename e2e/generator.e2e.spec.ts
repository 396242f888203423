import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { choosePorts } from '../scripts/lib/ports.mjs';
import { grpcJson, grpcServices, pluginInfo } from './utils/grpc';
import { createE2eWorkspace, DELVE_IMAGE, expectSucceeded, GO_BUILDER_IMAGE, removePodmanObjects, type E2eWorkspace } from './utils/workspace';

// Unique per run: container <name>-plugin and images prism/<name>-plugin:* belong to this test only.
const NAME = `nxpgen${process.pid}`;
const REPO = `localhost/prism/${NAME}-plugin`;
const CONTAINERS = [`${NAME}-plugin`, `${NAME}-plugin-debug`];
const IMAGES = [`${REPO}:production`, `${REPO}:latest`, `${REPO}:debug`];

// Real Go builds in podman on a shared 2-core machine.
jest.setTimeout(600_000);

function podman(...args: string[]): string {
  return execFileSync('podman', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

describe('plugin generator (e2e: packed plugin, real Nx, real podman, real Go)', () => {
  let ws: E2eWorkspace;
  let port: number;

  beforeAll(async () => {
    // A port nothing listens on now (with its +1000 debug and +2000 Delve twins): the test does not depend on 9090 being free.
    const start = 19300 + (process.pid % 500);
    [port] = await choosePorts(1, { first: start, last: 30000, twinOffset: [1000, 2000] });
    ws = createE2eWorkspace('generator');
  });

  afterAll(() => {
    removePodmanObjects({ containers: CONTAINERS, images: IMAGES });
    ws?.cleanup();
  });

  it('generates core and a plugin with local images', () => {
    const result = ws.nx([
      'g',
      '@prism/nx-podman:plugin',
      NAME,
      `--port=${port}`,
      `--builderImage=${GO_BUILDER_IMAGE}`,
      '--runtimeImage=scratch',
      `--debugImage=${DELVE_IMAGE}`,
      '--delve=image',
      '--no-interactive',
    ]);

    expect(result.output).toContain(`created ${NAME} in plugins/${NAME} and the core module in plugins/core (port ${port})`);
    expectSucceeded(result);
    for (const file of [
      'core/go.mod',
      'core/server.go',
      `${NAME}/go.mod`,
      `${NAME}/go.sum`,
      `${NAME}/main.go`,
      `${NAME}/proto/plugin/v1/plugin.pb.go`,
      `${NAME}/Containerfile`,
      `${NAME}/project.json`,
      '.containerignore',
    ]) {
      expect(existsSync(join(ws.root, 'plugins', file))).toBe(true);
    }
    // The workspace's .gitignore already ignores .nx: init says so and leaves the file alone.
    expect(result.output).toContain('skipped: .gitignore already ignores .nx/podman');
    expect(ws.read('.gitignore')).toBe('node_modules\n.nx\n');
  });

  it('writes nothing with --dry-run', () => {
    const result = ws.nx(['g', '@prism/nx-podman:plugin', `${NAME}dry`, '--dry-run', '--no-interactive']);

    expectSucceeded(result);
    expect(result.output).toMatch(new RegExp(`CREATE plugins/${NAME}dry/Containerfile`));
    expect(existsSync(join(ws.root, 'plugins', `${NAME}dry`))).toBe(false);
  });

  it('refuses to generate the same plugin again and leaves its files alone', () => {
    const main = ws.read(`plugins/${NAME}/main.go`);

    const result = ws.nx(['g', '@prism/nx-podman:plugin', NAME, '--no-interactive']);

    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`A project named "${NAME}" already exists at "plugins/${NAME}"`);
    expect(ws.read(`plugins/${NAME}/main.go`)).toBe(main);
  });

  it('gets its targets from inference, with the generated run options merged in', () => {
    const result = ws.nx(['show', 'project', NAME, '--json']);
    expectSucceeded(result);
    const project = JSON.parse(result.output.slice(result.output.indexOf('{')));

    expect(project.tags).toEqual(['plugin']);
    expect(project.targets['podman-build']).toMatchObject({
      executor: '@prism/nx-podman:podman-build',
      options: { file: `plugins/${NAME}/Containerfile`, context: 'plugins' },
    });
    expect(project.targets['podman-run']).toMatchObject({
      executor: '@prism/nx-podman:podman-run',
      options: { ports: [`${port}`], healthCheck: { grpc: `127.0.0.1:${port}` } },
      configurations: { debug: { stage: 'debug', ports: [`${port + 1000}:${port}`, `${port + 2000}:2345`] } },
    });
    expect(project.targets['watch-reload']).toMatchObject({ executor: '@prism/nx-podman:watch-reload' });
  });

  it('builds (modules through the Go module proxy) and runs the production image: healthy by the gRPC health check; grpcurl gets SERVING, the services and Info', async () => {
    const build = ws.nx(['run', `${NAME}:podman-build`]);
    expectSucceeded(build);
    expect(podman('image', 'exists', `${REPO}:production`)).toBe('');

    const run = ws.nx(['run', `${NAME}:podman-run`]);
    expect(run.output).toMatch(new RegExp(`INFO plugin healthy plugin=${NAME} duration=\\S+ check=grpc`));
    expectSucceeded(run);

    expect(grpcJson(port, 'grpc.health.v1.Health/Check')).toEqual({ status: 'SERVING' });
    expect(grpcServices(port)).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'prism.plugin.v1.Plugin',
    ]);
    expect(pluginInfo(port)).toEqual({ plugin: NAME, core: '0.1.0', message: `hello from ${NAME}` });
    // The image's own probe (the -healthcheck flag asks the health service from inside the container).
    expect(spawnSync('podman', ['exec', `${NAME}-plugin`, '/plugin', '-healthcheck']).status).toBe(0);
    // Nonroot: the numeric user of the Containerfile.
    expect(podman('inspect', '--format', '{{.Config.User}}', `${NAME}-plugin`)).toBe('65532:65532');
  });

  it('stops cleanly on SIGTERM (exit 0, not killed after the stop timeout)', () => {
    podman('stop', '--time', '30', `${NAME}-plugin`);

    expect(podman('inspect', '--format', '{{.State.ExitCode}}', `${NAME}-plugin`)).toBe('0');
    // The plugin logs to stderr; podman logs replays it there.
    const logs = spawnSync('podman', ['logs', `${NAME}-plugin`], { encoding: 'utf8' });
    expect(logs.stderr).toMatch(new RegExp(`INFO shutting down plugin=${NAME}`));
    expect(logs.stderr).toMatch(new RegExp(`INFO stopped plugin=${NAME}`));
  });

  it('builds and runs the debug image beside it, on the debug port, under Delve, with a shell', async () => {
    expectSucceeded(ws.nx(['run', `${NAME}:podman-build:debug`]));
    const run = ws.nx(['run', `${NAME}:podman-run:debug`]);
    expectSucceeded(run);

    expect(pluginInfo(port + 1000)).toMatchObject({ plugin: NAME });
    expect(podman('exec', `${NAME}-plugin-debug`, 'sh', '-c', 'echo $LOG_LEVEL')).toBe('debug');
    expect(podman('inspect', '--format', '{{.Config.Entrypoint}}', `${NAME}-plugin-debug`)).toMatch(/dlv.*exec.*\/plugin.*--headless/);
    expect(podman('port', `${NAME}-plugin-debug`)).toContain(`2345/tcp -> 127.0.0.1:${port + 2000}`);
  });
});
