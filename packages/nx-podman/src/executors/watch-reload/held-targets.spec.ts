import type { HealthProbe } from '../../core/ports';
import type { ContainerRunSpec } from '../../core/run-args';
import type { TcpGate } from '../../adapters/tcp-gate';
import { containerRunSpec } from '../../testing/container-run-spec';
import { FakeClock } from '../../testing/fake-clock';
import { FakeEngine } from '../../testing/fake-engine';
import { recordingLogger } from '../../testing/recording-logger';
import { createTempDir } from '../../testing/temp-dir';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { releasePorts, type HeldTargetUnits } from './held-targets';
import { normalizeWatchReloadOptions } from './normalize-options';
import type { RequestGates } from './request-gates';

const IMAGE = 'sha256:' + 'a'.repeat(64);
const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Two held projects (kafka, postgres) behind gates that record their steps, over one fake podman. */
function world() {
  const engine = new FakeEngine();
  const steps: string[] = [];
  engine.on(['container', 'inspect'], () => ({ stdout: JSON.stringify([{ Image: IMAGE, State: { Status: 'running', Running: true, ExitCode: 0 } }]) }));
  engine.on(['rename'], (args) => (steps.push(`rename ${args.at(-1)}`), {}));
  engine.on(
    ['pod', 'rm'],
    (args) => (
      args.includes('--time') && steps.push(`stop ${args.slice(args.indexOf('--time') + 2).join(' ')}, SIGKILL after ${args[args.indexOf('--time') + 1]} s`),
      {}
    ),
  );
  const gate = (project: string, port: number) =>
    ({
      backends: () => new Map([[port, port + 30000]]),
      listening: () => true,
      closeListeners: async () => void steps.push(`${project} gate stops listening`),
      close: async () => void steps.push(`${project} gate closed`),
    }) as unknown as TcpGate;
  const gates = new Map([
    ['kafka', gate('kafka', 9091)],
    ['postgres', gate('postgres', 9090)],
  ]);
  const spec = (project: string): ContainerRunSpec =>
    containerRunSpec({ project, name: `${project}-plugin`, pod: `${project}-plugin-pod`, ports: [`127.0.0.1:${project === 'kafka' ? 9091 : 9090}:9090`] });
  const healthy: HealthProbe = { probe: async () => ({ ok: true }) };
  const units: HeldTargetUnits = {
    options: normalizeWatchReloadOptions({ reload: true }, { projectName: 'postgres', env: {} }),
    logger: recordingLogger(),
    // Pauses pass at once (a retried podman call waits 250 ms).
    clock: Object.assign(new FakeClock(), { sleep: async () => undefined }),
    probe: healthy,
    gates: { get: (project) => gates.get(project), projects: () => [...gates.keys()] } as RequestGates,
    engineFor: () => engine,
    projectInfo: () => ({ targets: {} }),
    runOptions: (project) => ({
      container: spec(project),
      connection: engine.connection,
      health: { check: { kind: 'tcp', host: '127.0.0.1', port: 9090 }, timeoutMs: 1000, intervalMs: 100 },
    }),
  };
  return { units, steps };
}

describe('releasePorts (the exit with holdRequests)', () => {
  it("every project's ports come back before any old container is stopped: a slow project never waits behind another one's stop", async () => {
    const t = world();
    let kafkaSettled!: () => void;
    const settled = (project: string) => (project === 'kafka' ? new Promise<void>((resolve) => (kafkaSettled = resolve)) : Promise.resolve());
    const releasing = releasePorts(t.units, { handBack: true, timeoutSeconds: 2, settled }, () => undefined);
    await flush();
    // postgres is handed back; kafka's job has not ended yet: nothing is stopped meanwhile.
    expect(t.steps).toEqual(['rename postgres-plugin-old', 'postgres gate stops listening']);
    kafkaSettled();
    await releasing;
    expect(t.steps.slice(2)).toEqual([
      'rename kafka-plugin-old',
      'kafka gate stops listening',
      // One podman call for both: at exit every podman process counts.
      'stop kafka-plugin-pod-39091 postgres-plugin-pod-39090, SIGKILL after 2 s',
      'kafka gate closed',
      'postgres gate closed',
    ]);
  });

  it("the old containers' stops end by the deadline (what Nx's grace period leaves), however long their stop timeout", async () => {
    const t = world();
    await releasePorts(t.units, { handBack: true, timeoutSeconds: 2, deadline: t.units.clock.now() + 1700 }, () => undefined);
    expect(t.steps.filter((step) => step.startsWith('stop'))).toEqual(['stop kafka-plugin-pod-39091 postgres-plugin-pod-39090, SIGKILL after 1 s']);
    const late = world();
    await releasePorts(late.units, { handBack: true, timeoutSeconds: 2, deadline: late.units.clock.now() - 100 }, () => undefined);
    expect(late.steps.filter((step) => step.startsWith('stop'))).toEqual(['stop kafka-plugin-pod-39091 postgres-plugin-pod-39090, SIGKILL after 0 s']);
  });

  it('a project whose container is not running is not handed back, and says so', async () => {
    const t = world();
    const engine = t.units.engineFor(t.units.runOptions('kafka', undefined).connection) as FakeEngine;
    engine.on(['container', 'inspect', 'kafka-plugin'], { exitCode: 125, stderr: 'no such container' });
    await releasePorts(t.units, { handBack: true, timeoutSeconds: 2 }, () => undefined);
    expect((t.units.logger as ReturnType<typeof recordingLogger>).lines).toContainEqual(
      expect.stringMatching(
        /^WARN ports not handed back: the container is not running plugin=kafka container=kafka-plugin state=missing fix=nx run kafka:podman-run$/,
      ),
    );
    expect(t.steps).toContain('kafka gate closed');
    expect(t.steps.filter((step) => step.includes('kafka-plugin'))).toEqual([]);
  });

  it("an inspect that Nx's shutdown signal ends is made again", async () => {
    const t = world();
    const engine = t.units.engineFor(t.units.runOptions('kafka', undefined).connection) as FakeEngine;
    let first = true;
    engine.on(['container', 'inspect', 'kafka-plugin'], () => {
      if (!first) return { stdout: JSON.stringify([{ Image: IMAGE, State: { Status: 'running', Running: true, ExitCode: 0 } }]) };
      first = false;
      return { exitCode: 130, signal: 'SIGINT' };
    });
    await releasePorts(t.units, { handBack: true, timeoutSeconds: 2 }, () => undefined);
    expect(t.steps).toContain('rename kafka-plugin-old');
    expect(t.steps).toContain('stop kafka-plugin-pod-39091 postgres-plugin-pod-39090, SIGKILL after 2 s');
  });

  describe('live-updated code', () => {
    const rootfs = createTempDir('nx-podman-rootfs-');
    afterAll(() => rootfs.cleanup());

    const liveWorld = (mergedDir: string) => {
      const t = world();
      const engine = t.units.engineFor(t.units.runOptions('kafka', undefined).connection) as FakeEngine;
      engine.on(['container', 'inspect'], () => ({
        stdout: JSON.stringify([{ Image: IMAGE, State: { Status: 'running', Running: true, ExitCode: 0 }, GraphDriver: { Data: { MergedDir: mergedDir } } }]),
      }));
      return { ...t, engine };
    };

    it("is copied into the new container straight from the old one's file system when this host sees it (root podman): one podman cp", async () => {
      mkdirSync(join(rootfs.path, 'app'), { recursive: true });
      writeFileSync(join(rootfs.path, 'app', 'plugin'), 'binary');
      const t = liveWorld(rootfs.path);
      await releasePorts(t.units, { handBack: true, timeoutSeconds: 2 }, (project) => (project === 'kafka' ? '/app/plugin' : undefined));
      expect(t.engine.callsStartingWith('cp')).toEqual([['cp', join(rootfs.path, 'app', 'plugin'), 'kafka-plugin:/app/plugin']]);
    });

    it('is copied out of the old container through a host file when this host does not see the file there', async () => {
      const t = liveWorld(join(rootfs.path, 'not-mounted'));
      await releasePorts(t.units, { handBack: true, timeoutSeconds: 2 }, (project) => (project === 'kafka' ? '/app/plugin' : undefined));
      const copies = t.engine.callsStartingWith('cp');
      expect(copies).toHaveLength(2);
      expect(copies[0]!.slice(0, 2)).toEqual(['cp', 'kafka-plugin-old:/app/plugin']);
      expect(copies[1]!.slice(1)).toEqual([copies[0]![2], 'kafka-plugin:/app/plugin']);
    });
  });
});
