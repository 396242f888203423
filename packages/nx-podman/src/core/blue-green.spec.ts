import { quietLogger } from '../testing/recording-logger';
import { FakeEngine } from '../testing/fake-engine';
import { containerRunSpec } from '../testing/container-run-spec';
import { handBackPorts, replaceBlueGreen, type GateControl } from './blue-green';
import type { HealthSettings } from './health-check';
import type { HealthProbe, SleepClock } from './ports';
import type { Backends } from './request-hold';

const NEW = 'sha256:' + 'b'.repeat(64);
const OLD = 'a'.repeat(64);
const clock: SleepClock = { now: () => 0, sleep: async () => undefined };
const spec = containerRunSpec({ ports: ['127.0.0.1:9090:9090'], pod: 'postgres-plugin-pod' });
const health: HealthSettings = { check: { kind: 'http', url: 'http://127.0.0.1:9090/healthz' }, timeoutMs: 1000, intervalMs: 100 };

/**
 * podman and the gate as one story: every podman call and every gate step in the order they happened, the containers
 * by name (running or not), and a probe that passes when the container it is asked about runs an image marked healthy.
 */
function world(options: { old?: boolean; oldPod?: string; listening?: boolean; backends?: Backends; healthy?: boolean }) {
  const story: string[] = [];
  const engine = new FakeEngine();
  const containers = new Map<string, string>();
  if (options.old) containers.set('postgres-plugin', OLD);
  engine.on(['container', 'inspect'], (args) => {
    const image = containers.get(args[2]!);
    const pod = args[2] === 'postgres-plugin' ? options.oldPod : undefined;
    return image === undefined
      ? { exitCode: 125 }
      : { stdout: JSON.stringify([{ Image: image, State: { Status: 'running', Running: true, ExitCode: 0 }, ...(pod && { Pod: pod }) }]) };
  });
  engine.on(['run'], (args) => {
    const name = args[args.indexOf('--name') + 1]!;
    story.push(`run ${name} ${args[args.indexOf('--pod') + 1]}`);
    containers.set(name, NEW);
    return {};
  });
  engine.on(['rm'], (args) => {
    story.push(`rm ${args.at(-1)}${args.includes('--time') ? ' (graceful)' : ''}`);
    containers.delete(args.at(-1)!);
    return {};
  });
  engine.on(['pod', 'create'], (args) => {
    story.push(`pod create ${args[args.indexOf('--name') + 1]} ${args[args.lastIndexOf('-p') + 1]}`);
    return {};
  });
  engine.on(['pod', 'rm'], (args) => {
    story.push(`pod rm ${args.at(-1)}`);
    return {};
  });
  engine.on(['rename'], (args) => {
    story.push(`rename ${args[1]} ${args[2]}`);
    containers.set(args[2]!, containers.get(args[1]!)!);
    containers.delete(args[1]!);
    return {};
  });
  const probed: string[] = [];
  const probe: HealthProbe = {
    async probe(check) {
      probed.push(check.kind === 'http' ? check.url : check.kind);
      return options.healthy === false ? { ok: false, reason: 'ECONNREFUSED', fatal: true } : { ok: true };
    },
  };
  let listening = options.listening ?? true;
  let backends = options.backends;
  const gate: GateControl = {
    listeners: [{ host: '127.0.0.1', port: 9090, containerPort: 9090 }],
    listening: () => listening,
    async listen() {
      story.push('gate listens on 9090');
      listening = true;
      return undefined;
    },
    backends: () => backends,
    serve(next) {
      backends = next;
      story.push(`gate serves ${[...next.values()].join(',')}`);
    },
    freePorts: async (count) => [41000, 41001].slice(0, count),
  };
  return { story, engine, containers, probed, gate, ports: { engine, probe, clock, logger: quietLogger, gate } };
}

describe('replaceBlueGreen', () => {
  it('starts the new image next to the serving one, switches connections once it is healthy, then drains and removes the old one', async () => {
    const t = world({ old: true, backends: new Map([[9090, 40000]]) });
    const result = await replaceBlueGreen({ container: spec, imageId: NEW, health, rollback: true }, t.ports);
    expect(result).toMatchObject({ status: 'healthy', container: 'postgres-plugin', downtimeMs: 0 });
    expect(t.story).toEqual([
      'rm postgres-plugin-next',
      'pod rm postgres-plugin-pod-41000',
      'pod create postgres-plugin-pod-41000 127.0.0.1:41000:9090',
      'run postgres-plugin-next postgres-plugin-pod-41000',
      'gate serves 41000',
      'rm postgres-plugin (graceful)',
      'pod rm postgres-plugin-pod-40000',
      'rename postgres-plugin-next postgres-plugin',
    ]);
    // The check goes to the new container's backend port, not through the gate.
    expect(t.probed).toEqual(['http://127.0.0.1:41000/healthz']);
  });

  it('a new container that fails is removed; the old one never stopped serving (the rollback) and the gate is untouched', async () => {
    const t = world({ old: true, backends: new Map([[9090, 40000]]), healthy: false });
    const result = await replaceBlueGreen({ container: spec, imageId: NEW, health, rollback: true }, t.ports);
    expect(result.status).toBe('failed');
    expect(result).toMatchObject({ rolledBack: true, message: expect.stringContaining('"postgres-plugin" (image aaaaaaaaaaaa) never stopped serving') });
    expect(t.story.filter((line) => line.startsWith('gate'))).toEqual([]);
    expect(t.story.slice(-2)).toEqual(['rm postgres-plugin-next', 'pod rm postgres-plugin-pod-41000']);
    expect(t.containers.get('postgres-plugin')).toBe(OLD);
  });

  it('the first replace takes the ports over from podman: the old container and its pod go only after the new one is healthy, then the gate listens', async () => {
    const t = world({ old: true, listening: false });
    const result = await replaceBlueGreen({ container: spec, imageId: NEW, health, rollback: true }, t.ports);
    expect(result.status).toBe('healthy');
    expect(t.story.slice(3)).toEqual([
      'run postgres-plugin-next postgres-plugin-pod-41000',
      'rm postgres-plugin (graceful)',
      'pod rm postgres-plugin-pod',
      'gate listens on 9090',
      'gate serves 41000',
      'rename postgres-plugin-next postgres-plugin',
    ]);
  });

  it('a container an earlier watch left behind its gate (stopOnExit) is removed with the pod it runs in, not left as an exited pod', async () => {
    const t = world({ old: true, oldPod: 'f3a9c2d1e0b8', listening: false });
    const result = await replaceBlueGreen({ container: spec, imageId: NEW, health, rollback: true }, t.ports);
    expect(result.status).toBe('healthy');
    expect(t.story).toContain('pod rm f3a9c2d1e0b8');
    expect(t.story).not.toContain('pod rm postgres-plugin-pod');
  });
});

describe('handBackPorts', () => {
  it('at exit: a container with the configured ports in the project pod replaces the one behind the gate, which is removed with its pod', async () => {
    const t = world({ old: true, backends: new Map([[9090, 41000]]) });
    const result = await handBackPorts({ container: spec, imageId: OLD, health, rollback: false }, { ...t.ports, backends: new Map([[9090, 41000]]) });
    expect(result.status).toBe('healthy');
    expect(t.story).toEqual([
      'rm postgres-plugin-next',
      'pod rm postgres-plugin-pod',
      'pod create postgres-plugin-pod 127.0.0.1:9090:9090',
      'run postgres-plugin-next postgres-plugin-pod',
      'rm postgres-plugin (graceful)',
      'pod rm postgres-plugin-pod-41000',
      'rename postgres-plugin-next postgres-plugin',
    ]);
    expect(t.probed).toEqual(['http://127.0.0.1:9090/healthz']);
  });
});
