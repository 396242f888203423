import type { Logger } from '../../core/ports';
import type { BuildResultKind } from '../../core/reload-scheduler';
import { createJobRunner, type WatchBuildOutcome, type WatchRunOutcome, type WatchTargets } from './job-runner';
import { normalizeWatchReloadOptions } from './normalize-options';

const HEX = 'c'.repeat(64);

function setup(schema = { reload: true }, script: { build?: WatchBuildOutcome[]; run?: WatchRunOutcome[] } = {}) {
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
      return signal.aborted ? { status: 'failed', message: 'aborted', aborted: true } : (script.run?.shift() ?? { status: 'healthy', imageId: imageId ?? 'none' });
    },
    prune: async (project) => {
      calls.push(`prune ${project}`);
    },
    stop: async () => undefined,
  };
  const runner = createJobRunner({ options: normalizeWatchReloadOptions(schema, { projectName: 'p', env: {} }), targets, logger });
  const runJob = (project: string) =>
    new Promise<BuildResultKind>((resolve) => {
      runner.start(project, resolve);
    });
  return { runner, runJob, calls, lines, signals, hold: (promise: Promise<void>) => (gate = promise), holdRun: (promise: Promise<void>) => (runGate = promise) };
}

describe('createJobRunner', () => {
  it('builds then reloads exactly the image built', async () => {
    const { runJob, calls } = setup();
    await expect(runJob('p')).resolves.toBe('succeeded');
    expect(calls).toEqual(['build p', `run p sha256:${HEX}`, 'prune p']);
  });

  it('prunes superseded images only after a new image is running, and never with keepImages 0', async () => {
    const up = setup({ reload: true }, { build: [{ status: 'up-to-date', imageId: `sha256:${HEX}` }] });
    await up.runJob('p');
    expect(up.calls).toEqual(['build p', `run p sha256:${HEX}`]);
    const failing = setup({ reload: true }, { run: [{ status: 'failed', message: 'unhealthy' }] });
    await failing.runJob('p');
    expect(failing.calls).toEqual(['build p', `run p sha256:${HEX}`]);
    const keepAll = setup({ reload: true, keepImages: 0 } as never);
    await keepAll.runJob('p');
    expect(keepAll.calls).toEqual(['build p', `run p sha256:${HEX}`]);
  });

  it('an up-to-date image the container already runs is not run again, whatever the id form (sha256: prefix or not)', async () => {
    // podman-run reports the bare hex (podman inspect), the build record the sha256: form.
    const { runJob, calls, lines } = setup({ reload: true }, { build: [{ status: 'built', imageId: `sha256:${HEX}`, durationMs: 1 }, { status: 'up-to-date', imageId: `sha256:${HEX}` }], run: [{ status: 'healthy', imageId: HEX }] });
    await runJob('p');
    await expect(runJob('p')).resolves.toBe('succeeded');
    expect(calls).toEqual(['build p', `run p sha256:${HEX}`, 'prune p', 'build p']);
    expect(lines).toContain('INFO container already runs this image');
  });

  it('a failed build prints the output tail, keeps the container and does not reload', async () => {
    const { runJob, calls, lines } = setup({ reload: true }, { build: [{ status: 'failed', exitCode: 2, message: 'x', outputTail: 'main.go:3: undefined: y' }] });
    await expect(runJob('p')).resolves.toBe('failed');
    expect(calls).toEqual(['build p']);
    expect(lines).toEqual(['OUTPUT main.go:3: undefined: y', 'INFO keeping the running container']);
  });

  it('abort during the build aborts it; during the reload it is left to finish unless shutting down', async () => {
    const { runner, runJob, calls, signals, hold, holdRun } = setup();
    let release!: () => void;
    hold(new Promise<void>((resolve) => (release = resolve)));
    const first = runJob('p');
    await new Promise(setImmediate);
    runner.abort('p');
    expect(signals[0].aborted).toBe(true);
    release();
    await expect(first).resolves.toBe('aborted');

    hold(Promise.resolve());
    let releaseRun!: () => void;
    holdRun(new Promise<void>((resolve) => (releaseRun = resolve)));
    const second = runJob('p');
    await new Promise(setImmediate);
    expect(calls.at(-1)).toBe(`run p sha256:${HEX}`);
    runner.abort('p');
    expect(signals[1].aborted).toBe(false);
    runner.beginShutdown();
    runner.abort('p');
    expect(signals[1].aborted).toBe(true);
    releaseRun();
    await expect(second).resolves.toBe('aborted');
    await runner.idle();
    expect(runner.running).toEqual([]);
  });
});
