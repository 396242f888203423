import { quietLogger } from '../../testing/recording-logger';
import type { Logger } from '../../core/ports';
import type { JobResult } from '../../core/watch-state';
import type { LiveUpdateOutcome } from './live-updater';
import { createJobRunner, type WatchBuildOutcome, type WatchRunOutcome, type WatchTargets } from './job-runner';
import { normalizeWatchReloadOptions } from './normalize-options';

const HEX = 'c'.repeat(64);

const OFF = { reload: true, liveUpdate: 'off' as const };

function setup(
  schema: Record<string, unknown> = { reload: true },
  script: { build?: WatchBuildOutcome[]; run?: WatchRunOutcome[]; live?: LiveUpdateOutcome[] } = {},
) {
  const lines: string[] = [];
  const logger: Logger = {
    verbose: false,
    debug: () => undefined,
    info: (msg) => lines.push(`INFO ${msg}`),
    warn: (msg) => lines.push(`WARN ${msg}`),
    error: (msg) => lines.push(`ERROR ${msg}`),
    output: (text) => lines.push(`OUTPUT ${text.trim()}`),
  };
  const calls: string[] = [];
  const signals: AbortSignal[] = [];
  let gate: Promise<void> = Promise.resolve();
  let runGate: Promise<void> = Promise.resolve();
  let pruneGate: Promise<void> = Promise.resolve();
  const pruneCancelled: (() => boolean)[] = [];
  const targets: WatchTargets = {
    describeBuild: async () => undefined,
    build: async (project, { signal }) => {
      calls.push(`build ${project}`);
      signals.push(signal);
      await gate;
      return signal.aborted ? { status: 'aborted' } : (script.build?.shift() ?? { status: 'built', imageId: `sha256:${HEX}`, durationMs: 1 });
    },
    run: async (project, { imageId, signal }) => {
      calls.push(`run ${project} ${imageId}`);
      await runGate;
      return signal.aborted
        ? { status: 'failed', message: 'aborted', aborted: true }
        : (script.run?.shift() ?? { status: 'healthy', imageId: imageId ?? 'none' });
    },
    prune: async (project, { cancelled }) => {
      calls.push(`prune ${project}`);
      pruneCancelled.push(cancelled);
      await pruneGate;
    },
    stop: async () => undefined,
    live: {
      update: async (project, request) => {
        calls.push(`live ${project} ${request.files.join(',')}${request.fullReason ? ` full=${request.fullReason}` : ''}`);
        return script.live?.shift() ?? { status: 'updated', durationMs: 1, compileMs: 1 };
      },
      prepare: async () => [],
      replaced: (project) => calls.push(`replaced ${project}`),
      liveContainers: () => [],
      liveBinary: () => undefined,
      close: async () => undefined,
    },
  };
  const runner = createJobRunner({ options: normalizeWatchReloadOptions(schema, { projectName: 'p', env: {} }), targets, logger });
  const runJob = (project: string, files: string[] = [], fullReason?: string) =>
    new Promise<JobResult>((resolve) => {
      runner.startBuild({ project, files, fullReason }, (report) => resolve(report.result));
    });
  return {
    runner,
    runJob,
    calls,
    lines,
    signals,
    hold: (promise: Promise<void>) => (gate = promise),
    holdRun: (promise: Promise<void>) => (runGate = promise),
    holdPrune: (promise: Promise<void>) => (pruneGate = promise),
    pruneCancelled,
  };
}

describe('createJobRunner', () => {
  it('builds then reloads exactly the image built', async () => {
    const { runJob, calls } = setup(OFF);
    await expect(runJob('p')).resolves.toBe('succeeded');
    expect(calls).toEqual(['build p', `run p sha256:${HEX}`, 'prune p']);
  });

  it('prunes superseded images only after a new image is running, and never with keepImages 0', async () => {
    const up = setup(OFF, { build: [{ status: 'up-to-date', imageId: `sha256:${HEX}` }] });
    await up.runJob('p');
    expect(up.calls).toEqual(['build p', `run p sha256:${HEX}`]);
    const failing = setup(OFF, { run: [{ status: 'failed', message: 'unhealthy' }] });
    await failing.runJob('p');
    expect(failing.calls).toEqual(['build p', `run p sha256:${HEX}`]);
    const keepAll = setup({ ...OFF, keepImages: 0 });
    await keepAll.runJob('p');
    expect(keepAll.calls).toEqual(['build p', `run p sha256:${HEX}`]);
  });

  it('a prune under way is told once the watcher stops (its exit needs the time), and the job ends with it', async () => {
    const { runner, runJob, calls, holdPrune, pruneCancelled } = setup(OFF);
    let release!: () => void;
    holdPrune(new Promise<void>((resolve) => (release = resolve)));
    const job = runJob('p');
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['build p', `run p sha256:${HEX}`, 'prune p']);
    expect(pruneCancelled[0]!()).toBe(false);
    runner.beginShutdown();
    expect(pruneCancelled[0]!()).toBe(true);
    release();
    await expect(job).resolves.toBe('succeeded');
  });

  it('at shutdown a job still building its image can no longer touch its container: it counts as settled at once, one replacing it does not', async () => {
    const building = setup(OFF);
    building.hold(new Promise<void>(() => undefined)); // podman takes seconds to end an aborted build
    void building.runJob('p');
    await new Promise((resolve) => setImmediate(resolve));
    building.runner.beginShutdown();
    building.runner.abortBuild('p');
    await building.runner.settled('p'); // does not wait for the build to end

    const replacing = setup(OFF);
    let release!: () => void;
    replacing.holdRun(new Promise<void>((resolve) => (release = resolve)));
    const job = replacing.runJob('p');
    await new Promise((resolve) => setImmediate(resolve));
    expect(replacing.calls).toEqual(['build p', `run p sha256:${HEX}`]);
    replacing.runner.beginShutdown();
    let settled = false;
    const settling = replacing.runner.settled('p').then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    release();
    await settling;
    await job;
  });

  it('an up-to-date image the container already runs is not run again, whatever the id form (sha256: prefix or not)', async () => {
    // podman-run reports the bare hex (podman inspect), the build record the sha256: form.
    const { runJob, calls, lines } = setup(OFF, {
      build: [
        { status: 'built', imageId: `sha256:${HEX}`, durationMs: 1 },
        { status: 'up-to-date', imageId: `sha256:${HEX}` },
      ],
      run: [{ status: 'healthy', imageId: HEX }],
    });
    await runJob('p');
    await expect(runJob('p')).resolves.toBe('succeeded');
    expect(calls).toEqual(['build p', `run p sha256:${HEX}`, 'prune p', 'build p']);
    expect(lines).toContain('INFO container already runs this image');
  });

  it('a failed build prints the output tail, keeps the container and does not reload', async () => {
    const { runJob, calls, lines } = setup(OFF, { build: [{ status: 'failed', exitCode: 2, message: 'x', outputTail: 'main.go:3: undefined: y' }] });
    await expect(runJob('p')).resolves.toBe('failed');
    expect(calls).toEqual(['build p']);
    expect(lines).toEqual(['OUTPUT main.go:3: undefined: y', 'INFO keeping the running container']);
  });

  it('abort during the build aborts it; during the reload it is left to finish unless shutting down', async () => {
    const { runner, runJob, calls, signals, hold, holdRun, lines } = setup(OFF);
    let release!: () => void;
    hold(new Promise<void>((resolve) => (release = resolve)));
    const first = runJob('p');
    await new Promise(setImmediate);
    runner.abortBuild('p');
    expect(signals[0].aborted).toBe(true);
    release();
    await expect(first).resolves.toBe('aborted');

    hold(Promise.resolve());
    let releaseRun!: () => void;
    holdRun(new Promise<void>((resolve) => (releaseRun = resolve)));
    const second = runJob('p');
    await new Promise(setImmediate);
    expect(calls.at(-1)).toBe(`run p sha256:${HEX}`);
    runner.abortBuild('p');
    expect(signals[1].aborted).toBe(false);
    runner.beginShutdown();
    runner.abortBuild('p');
    expect(signals[1].aborted).toBe(true);
    releaseRun();
    await expect(second).resolves.toBe('aborted');
    await runner.idle();
    const logged = lines.length;
    runner.abortBuild('p');
    expect(lines.length).toBe(logged);
  });

  it('image retention never overlaps an image build: a prune waits for running builds, a build for a running prune', async () => {
    const events: string[] = [];
    const gates = new Map<string, () => void>();
    const hold = (name: string) => new Promise<void>((resolve) => gates.set(name, resolve));
    const targets: WatchTargets = {
      describeBuild: async () => undefined,
      build: async (project) => {
        events.push(`build ${project}`);
        await hold(`build ${project}`);
        events.push(`built ${project}`);
        return { status: 'built', imageId: `sha256:${project.repeat(64)}`, durationMs: 1 };
      },
      run: async (_project, { imageId }) => ({ status: 'healthy', imageId: imageId ?? '' }),
      prune: async (project) => {
        events.push(`prune ${project}`);
        await hold(`prune ${project}`);
        events.push(`pruned ${project}`);
      },
      stop: async () => undefined,
    };
    const runner = createJobRunner({ options: normalizeWatchReloadOptions(OFF, { projectName: 'a', env: {} }), targets, logger: quietLogger });
    const tick = () => new Promise(setImmediate);
    runner.startBuild({ project: 'a', files: [] }, () => undefined);
    runner.startBuild({ project: 'b', files: [] }, () => undefined);
    await tick();
    gates.get('build a')!();
    await tick();
    // a's image runs; its prune waits for b's build.
    expect(events).toEqual(['build a', 'build b', 'built a']);
    gates.get('build b')!();
    await tick();
    expect(events).toEqual(['build a', 'build b', 'built a', 'built b', 'prune a']);
    runner.startBuild({ project: 'c', files: [] }, () => undefined);
    await tick();
    // c's build waits for a's prune.
    expect(events).toEqual(['build a', 'build b', 'built a', 'built b', 'prune a']);
    gates.get('prune a')!();
    await tick();
    await tick();
    expect(events.slice(5)).toEqual(['pruned a', expect.stringMatching(/^(prune b|build c)$/)]);
    for (let i = 0; i < 10; i++) {
      for (const release of gates.values()) release();
      await tick();
    }
    await runner.idle();
    const order = (name: string) => events.indexOf(name);
    // Never a build between a prune's start and its end.
    for (const project of ['a', 'b', 'c']) {
      const start = order(`prune ${project}`);
      const end = order(`pruned ${project}`);
      if (start >= 0) expect(events.slice(start, end).filter((e) => e.startsWith('build '))).toEqual([]);
    }
  });

  describe('live update', () => {
    it('a Go-only change set updates in place: no image build, no replace', async () => {
      const { runJob, calls } = setup();
      await expect(runJob('p', ['p/main.go'])).resolves.toBe('succeeded');
      expect(calls).toEqual(['live p p/main.go']);
    });

    it('a fallback logs its reason and takes the full path; the reason sticks until a full reload succeeds', async () => {
      const { runJob, calls, lines } = setup(
        { reload: true },
        {
          live: [
            { status: 'fallback', reason: 'p/go.mod changed' },
            { status: 'fallback', reason: 'p/go.mod changed' },
          ],
          build: [{ status: 'failed', exitCode: 1, message: 'x', outputTail: '' }],
        },
      );
      await expect(runJob('p', ['p/go.mod'])).resolves.toBe('failed');
      expect(lines).toContain('INFO full rebuild');
      // The next, Go-only save must not skip the go.mod change whose build failed.
      await expect(runJob('p', ['p/main.go'])).resolves.toBe('succeeded');
      await expect(runJob('p', ['p/main.go'])).resolves.toBe('succeeded');
      expect(calls).toEqual([
        'live p p/go.mod',
        'build p',
        'live p p/main.go full=p/go.mod changed',
        'build p',
        `run p sha256:${HEX}`,
        'replaced p',
        'prune p',
        'live p p/main.go',
      ]);
    });

    it('a project with no live update recipe: an unchanged image its container already runs is not run again', async () => {
      const noRecipe = { status: 'fallback', reason: 'the final stage copies no binary from a build stage', noRecipe: true } as const;
      const { runJob, calls, lines } = setup(
        { reload: true },
        {
          live: [noRecipe, noRecipe],
          build: [
            { status: 'built', imageId: `sha256:${HEX}`, durationMs: 1 },
            { status: 'up-to-date', imageId: `sha256:${HEX}` },
          ],
          run: [{ status: 'healthy', imageId: HEX }],
        },
      );
      await expect(runJob('p', ['p/main.go'])).resolves.toBe('succeeded');
      // `touch p/main.go`: the image is up to date and the container runs it.
      await expect(runJob('p', ['p/main.go'])).resolves.toBe('succeeded');
      expect(calls).toEqual(['live p p/main.go', 'build p', `run p sha256:${HEX}`, 'replaced p', 'prune p', 'live p p/main.go', 'build p']);
      expect(lines.at(-1)).toBe('INFO container already runs this image');
    });

    it('a compile error is shown in full, keeps the container, and is a failed job', async () => {
      const { runJob, calls, lines } = setup({ reload: true }, { live: [{ status: 'compile-failed', exitCode: 1, output: './main.go:3:1: syntax error' }] });
      await expect(runJob('p', ['p/main.go'])).resolves.toBe('failed');
      expect(calls).toEqual(['live p p/main.go']);
      expect(lines).toEqual(['ERROR build failed', 'OUTPUT ./main.go:3:1: syntax error', 'INFO keeping the running container']);
    });

    it('is off with liveUpdate off, without reload, and with build off', async () => {
      for (const schema of [OFF, { reload: false }, { reload: true, build: false }]) {
        const { runJob, calls } = setup(schema);
        await runJob('p', ['p/main.go']);
        expect(calls.some((call) => call.startsWith('live'))).toBe(false);
      }
    });
  });
});
