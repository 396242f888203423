// Why this file is long: one test per path through the container replace and restart sequences (start, health, rollback,
// abort in each step); they share the fake engine set-up above each describe, which a split would repeat.
import { FakeEngine } from '../testing/fake-engine';
import type { HealthSettings, ProbeResult } from './health-check';
import { replaceContainer, restartContainer, type ReplaceRequest } from './container-steps';
import { containerRunSpec } from '../testing/container-run-spec';
import { recordingLogger } from '../testing/recording-logger';
import type { HealthProbe, ProbeCheck, ProbeOptions, RunProcessOptions, SleepClock } from './ports';

const NEW = 'sha256:' + 'b'.repeat(64);
const OLD = 'a'.repeat(64); // podman inspect prints ids without the prefix
const SECRET = 'p4ssw0rd-never-printed';

/** A clock whose sleeps pass instantly (time jumps), so timeouts run in microseconds. */
class InstantClock implements SleepClock {
  time = 0;
  now() {
    return this.time;
  }
  async sleep(ms: number, signal?: AbortSignal) {
    if (!signal?.aborted) this.time += ms;
  }
}

interface FakeContainer {
  imageId: string;
  running: boolean;
  exitCode: number;
  /** The id of the pod it runs in. */
  pod?: string;
}

/**
 * A small model of podman on top of FakeEngine: containers by name, and per image what happens when it runs
 * (`ok`, `exits` at once with code 3, `fails-run` with exit 125).
 */
function fakePodman(behaviour: Record<string, 'ok' | 'exits' | 'fails-run'> = {}) {
  const engine = new FakeEngine();
  const containers = new Map<string, FakeContainer>();
  const runEnvs: (RunProcessOptions['env'] | undefined)[] = [];
  engine.on(['container', 'inspect'], (args) => {
    const container = containers.get(args[2]!);
    if (!container) return { exitCode: 125, stderr: `Error: no such container ${args[2]}` };
    return {
      stdout: JSON.stringify([
        {
          Image: container.imageId,
          State: { Status: container.running ? 'running' : 'exited', Running: container.running, ExitCode: container.exitCode },
          ...(container.pod && { Pod: container.pod }),
        },
      ]),
    };
  });
  engine.on(['stop'], (args) => {
    const container = containers.get(args.at(-1)!);
    if (container) container.running = false;
    return {};
  });
  engine.on(['rm'], (args) => {
    containers.delete(args.at(-1)!);
    return {};
  });
  engine.on(['logs'], () => ({ stdout: 'starting\npanic: cannot connect to database\n' }));
  engine.on(['image', 'exists'], (args) => ({ exitCode: args[2] === 'missing' ? 1 : 0 }));
  engine.on(['run'], (args, options) => {
    runEnvs.push(options?.env);
    const name = args[args.indexOf('--name') + 1]!;
    const image = args.find((arg) => arg.startsWith('io.prism.nx-podman.image='))!.split('=')[1]!;
    const mode = behaviour[image] ?? behaviour[image.replace(/^sha256:/, '')] ?? 'ok';
    if (mode === 'fails-run') return { exitCode: 125, stderr: 'Error: crun: executable file `/plugin` not found' };
    containers.set(name, { imageId: image.replace(/^sha256:/, ''), running: mode === 'ok', exitCode: mode === 'exits' ? 3 : 0 });
    return { stdout: 'containerid\n' };
  });
  return { engine, containers, runEnvs };
}

/**
 * A probe answering from a script while the container runs (and like a refused connection when it does not);
 * each attempt takes 10 ms of fake time.
 */
function scriptedProbe(clock: InstantClock, isRunning: (name: string) => boolean, answer: (attempt: number) => ProbeResult) {
  const calls: { check: ProbeCheck; options: ProbeOptions }[] = [];
  const probe: HealthProbe = {
    async probe(check, options) {
      calls.push({ check, options });
      clock.time += 10;
      return isRunning(options.container) ? answer(calls.length) : { ok: false, reason: 'ECONNREFUSED' };
    },
  };
  return { probe, calls };
}

const spec = containerRunSpec({ ports: ['127.0.0.1:9090:9090'], env: { DB_PASSWORD: SECRET } });
const http: HealthSettings = { check: { kind: 'http', url: 'http://127.0.0.1:9090/healthz' }, timeoutMs: 30_000, intervalMs: 1000 };
const request = (overrides: Partial<ReplaceRequest> = {}): ReplaceRequest => ({ container: spec, imageId: NEW, health: http, rollback: true, ...overrides });

function setup(options: { behaviour?: Record<string, 'ok' | 'exits' | 'fails-run'>; old?: FakeContainer; probe?: (attempt: number) => ProbeResult } = {}) {
  const world = fakePodman(options.behaviour);
  if (options.old) world.containers.set('postgres-plugin', options.old);
  const clock = new InstantClock();
  const logger = recordingLogger();
  const { probe, calls } = scriptedProbe(clock, (name) => world.containers.get(name)?.running ?? true, options.probe ?? (() => ({ ok: true })));
  return { ...world, clock, logger, probe, probeCalls: calls, ports: { engine: world.engine, probe, clock, logger } };
}

const commands = (engine: FakeEngine) => engine.calls.map((call) => (call[0] === 'container' || call[0] === 'image' ? `${call[0]} ${call[1]}` : call[0]));

describe('replaceContainer', () => {
  it('starts the first container when none exists (a missing old container is normal)', async () => {
    const t = setup();
    const result = await replaceContainer(request(), t.ports);
    expect(result).toEqual({ status: 'healthy', container: 'postgres-plugin', imageId: NEW, durationMs: 10, downtimeMs: undefined });
    expect(commands(t.engine)).toEqual(['container inspect', 'run']);
    expect(t.logger.lines.filter((line) => line.startsWith('INFO'))).toEqual([
      'INFO starting plugin container plugin=postgres image=bbbbbbbbbbbb',
      'INFO plugin container started plugin=postgres container=postgres-plugin',
      'INFO plugin healthy plugin=postgres duration=0.0s check=http',
    ]);
  });

  it('stops and removes the old container in one podman call with the stop timeout, then runs the new image; downtime counts from the stop', async () => {
    const t = setup({
      old: { imageId: OLD, running: true, exitCode: 0 },
      probe: (attempt) => (attempt < 3 ? { ok: false, reason: 'ECONNREFUSED' } : { ok: true }),
    });
    // The old container stops answering at SIGTERM, but podman takes 500 ms to stop and remove it.
    t.engine.on(['rm'], (args) => {
      t.clock.time += 500;
      t.containers.delete(args.at(-1)!);
      return {};
    });
    const result = await replaceContainer(request(), t.ports);
    expect(result).toMatchObject({ status: 'healthy', downtimeMs: 2530 });
    expect(t.engine.callsStartingWith('stop')).toEqual([]);
    expect(t.engine.callsStartingWith('rm')).toEqual([['rm', '--force', '--ignore', '--time', '10', 'postgres-plugin']]);
    expect(commands(t.engine).slice(0, 3)).toEqual(['container inspect', 'rm', 'run']);
    expect(t.logger.lines).toContain('INFO plugin healthy plugin=postgres duration=2.0s check=http downtime=2.5s');
    expect(t.containers.get('postgres-plugin')?.imageId).toBe('b'.repeat(64));
  });

  describe('with a pod (the default of podman-run)', () => {
    const podded = () => request({ container: containerRunSpec({ pod: 'postgres-plugin-pod', ports: ['127.0.0.1:9090:9090'] }) });
    const config = '{"ports":["127.0.0.1:9090:9090"],"network":null}';

    it('makes the pod with the ports when it is missing, then runs the container in it without -p', async () => {
      const t = setup();
      t.engine.on(['pod', 'inspect'], { exitCode: 125, stderr: 'Error: no such pod postgres-plugin-pod' });
      expect(await replaceContainer(podded(), t.ports)).toMatchObject({ status: 'healthy' });
      expect(t.engine.calls.map((call) => call.slice(0, 2).join(' '))).toEqual(['container inspect', 'pod inspect', 'pod create', 'run -d']);
      expect(t.engine.callsStartingWith('pod', 'create')[0]).toEqual([
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
        `io.prism.nx-podman.pod-config=${config}`,
        '-p',
        '127.0.0.1:9090:9090',
      ]);
      const run = t.engine.callsStartingWith('run')[0]!;
      expect(run).toEqual(expect.arrayContaining(['--pod', 'postgres-plugin-pod']));
      expect(run).not.toContain('-p');
    });

    it('keeps a pod made with the same ports (no podman call for it besides the look)', async () => {
      const t = setup({ old: { imageId: OLD, running: true, exitCode: 0 } });
      t.engine.on(['pod', 'inspect'], { stdout: JSON.stringify({ Id: 'p1', Labels: { 'io.prism.nx-podman.pod-config': config } }) });
      expect(await replaceContainer(podded(), t.ports)).toMatchObject({ status: 'healthy' });
      expect(t.engine.calls.map((call) => call.slice(0, 2).join(' '))).toEqual(['container inspect', 'pod inspect', 'rm --force', 'run -d']);
    });

    it('makes a pod with other ports again, after the old container is gone', async () => {
      const t = setup({ old: { imageId: OLD, running: true, exitCode: 0 } });
      t.engine.on(['pod', 'inspect'], {
        stdout: JSON.stringify({ Id: 'p1', Labels: { 'io.prism.nx-podman.pod-config': '{"ports":["127.0.0.1:8080:9090"],"network":null}' } }),
      });
      expect(await replaceContainer(podded(), t.ports)).toMatchObject({ status: 'healthy' });
      expect(t.engine.calls.map((call) => call.slice(0, 2).join(' '))).toEqual([
        'container inspect',
        'pod inspect',
        'rm --force',
        'pod rm',
        'pod create',
        'run -d',
      ]);
      expect(t.engine.callsStartingWith('pod', 'rm')[0]).toEqual(['pod', 'rm', '--force', '--ignore', 'postgres-plugin-pod']);
    });

    it("an old container in another pod (an earlier watch's gate pod, `<name>-pod-<port>`) is removed with that pod; its own pod is kept", async () => {
      const t = setup({ old: { imageId: OLD, running: false, exitCode: 0, pod: 'gate0pod' } });
      t.engine.on(['pod', 'inspect'], { stdout: JSON.stringify({ Id: 'p1', Labels: { 'io.prism.nx-podman.pod-config': config } }) });
      expect(await replaceContainer(podded(), t.ports)).toMatchObject({ status: 'healthy' });
      expect(t.engine.callsStartingWith('pod', 'rm')).toEqual([['pod', 'rm', '--force', '--ignore', 'gate0pod']]);

      const same = setup({ old: { imageId: OLD, running: true, exitCode: 0, pod: 'p1' } });
      same.engine.on(['pod', 'inspect'], { stdout: JSON.stringify({ Id: 'p1', Labels: { 'io.prism.nx-podman.pod-config': config } }) });
      expect(await replaceContainer(podded(), same.ports)).toMatchObject({ status: 'healthy' });
      expect(same.engine.callsStartingWith('pod', 'rm')).toEqual([]);
    });

    it('a pod that cannot be made fails the replace, naming the option that avoids pods', async () => {
      const t = setup();
      t.engine.on(['pod', 'inspect'], { exitCode: 125 });
      t.engine.on(['pod', 'create'], {
        exitCode: 125,
        stderr: 'Error: building local pause image: finding pause binary: exec: "catatonit": executable file not found in $PATH',
      });
      const result = await replaceContainer(podded(), t.ports);
      expect(result).toEqual({
        status: 'failed',
        rolledBack: false,
        message:
          'Could not create the pod "postgres-plugin-pod" for "postgres" (exit 125): Error: building local pause image: finding pause binary: exec: "catatonit": executable file not found in $PATH. Set the podman-run option "pod" to false to run the container without a pod.',
      });
      expect(t.engine.callsStartingWith('run')).toEqual([]);
    });
  });

  it('gives each probe attempt at most the time left and waits the interval between attempts', async () => {
    const t = setup({ probe: () => ({ ok: false, reason: 'HTTP 503' }) });
    await replaceContainer(request({ health: { ...http, timeoutMs: 3000, intervalMs: 1000 } }), t.ports);
    expect(t.probeCalls.map((call) => call.options.timeoutMs)).toEqual([3000, 1990, 980]);
    expect(t.probeCalls[0]!.options.container).toBe('postgres-plugin');
  });

  it('starts no attempt in the last moments before the deadline, so the real reason is reported', async () => {
    // 10 ms probe + 990 ms interval leave 0 < t < 250 ms: an attempt cut that short could only time out.
    const t = setup({ probe: (attempt) => ({ ok: false, reason: attempt === 1 ? 'HTTP 404' : 'did not answer within 5 ms' }) });
    const result = await replaceContainer(request({ health: { ...http, timeoutMs: 1005, intervalMs: 990 } }), t.ports);
    expect(t.probeCalls.map((call) => call.options.timeoutMs)).toEqual([1005]);
    expect(result).toMatchObject({
      status: 'failed',
      message: expect.stringContaining('not healthy after 1.0s (GET http://127.0.0.1:9090/healthz): HTTP 404'),
    });
  });

  it('hands env values to podman through the environment only and never prints them', async () => {
    const t = setup({ behaviour: { [NEW]: 'exits' }, old: { imageId: OLD, running: true, exitCode: 0 } });
    const result = await replaceContainer(request(), t.ports);
    expect(t.runEnvs).toEqual([{ DB_PASSWORD: SECRET }, { DB_PASSWORD: SECRET }]);
    const runArgs = t.engine.callsStartingWith('run');
    expect(runArgs.flat()).not.toContain(SECRET);
    expect(runArgs[0]).toEqual(expect.arrayContaining(['--env', 'DB_PASSWORD']));
    expect(JSON.stringify(result) + t.logger.lines.join('\n')).not.toContain(SECRET);
  });

  it('when the new container exits: shows the last 50 log lines and rolls back to the previous image', async () => {
    const t = setup({ behaviour: { [NEW]: 'exits' }, old: { imageId: OLD, running: true, exitCode: 0 } });
    const result = await replaceContainer(request(), t.ports);
    expect(result).toEqual({
      status: 'failed',
      rolledBack: true,
      message:
        'The new container "postgres-plugin" of "postgres" (image bbbbbbbbbbbb) failed: the container exited with code 3. Rolled back: the previous image aaaaaaaaaaaa is running again in "postgres-plugin".',
    });
    expect(t.engine.callsStartingWith('logs')).toEqual([['logs', '--tail', '50', 'postgres-plugin']]);
    expect(t.logger.lines).toEqual(
      expect.arrayContaining([
        'ERROR plugin container failed plugin=postgres container=postgres-plugin reason=the container exited with code 3',
        'OUTPUT starting\npanic: cannot connect to database\n',
        'WARN rolling back to the previous image plugin=postgres image=aaaaaaaaaaaa',
      ]),
    );
    const runs = t.engine.callsStartingWith('run');
    expect(runs).toHaveLength(2);
    expect(runs[1]).toContain(`sha256:${OLD}`); // inspect's bare id, normalized
    expect(runs[1]).toContain(`io.prism.nx-podman.image=sha256:${OLD}`);
    expect(t.containers.get('postgres-plugin')).toEqual({ imageId: OLD, running: true, exitCode: 0 });
    // The failed container is removed before the old image is started again under the same name.
    expect(commands(t.engine).slice(-4)).toEqual(['logs', 'image exists', 'rm', 'run']);
  });

  it('when the health check never passes: fails after the timeout with the last probe error, then rolls back', async () => {
    let failing = true;
    const t = setup({
      old: { imageId: OLD, running: true, exitCode: 0 },
      probe: () => (failing ? { ok: false, reason: 'GET http://127.0.0.1:9090/healthz answered HTTP 503' } : { ok: true }),
    });
    t.engine.on(['logs'], () => {
      failing = false; // the rollback's container is healthy
      return { stdout: 'log line\n' };
    });
    const result = await replaceContainer(request({ health: { ...http, timeoutMs: 5000 } }), t.ports);
    expect(result.status).toBe('failed');
    expect(result).toMatchObject({ rolledBack: true });
    expect((result as { message: string }).message).toContain(
      'failed: not healthy after 5.0s (GET http://127.0.0.1:9090/healthz): GET http://127.0.0.1:9090/healthz answered HTTP 503.',
    );
    expect(t.logger.lines).toContain('INFO plugin healthy plugin=postgres duration=0.0s check=http rollback=true');
  });

  it('does not retry a fatal probe failure (e.g. no HEALTHCHECK in the image)', async () => {
    const t = setup({ probe: () => ({ ok: false, fatal: true, reason: 'the image has no HEALTHCHECK' }) });
    const result = await replaceContainer(request({ health: { check: { kind: 'image' }, timeoutMs: 30_000, intervalMs: 1000 } }), t.ports);
    expect(t.probeCalls).toHaveLength(1);
    expect(result).toMatchObject({ status: 'failed', rolledBack: false });
    expect((result as { message: string }).message).toMatch(/failed: the image has no HEALTHCHECK\. No previous container was running/);
  });

  it('with rollback off: leaves the failed container for inspection and starts nothing else', async () => {
    const t = setup({ behaviour: { [NEW]: 'exits' }, old: { imageId: OLD, running: true, exitCode: 0 } });
    const result = await replaceContainer(request({ rollback: false }), t.ports);
    expect(result).toMatchObject({ status: 'failed', rolledBack: false });
    expect((result as { message: string }).message).toContain('Rollback is off; the container is left for inspection ("podman logs postgres-plugin")');
    expect(t.engine.callsStartingWith('run')).toHaveLength(1);
    expect(t.containers.get('postgres-plugin')?.running).toBe(false);
  });

  it('does not roll back to an old container that was not running, nor to the same image', async () => {
    const exited = setup({ behaviour: { [NEW]: 'exits' }, old: { imageId: OLD, running: false, exitCode: 1 } });
    const a = await replaceContainer(request(), exited.ports);
    expect((a as { message: string }).message).toContain('No previous container was running');
    expect(exited.engine.callsStartingWith('run')).toHaveLength(1);

    const same = setup({ behaviour: { [NEW]: 'exits' }, old: { imageId: 'b'.repeat(64), running: true, exitCode: 0 } });
    const b = await replaceContainer(request(), same.ports);
    expect((b as { message: string }).message).toContain('the same image');
    expect(same.engine.callsStartingWith('run')).toHaveLength(1);
  });

  it("reports a podman run failure with podman's message and rolls back", async () => {
    const t = setup({ behaviour: { [NEW]: 'fails-run' }, old: { imageId: OLD, running: true, exitCode: 0 } });
    const result = await replaceContainer(request(), t.ports);
    expect(result).toMatchObject({ status: 'failed', rolledBack: true });
    expect((result as { message: string }).message).toContain('failed: podman run failed (exit 125): Error: crun: executable file `/plugin` not found.');
    // Nothing was created, so there are no logs to show.
    expect(t.engine.callsStartingWith('logs')).toHaveLength(0);
  });

  it('says so when the rollback fails too', async () => {
    const t = setup({ behaviour: { [NEW]: 'exits', [OLD]: 'exits' }, old: { imageId: OLD, running: true, exitCode: 0 } });
    const result = await replaceContainer(request(), t.ports);
    expect(result).toMatchObject({ status: 'failed', rolledBack: false });
    expect((result as { message: string }).message).toContain('Rolling back to the previous image aaaaaaaaaaaa failed too: the container exited with code 3.');
    expect(t.engine.callsStartingWith('logs')).toHaveLength(2);
  });

  it('without a health check: ready once the container ran through the grace period', async () => {
    const t = setup();
    const result = await replaceContainer(request({ health: { check: { kind: 'running', graceMs: 2000 }, timeoutMs: 30_000, intervalMs: 1000 } }), t.ports);
    expect(result).toMatchObject({ status: 'healthy', durationMs: 2000 });
    expect(t.probeCalls).toHaveLength(0);
    expect(t.engine.callsStartingWith('container', 'inspect').length).toBeGreaterThan(2);
    expect(t.logger.lines).toContain('INFO plugin healthy plugin=postgres duration=2.0s check=running');
  });

  it('without a health check: a container that exits during the grace period fails', async () => {
    const t = setup();
    let inspections = 0;
    t.engine.on(['container', 'inspect'], () => {
      inspections++;
      if (inspections === 1) return { exitCode: 125 };
      const running = inspections < 4;
      return { stdout: JSON.stringify([{ Image: NEW, State: { Status: running ? 'running' : 'exited', Running: running, ExitCode: running ? 0 : 2 } }]) };
    });
    const result = await replaceContainer(request({ health: { check: { kind: 'running', graceMs: 2000 }, timeoutMs: 30_000, intervalMs: 1000 } }), t.ports);
    expect((result as { message: string }).message).toContain('failed: the container exited with code 2.');
  });

  it('stops waiting when aborted, leaving the container alone and not rolling back', async () => {
    const controller = new AbortController();
    const t = setup({
      old: { imageId: OLD, running: true, exitCode: 0 },
      probe: () => {
        controller.abort();
        return { ok: false, reason: 'aborted' };
      },
    });
    const result = await replaceContainer(request(), { ...t.ports, signal: controller.signal });
    expect(result).toEqual({ status: 'failed', rolledBack: false, message: 'aborted' });
    expect(t.engine.callsStartingWith('run')).toHaveLength(1);
    expect(t.engine.callsStartingWith('logs')).toHaveLength(0);
  });

  it('fails with a clear message when the old container cannot be removed', async () => {
    const t = setup({ old: { imageId: OLD, running: true, exitCode: 0 } });
    t.engine.on(['rm'], { exitCode: 2, stderr: 'Error: container is busy' });
    const result = await replaceContainer(request(), t.ports);
    expect(result).toEqual({
      status: 'failed',
      rolledBack: false,
      message:
        'Could not remove the old container "postgres-plugin" of "postgres" (exit 2): Error: container is busy. Remove it with "podman rm -f postgres-plugin" and try again.',
    });
    expect(t.engine.callsStartingWith('run')).toHaveLength(0);
  });
});

describe('restartContainer (live update)', () => {
  const health: HealthSettings = { check: { kind: 'http', url: 'http://127.0.0.1:9090/healthz' } as ProbeCheck, timeoutMs: 30_000, intervalMs: 1000 };
  const setup = (probeResults: ProbeResult[]) => {
    const engine = new FakeEngine();
    engine.on(['container', 'inspect'], { stdout: JSON.stringify([{ Image: OLD, State: { Status: 'running', Running: true, ExitCode: 0 } }]) });
    const clock = new InstantClock();
    const probe: HealthProbe = { probe: async () => probeResults.shift() ?? { ok: true } };
    const logger = recordingLogger();
    const restart = () => restartContainer({ container: containerRunSpec(), health, stopTimeoutSeconds: 2 }, { engine, probe, clock, logger });
    return { engine, clock, logger, restart };
  };

  it('restarts, probes every 50 ms and asks podman nothing while the process starts, then logs healthy', async () => {
    const refused = { ok: false, reason: 'connect ECONNREFUSED' } as ProbeResult;
    const { engine, clock, logger, restart } = setup([refused, refused, refused]);
    await expect(restart()).resolves.toEqual({ status: 'healthy', downtimeMs: 150 });
    expect(engine.calls).toEqual([['restart', '--time', '2', 'postgres-plugin']]);
    expect(clock.time).toBe(150);
    expect(logger.lines.at(-1)).toBe('INFO plugin healthy plugin=postgres duration=0.1s check=http downtime=0.1s');
  });

  it('after the first second, a failing probe asks podman whether the container still runs (a crash fails fast)', async () => {
    const refused = { ok: false, reason: 'connect ECONNREFUSED' } as ProbeResult;
    const { engine, restart } = setup(Array.from({ length: 40 }, () => refused));
    engine.on(['container', 'inspect'], { stdout: JSON.stringify([{ Image: OLD, State: { Status: 'exited', Running: false, ExitCode: 2 } }]) });
    const result = await restart();
    expect(result).toEqual({
      status: 'failed',
      aborted: false,
      message: 'The container "postgres-plugin" of "postgres" failed after the live update: the container exited with code 2.',
    });
    expect(engine.callsStartingWith('container', 'inspect')).toHaveLength(1);
  });
});
