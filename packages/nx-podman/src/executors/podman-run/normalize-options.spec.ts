import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerRunSpec } from '../../testing/container-run-spec';
import { createTempDir } from '../../testing/temp-dir';
import { normalizePodmanRunOptions, PodmanRunOptionsError } from './normalize-options';
import type { PodmanRunExecutorSchema } from './schema';

const ctx = { projectName: 'postgres', projectRoot: 'plugins/postgres', workspaceRoot: '/ws' };
const normalize = (options: PodmanRunExecutorSchema) => normalizePodmanRunOptions(options, ctx);
const errorOf = (options: PodmanRunExecutorSchema): string => {
  try {
    normalize(options);
  } catch (error) {
    expect(error).toBeInstanceOf(PodmanRunOptionsError);
    return (error as Error).message;
  }
  throw new Error('expected normalizePodmanRunOptions to throw');
};

describe('normalizePodmanRunOptions', () => {
  it('applies the defaults', () => {
    const options = normalize({});
    expect(options).toEqual({
      project: 'postgres',
      stage: 'production',
      workspaceRoot: '/ws',
      connection: { podman: 'podman', remote: false, connection: undefined },
      image: undefined,
      container: containerRunSpec({ pod: 'postgres-plugin-pod' }),
      health: { check: { kind: 'running', graceMs: 2000 }, timeoutMs: 30_000, intervalMs: 1000 },
      rollback: true,
    });
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(options.container.env)).toBe(true);
  });

  it('names the debug container <project>-plugin-debug; `name` overrides', () => {
    expect(normalize({ stage: 'debug' }).container.name).toBe('postgres-plugin-debug');
    expect(normalize({ stage: 'debug', name: 'pg' }).container.name).toBe('pg');
  });

  it('puts the container in its own pod <name>-pod, unless the network is set up otherwise or "pod" is false', () => {
    expect(normalize({ stage: 'debug' }).container.pod).toBe('postgres-plugin-debug-pod');
    expect(normalize({ network: 'prism' }).container.pod).toBe('postgres-plugin-pod');
    expect(normalize({ pod: false }).container.pod).toBeUndefined();
    for (const network of ['host', 'none', 'container:db', 'ns:/run/netns/x']) expect(normalize({ network }).container.pod).toBeUndefined();
    for (const extraArgs of [['-p', '8080:80'], ['--publish=8080:80'], ['--add-host', 'db:10.0.0.2'], ['--dns=1.1.1.1'], ['--pod', 'mine']]) {
      expect(normalize({ extraArgs }).container.pod).toBeUndefined();
    }
    expect(normalize({ extraArgs: ['--init', '--memory', '256m'] }).container.pod).toBe('postgres-plugin-pod');
  });

  it('"pod": true with a network set up otherwise fails naming both options and the fix', () => {
    expect(errorOf({ pod: true, network: 'host' })).toMatch(/"pod".*"network": "host" leaves no network for a pod to hold\. Set "pod" to false/s);
    expect(errorOf({ pod: true, extraArgs: ['--dns', '1.1.1.1'] })).toMatch(/"pod".*"extraArgs" has "--dns", which podman takes only on the pod/s);
    expect(errorOf({ pod: 'yes' as never })).toMatch(/"pod".*Expected true or false/s);
  });

  it('binds ports to 127.0.0.1 unless a host address is given', () => {
    expect(normalize({ ports: ['9090', 2345, '0.0.0.0:8080:80'] }).container.ports).toEqual(['127.0.0.1:9090:9090', '127.0.0.1:2345:2345', '0.0.0.0:8080:80']);
  });

  it('connection implies remote', () => {
    expect(normalize({ connection: 'prod' }).connection).toEqual({ podman: 'podman', remote: true, connection: 'prod' });
  });

  it('stringifies env values and checks names', () => {
    expect(normalize({ env: { PORT: 9090, DEBUG: true, URL: 'x' } }).container.env).toEqual({ PORT: '9090', DEBUG: 'true', URL: 'x' });
  });

  it('never puts an env value in an error message', () => {
    const message = errorOf({ env: { GOOD: 'fine', 'BAD-NAME': 'super-secret-1' } });
    expect(message).toContain('"BAD-NAME"');
    expect(message).not.toContain('super-secret-1');
    const typeMessage = errorOf({ env: { TOKEN: { nested: 'super-secret-2' } } as never });
    expect(typeMessage).toContain('TOKEN');
    expect(typeMessage).not.toContain('super-secret-2');
  });

  it('resolves relative volume host paths and env files against the workspace root; named volumes stay', () => {
    const dir = createTempDir();
    try {
      writeFileSync(join(dir.path, '.env.local'), 'A=1\n');
      const options = normalizePodmanRunOptions(
        { volumes: ['./data:/data:ro', 'cache:/cache', '/abs:/abs', 'conf/x.yaml:/etc/x.yaml'], envFile: '.env.local' },
        { ...ctx, workspaceRoot: dir.path },
      );
      expect(options.container.volumes).toEqual([`${dir.path}/data:/data:ro`, 'cache:/cache', '/abs:/abs', `${dir.path}/conf/x.yaml:/etc/x.yaml`]);
      expect(options.container.envFiles).toEqual([join(dir.path, '.env.local')]);
    } finally {
      dir.cleanup();
    }
  });

  it.each<[string, PodmanRunExecutorSchema, RegExp]>([
    ['ports', { ports: ['http'] }, /"ports": "http"\. "http" is not a port mapping \(expected "9090", "8080:9090" or "0\.0\.0\.0:9090:9090"\)/],
    ['ports', { ports: ['localhost:80:80'] }, /"localhost" in "localhost:80:80" is not an IPv4 address/],
    ['envFile', { envFile: 'missing.env' }, /"envFile": "missing\.env"\. No such file at \/ws\/missing\.env/],
    ['labels', { labels: { 'io.prism.nx-podman.stage': 'x' } }, /prefix is reserved/],
    [
      'command',
      { command: 'serve --port 1' as never },
      /"command": "serve --port 1"\. Expected an array of strings \(the command is not run through a shell\)/,
    ],
    ['extraArgs', { extraArgs: '--init' as never }, /"extraArgs": "--init"\. Expected an array of strings/],
    ['stopTimeout', { stopTimeout: -1 }, /"stopTimeout": -1/],
    ['stopTimeout', { stopTimeout: 1.5 }, /whole number/],
    ['healthCheck', { healthCheck: { http: 'http://x', tcp: 1 } }, /exactly one of http, tcp, grpc, command or image \(got http, tcp\)/],
    ['healthCheck', { healthCheck: {} }, /\(got none\)/],
    ['healthCheck', { healthCheck: 'http' as never }, /"healthCheck": "http"/],
    ['healthCheck.http', { healthCheck: { http: 'localhost:9090' } }, /Expected an http\(s\) URL/],
    ['healthCheck.tcp', { healthCheck: { tcp: 99999 } }, /"healthCheck\.tcp": 99999/],
    ['healthCheck.grpc', { healthCheck: { grpc: '9090' } }, /"healthCheck\.grpc": "9090"\. Expected "host:port"/],
    ['healthCheck.timeout', { healthCheck: { tcp: 1, timeout: 0 } }, /greater than 0/],
    ['healthCheck', { healthCheck: { tcp: 1, retries: 3 } as never }, /Unknown key\(s\) retries/],
    ['healthCheck.service', { healthCheck: { tcp: 1, service: 'x' } }, /Only a gRPC health check/],
    ['name', { name: 'bad name' }, /"name": "bad name"/],
    ['stage', { stage: '' }, /"stage": ""/],
  ])('rejects a bad %s with the option, the value and the fix', (_option, options, message) => {
    expect(errorOf(options)).toMatch(message);
  });

  it.each<[PodmanRunExecutorSchema['healthCheck'], unknown]>([
    [{ http: 'http://127.0.0.1:9090/healthz' }, { kind: 'http', url: 'http://127.0.0.1:9090/healthz' }],
    [{ tcp: 9090 }, { kind: 'tcp', host: '127.0.0.1', port: 9090 }],
    [{ tcp: 'db.local:5432' }, { kind: 'tcp', host: 'db.local', port: 5432 }],
    [{ tcp: '[::1]:5432' }, { kind: 'tcp', host: '::1', port: 5432 }],
    [{ grpc: '127.0.0.1:9090' }, { kind: 'grpc', address: '127.0.0.1:9090', service: '' }],
    [
      { grpc: 'localhost:9090', service: 'plugin' },
      { kind: 'grpc', address: 'localhost:9090', service: 'plugin' },
    ],
    [{ command: ['/bin/check', '-q'] }, { kind: 'command', command: ['/bin/check', '-q'] }],
    ['image', { kind: 'image' }],
    [{ image: true }, { kind: 'image' }],
  ])('health check %p', (healthCheck, check) => {
    expect(normalize({ healthCheck }).health.check).toEqual(check);
  });

  it('takes health timing in seconds', () => {
    expect(normalize({ healthCheck: { tcp: 9090, timeout: 5, interval: 0.25 } }).health).toMatchObject({ timeoutMs: 5000, intervalMs: 250 });
  });
});
