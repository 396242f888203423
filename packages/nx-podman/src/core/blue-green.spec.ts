// Why this file is long: one story of podman and the gate (world below) drives every blue/green path: the replace, the takeover, the exit's hand-back and the retire; split, each file would need its own copy of it.
import { quietLogger } from '../testing/recording-logger';
import { FakeEngine } from '../testing/fake-engine';
import { containerRunSpec } from '../testing/container-run-spec';
import { handBackPorts, replaceBlueGreen, retireAll, type GateControl, type HandBackPorts } from './blue-green';
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
function world(options: {
  old?: boolean;
  oldPod?: string;
  listening?: boolean;
  backends?: Backends;
  healthy?: boolean;
  /** Containers that exist besides the old one, with the pod they run in. */
  others?: Record<string, string>;
  /** Pods that exist (a container created in another pod is refused). @default the project's own pod, kept since the takeover */
  pods?: string[];
}) {
  const story: string[] = [];
  const engine = new FakeEngine();
  const containers = new Map<string, string>();
  /** The pod each container runs in: removing a pod removes them. */
  const podOf = new Map<string, string>();
  const pods = new Set(options.pods ?? ['postgres-plugin-pod']);
  if (options.old) containers.set('postgres-plugin', OLD);
  const oldPod = options.oldPod ?? (options.backends ? `postgres-plugin-pod-${[...options.backends.values()][0]}` : undefined);
  if (options.old && oldPod) podOf.set('postgres-plugin', oldPod);
  for (const name of Object.keys(options.others ?? {})) containers.set(name, OLD);
  engine.on(['container', 'inspect'], (args) => {
    const image = containers.get(args[2]!);
    const pod = args[2] === 'postgres-plugin' ? options.oldPod : options.others?.[args[2]!];
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
  engine.on(['create'], (args) => {
    const name = args[args.indexOf('--name') + 1]!;
    story.push(`create ${name} ${args[args.indexOf('--pod') + 1]}${containers.has(name) ? ' (name taken)' : ''}`);
    const pod = args.includes('--pod') ? args[args.indexOf('--pod') + 1]! : undefined;
    if (pod !== undefined && !pods.has(pod)) return { exitCode: 125, stderr: `Error: no pod with name or ID ${pod} found: no such pod` };
    if (containers.has(name)) return { exitCode: 125, stderr: `Error: creating container storage: the container name "${name}" is already in use` };
    containers.set(name, NEW);
    if (args.includes('--pod')) podOf.set(name, args[args.indexOf('--pod') + 1]!);
    return {};
  });
  engine.on(['start'], (args) => {
    story.push(`start ${args[1]}`);
    return {};
  });
  engine.on(['cp'], (args) => {
    story.push(`cp ${args[1]} ${args[2]}`);
    return {};
  });
  engine.on(['kill'], (args) => {
    story.push(`kill ${args[2]} ${args[3]}`);
    return {};
  });
  engine.on(['wait'], (args, options) => {
    story.push(`wait ${args.at(-1)} (at most ${options?.timeoutMs} ms)`);
    return {};
  });
  engine.on(['rm'], (args) => {
    const time = args.includes('--time') ? args[args.indexOf('--time') + 1] : undefined;
    story.push(`rm ${args.at(-1)}${time === '0' ? ' (killed)' : time !== undefined ? ' (graceful)' : ''}`);
    containers.delete(args.at(-1)!);
    return {};
  });
  engine.on(['pod', 'create'], (args) => {
    story.push(`pod create ${args[args.indexOf('--name') + 1]} ${args[args.lastIndexOf('-p') + 1]}`);
    pods.add(args[args.indexOf('--name') + 1]!);
    return {};
  });
  engine.on(['pod', 'stop'], (args) => {
    story.push(`pod stop ${args.at(-1)}`);
    return { stdout: pods.has(args.at(-1)!) ? `${'e'.repeat(64)}\n` : '' };
  });
  engine.on(['pod', 'rm'], (args) => {
    story.push(`pod rm ${args.at(-1)}${args.includes('--time') ? ` (SIGKILL after ${args[args.indexOf('--time') + 1]} s)` : ''}`);
    for (const [name, pod] of podOf) if (pod === args.at(-1)) containers.delete(name);
    pods.delete(args.at(-1)!);
    return {};
  });
  engine.on(['rename'], (args) => {
    story.push(`rename ${args[1]} ${args[2]}${containers.has(args[2]!) ? ' (name taken)' : ''}`);
    if (containers.has(args[2]!)) return { exitCode: 125, stderr: `Error: renaming container: name ${args[2]} already in use: container already exists` };
    containers.set(args[2]!, containers.get(args[1]!)!);
    containers.delete(args[1]!);
    const pod = podOf.get(args[1]!);
    podOf.delete(args[1]!);
    if (pod !== undefined) podOf.set(args[2]!, pod);
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

  it('the first replace takes the ports over from podman: the old container goes and its pod stops (kept for the exit) only after the new one is healthy, then the gate listens', async () => {
    const t = world({ old: true, listening: false });
    const result = await replaceBlueGreen({ container: spec, imageId: NEW, health, rollback: true }, t.ports);
    expect(result.status).toBe('healthy');
    expect(t.story.slice(2)).toEqual([
      'run postgres-plugin-next postgres-plugin-pod-41000',
      'rm postgres-plugin (graceful)',
      'pod stop postgres-plugin-pod',
      'gate listens on 9090',
      'gate serves 41000',
      'rename postgres-plugin-next postgres-plugin',
    ]);
  });

  it('a first start with no pod to keep (the watch started the plugin) makes the pod once the gate serves, never started, for the exit', async () => {
    const t = world({ listening: false, pods: [] });
    const result = await replaceBlueGreen({ container: spec, imageId: NEW, health, rollback: true }, t.ports);
    expect(result.status).toBe('healthy');
    expect(t.story.slice(-4)).toEqual([
      'gate listens on 9090',
      'gate serves 41000',
      'rename postgres-plugin-next postgres-plugin',
      'pod create postgres-plugin-pod 127.0.0.1:9090:9090',
    ]);
    expect(t.story.filter((line) => /start|run postgres-plugin /.test(line))).toEqual([]);
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
  const backends: Backends = new Map([[9090, 41000]]);
  /** The hand-back's ports in `t`'s world: the gate's closing is a step of the story. */
  const handBack = async (t: ReturnType<typeof world>, extra: Partial<HandBackPorts> = {}) => {
    const result = await handBackPorts(
      { container: spec, imageId: OLD, health, rollback: false },
      {
        ...t.ports,
        backends,
        closeListeners: async () => void t.story.push('gate stops listening'),
        retireTimeoutSeconds: 2,
        ...extra,
      },
    );
    if (result.status === 'healthy') {
      t.story.push('(ports back)');
      if (result.retired) await retireAll(t.ports, [result.retired], 2);
    }
    return result;
  };

  it('at exit: while the gate still serves the old container steps aside and the new one is made under the name; it starts once the gate stops listening, then the old one goes', async () => {
    const t = world({ old: true, backends });
    const result = await handBack(t);
    expect(result.status).toBe('healthy');
    expect(t.story).toEqual([
      'rename postgres-plugin postgres-plugin-old',
      // in the project's pod, stopped and kept since the takeover
      'create postgres-plugin postgres-plugin-pod',
      'gate stops listening',
      'start postgres-plugin',
      '(ports back)',
      'pod rm postgres-plugin-pod-41000 (SIGKILL after 2 s)',
    ]);
    expect(t.probed).toEqual(['http://127.0.0.1:9090/healthz']);
  });

  it('with no health check configured, the new container passes once it has run for 0.5 s, not the usual 2 s grace', async () => {
    const t = world({ old: true, backends });
    const inspected: number[] = [];
    let now = 0;
    const clockAt = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    t.engine.on(['container', 'inspect', 'postgres-plugin'], () => {
      inspected.push(now);
      return { stdout: JSON.stringify([{ Image: NEW, State: { Status: 'running', Running: true, ExitCode: 0 } }]) };
    });
    const result = await handBackPorts(
      { container: spec, imageId: OLD, health: { check: { kind: 'running', graceMs: 2000 }, timeoutMs: 30_000, intervalMs: 1000 }, rollback: false },
      { ...t.ports, clock: clockAt, backends, closeListeners: async () => undefined, retireTimeoutSeconds: 2 },
    );
    expect(result.status).toBe('healthy');
    expect(Math.max(...inspected)).toBe(500);
  });

  it('live-updated code goes with it: the binary is copied out of the old container into the new one before the gate closes', async () => {
    const t = world({ old: true, backends });
    await handBack(t, { carry: { path: '/plugin', hostFile: '/tmp/x/binary' } });
    expect(t.story.slice(1, 5)).toEqual([
      'create postgres-plugin postgres-plugin-pod',
      'cp postgres-plugin-old:/plugin /tmp/x/binary',
      'cp /tmp/x/binary postgres-plugin:/plugin',
      'gate stops listening',
    ]);
  });

  it("where this host sees the old container's file system, its binary is copied in from there: one podman cp", async () => {
    const t = world({ old: true, backends });
    await handBack(t, { carry: { path: '/plugin', hostFile: '/tmp/x/binary', hostPath: '/var/lib/containers/overlay/abc/merged/plugin' } });
    expect(t.story.slice(1, 4)).toEqual([
      'create postgres-plugin postgres-plugin-pod',
      'cp /var/lib/containers/overlay/abc/merged/plugin postgres-plugin:/plugin',
      'gate stops listening',
    ]);
  });

  it.each([
    ['ended by SIGINT', { exitCode: 130, signal: 'SIGINT' }, []],
    // podman caught the signal itself: exit 0 without the id it prints when it creates. It may have made the
    // container: this hand-back's own, removed before it is made again.
    ['exit 0, nothing printed', { exitCode: 0, stdout: '' }, ['rm postgres-plugin']],
  ] as const)("a create that Nx's signal ends (%s) while it prepares: the preparation starts over and the hand-back completes", async (how, ended, removed) => {
    const t = world({ old: true, backends });
    let signalled = false;
    t.engine.on(['create'], () => {
      t.story.push(`create postgres-plugin${signalled ? '' : ` (${how})`}`);
      if (signalled) {
        t.containers.set('postgres-plugin', NEW);
        return {};
      }
      signalled = true;
      return ended;
    });
    expect((await handBack(t)).status).toBe('healthy');
    expect(t.story.slice(0, 4 + removed.length)).toEqual([
      'rename postgres-plugin postgres-plugin-old',
      `create postgres-plugin (${how})`,
      ...removed,
      'create postgres-plugin',
      'gate stops listening',
    ]);
  });

  it('a rename that a signal ended quietly (exit 0, not renamed): the create finds the name taken, and the preparation starts over with the rename', async () => {
    const t = world({ old: true, backends });
    let quiet = true;
    t.engine.on(['rename', 'postgres-plugin'], (args) => {
      if (quiet) {
        quiet = false;
        t.story.push('rename postgres-plugin postgres-plugin-old (signalled, exit 0)');
        return {};
      }
      t.story.push(`rename ${args[1]} ${args[2]}`);
      t.containers.set(args[2]!, t.containers.get(args[1]!)!);
      t.containers.delete(args[1]!);
      return {};
    });
    expect((await handBack(t)).status).toBe('healthy');
    expect(t.story.slice(0, 6)).toEqual([
      'rename postgres-plugin postgres-plugin-old (signalled, exit 0)',
      'create postgres-plugin postgres-plugin-pod (name taken)',
      'rename postgres-plugin postgres-plugin-old',
      'create postgres-plugin postgres-plugin-pod',
      'gate stops listening',
      'start postgres-plugin',
    ]);
    // The running old container was never removed.
    expect(t.story.filter((step) => step.startsWith('rm '))).toEqual([]);
  });

  it("what an interrupted watch left under the old one's retired name is removed with its pod, then the old one steps aside", async () => {
    const t = world({ old: true, backends, others: { 'postgres-plugin-old': 'c0ffee12ab34' } });
    expect((await handBack(t)).status).toBe('healthy');
    expect(t.story.slice(0, 6)).toEqual([
      'rename postgres-plugin postgres-plugin-old (name taken)',
      'rm postgres-plugin-old (killed)',
      'pod rm c0ffee12ab34',
      'rename postgres-plugin postgres-plugin-old',
      'create postgres-plugin postgres-plugin-pod',
      'gate stops listening',
    ]);
  });

  it("without the project's pod (none was kept: a pod taken by an interrupted watch is made again), the pod is made, then the container", async () => {
    const t = world({ old: true, backends, pods: [] });
    let podTaken = true;
    t.engine.on(['pod', 'create'], (args) => {
      t.story.push(`pod create ${args[args.indexOf('--name') + 1]}${podTaken ? ' (name taken)' : ''}`);
      if (!podTaken) return {};
      podTaken = false;
      return { exitCode: 125, stderr: 'Error: adding pod to state: name "postgres-plugin-pod" is in use: pod already exists' };
    });
    t.engine.on(['create'], (args) => {
      const refused = podTaken;
      t.story.push(`create ${args[args.indexOf('--name') + 1]}${refused ? ' (no such pod)' : ''}`);
      if (refused) return { exitCode: 125, stderr: 'Error: no pod with name or ID postgres-plugin-pod found: no such pod' };
      t.containers.set('postgres-plugin', NEW);
      return {};
    });
    expect((await handBack(t)).status).toBe('healthy');
    expect(t.story.slice(0, 7)).toEqual([
      'rename postgres-plugin postgres-plugin-old',
      'create postgres-plugin (no such pod)',
      'pod create postgres-plugin-pod (name taken)',
      'pod rm postgres-plugin-pod',
      'pod create postgres-plugin-pod',
      'create postgres-plugin',
      'gate stops listening',
    ]);
  });

  it('a new container that fails its health check is removed; the old one gets its name back and runs on, and the gate still closes', async () => {
    const t = world({ old: true, backends, healthy: false });
    const result = await handBack(t);
    expect(result).toMatchObject({ status: 'failed' });
    expect(t.story).toContain('gate stops listening');
    expect(t.story.slice(-2)).toEqual(['rm postgres-plugin', 'rename postgres-plugin-old postgres-plugin']);
    expect(t.story.filter((step) => /SIGKILL/.test(step))).toEqual([]);
    expect([...t.containers.entries()]).toEqual([['postgres-plugin', OLD]]);
  });

  it('when the old container cannot be renamed out of the way, the new one is made as -next; the old one is removed first, then the new one takes the name', async () => {
    const t = world({ old: true, backends });
    t.engine.on(['rename', 'postgres-plugin'], () => {
      t.story.push('rename postgres-plugin postgres-plugin-old (refused)');
      return { exitCode: 125, stderr: 'Error: renaming a container in a state that cannot be renamed' };
    });
    const result = await handBack(t);
    expect(result.status).toBe('healthy');
    expect(t.story).toEqual([
      'rename postgres-plugin postgres-plugin-old (refused)',
      'rm postgres-plugin-next', // one an interrupted replace may have left
      'create postgres-plugin-next postgres-plugin-pod',
      'gate stops listening',
      'start postgres-plugin-next',
      'pod rm postgres-plugin-pod-41000 (SIGKILL after 2 s)',
      'rename postgres-plugin-next postgres-plugin',
      '(ports back)',
    ]);
  });
});

describe("an old container an earlier watch's exit could not remove", () => {
  it("is removed with the pod it runs in at the next watch's first replace", async () => {
    const t = world({ old: true, listening: false, others: { 'postgres-plugin-old': 'c0ffee12ab34' } });
    const result = await replaceBlueGreen({ container: spec, imageId: NEW, health, rollback: true }, t.ports);
    expect(result.status).toBe('healthy');
    expect(t.story.slice(0, 3)).toEqual(['rm postgres-plugin-next', 'rm postgres-plugin-old (killed)', 'pod rm c0ffee12ab34']);
  });

  it('is not looked for at later replaces (only an earlier watch leaves one)', async () => {
    const t = world({ old: true, backends: new Map([[9090, 41000]]) });
    await replaceBlueGreen({ container: spec, imageId: NEW, health, rollback: true }, t.ports);
    expect(t.engine.calls.filter((call) => call.includes('postgres-plugin-old'))).toEqual([]);
  });
});

describe('retireAll', () => {
  it('removes every old container in one podman call per kind and stop timeout: pods with their containers, containers without a pod', async () => {
    const engine = new FakeEngine();
    await retireAll(
      { engine, logger: quietLogger },
      [
        { name: 'a-plugin-old', pod: 'a-plugin-pod-41000', stopTimeoutSeconds: 10 },
        { name: 'b-plugin-old', pod: 'b-plugin-pod-41001', stopTimeoutSeconds: 10 },
        { name: 'c-plugin-old', pod: undefined, stopTimeoutSeconds: 10 },
        { name: 'd-plugin-old', pod: 'd-plugin-pod-41002', stopTimeoutSeconds: 0 },
      ],
      1.7,
    );
    expect(engine.calls).toEqual([
      ['pod', 'rm', '--force', '--ignore', '--time', '1', 'a-plugin-pod-41000', 'b-plugin-pod-41001'],
      ['rm', '--force', '--ignore', '--time', '1', 'c-plugin-old'],
      ['pod', 'rm', '--force', '--ignore', '--time', '0', 'd-plugin-pod-41002'],
    ]);
  });
});
