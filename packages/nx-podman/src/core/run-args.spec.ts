import { buildPodCreateArgs, buildRunArgs, normalizePort, parseContainerInspect, parsePodConfig, PortSpecError } from './run-args';
import { containerRunSpec } from '../testing/container-run-spec';

const spec = containerRunSpec;

describe('buildRunArgs', () => {
  it('runs detached with the name, the plugin labels, never pulling', () => {
    expect(buildRunArgs(spec(), 'sha256:abc').args).toEqual([
      'run',
      '-d',
      '--name',
      'postgres-plugin',
      '--pull=never',
      '--stop-timeout',
      '10',
      '--label',
      'io.prism.nx-podman.project=postgres',
      '--label',
      'io.prism.nx-podman.stage=production',
      '--label',
      'io.prism.nx-podman.image=sha256:abc',
      'sha256:abc',
    ]);
  });

  it('places every option before the image and the command after it', () => {
    const { args } = buildRunArgs(
      spec({
        stage: 'debug',
        name: 'postgres-plugin-debug',
        ports: ['127.0.0.1:9090:9090', '0.0.0.0:2345:2345'],
        envFiles: ['/ws/.env'],
        env: { DB_URL: 'postgres://secret', LOG_LEVEL: 'debug' },
        volumes: ['/ws/data:/data:ro'],
        network: 'prism',
        labels: { team: 'db' },
        extraArgs: ['--init', '--memory', '256m'],
        command: ['/plugin', '--port', '9090'],
        stopTimeoutSeconds: 3,
      }),
      'sha256:def',
    );
    expect(args).toEqual([
      'run',
      '-d',
      '--name',
      'postgres-plugin-debug',
      '--pull=never',
      '--stop-timeout',
      '3',
      '--label',
      'team=db',
      '--label',
      'io.prism.nx-podman.project=postgres',
      '--label',
      'io.prism.nx-podman.stage=debug',
      '--label',
      'io.prism.nx-podman.image=sha256:def',
      '-p',
      '127.0.0.1:9090:9090',
      '-p',
      '0.0.0.0:2345:2345',
      '--env-file',
      '/ws/.env',
      '--env',
      'DB_URL',
      '--env',
      'LOG_LEVEL',
      '-v',
      '/ws/data:/data:ro',
      '--network',
      'prism',
      '--init',
      '--memory',
      '256m',
      'sha256:def',
      '/plugin',
      '--port',
      '9090',
    ]);
  });

  it('in a pod: joins it and leaves ports and network to the pod (podman refuses them on a container in a pod)', () => {
    const podded = spec({ pod: 'postgres-plugin-pod', ports: ['127.0.0.1:9090:9090'], network: 'prism' });
    const { args } = buildRunArgs(podded, 'sha256:abc');
    expect(args).toEqual(expect.arrayContaining(['--pod', 'postgres-plugin-pod']));
    expect(args).not.toContain('-p');
    expect(args).not.toContain('--network');
    expect(buildPodCreateArgs(podded)).toEqual([
      'pod',
      'create',
      '--name',
      'postgres-plugin-pod',
      '--infra-name',
      'postgres-plugin-pod-infra',
      '--share',
      'net',
      '--label',
      'io.prism.nx-podman.project=postgres',
      '--label',
      'io.prism.nx-podman.pod-config={"ports":["127.0.0.1:9090:9090"],"network":"prism"}',
      '-p',
      '127.0.0.1:9090:9090',
      '--network',
      'prism',
    ]);
  });

  it('reads the pod config label back from podman pod inspect; undefined for anything else', () => {
    expect(parsePodConfig(JSON.stringify({ Id: 'p', Labels: { 'io.prism.nx-podman.pod-config': '{"ports":[]}' } }))).toBe('{"ports":[]}');
    expect(parsePodConfig(JSON.stringify({ Id: 'p', Labels: null }))).toBe('');
    expect(parsePodConfig('[]')).toBeUndefined();
    expect(parsePodConfig('Error: no such pod')).toBeUndefined();
  });

  it('passes env values through the child environment, never in the arguments', () => {
    const invocation = buildRunArgs(spec({ env: { TOKEN: 's3cr3t-value' } }), 'img');
    expect(invocation.env).toEqual({ TOKEN: 's3cr3t-value' });
    expect(invocation.args.join(' ')).not.toContain('s3cr3t-value');
    expect(invocation.args).toEqual(expect.arrayContaining(['--env', 'TOKEN']));
  });

  it('labels the container with the image it runs, also when the reference differs from the id', () => {
    expect(buildRunArgs(spec(), 'abc123', 'sha256:abc123full').args).toContain('io.prism.nx-podman.image=sha256:abc123full');
  });
});

describe('normalizePort', () => {
  it.each([
    ['9090', '127.0.0.1:9090:9090'],
    [9090, '127.0.0.1:9090:9090'],
    ['8080:9090', '127.0.0.1:8080:9090'],
    ['0.0.0.0:9090:9090', '0.0.0.0:9090:9090'],
    ['127.0.0.1::9090', '127.0.0.1::9090'],
    ['9090/udp', '127.0.0.1:9090:9090/udp'],
    ['[::1]:9090:9090', '[::1]:9090:9090'],
    ['9000-9001:9000-9001', '127.0.0.1:9000-9001:9000-9001'],
  ])('%p → %p', (input, expected) => {
    expect(normalizePort(input)).toBe(expected);
  });

  it.each([['abc'], ['70000'], ['1.2.3:80:80'], ['a:b:c:d'], ['9090/http'], ['[::1]:9090'], ['0']])('rejects %p', (input) => {
    expect(() => normalizePort(input)).toThrow(PortSpecError);
  });
});

describe('parseContainerInspect', () => {
  it('reads image, status, exit code and health', () => {
    const json = JSON.stringify([{ Image: 'abc', State: { Status: 'exited', Running: false, ExitCode: 3, Health: { Status: 'unhealthy' } } }]);
    expect(parseContainerInspect(json)).toEqual({ id: '', imageId: 'abc', status: 'exited', running: false, exitCode: 3, health: 'unhealthy', rootfs: '' });
  });

  it('reads where the root file system of a running container is mounted (overlay MergedDir)', () => {
    const merged = '/var/lib/containers/storage/overlay/4118dc99/merged';
    const json = JSON.stringify([
      { Id: 'c1', Image: 'abc', State: { Status: 'running', Running: true }, GraphDriver: { Name: 'overlay', Data: { MergedDir: merged } } },
    ]);
    expect(parseContainerInspect(json)).toMatchObject({ id: 'c1', running: true, rootfs: merged });
  });

  it('returns undefined for anything else', () => {
    expect(parseContainerInspect('[]')).toBeUndefined();
    expect(parseContainerInspect('Error: no such container')).toBeUndefined();
  });
});
