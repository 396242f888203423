import { quietLogger } from '../../testing/recording-logger';
import { createReloadScheduler, type OnBusyUpdate } from '../../core/reload-scheduler';
import { FakeClock } from '../../testing/fake-clock';
import { createSeededRandom } from '../../testing/seeded-random';
import { createJobRunner, type WatchBuildOutcome, type WatchRunOutcome, type WatchTargets } from './job-runner';
import type { LiveUpdateOutcome } from './live-updater';
import { normalizeWatchReloadOptions } from './normalize-options';

const PROJECTS = ['a', 'b', 'c'];
const RUNS = 300;

/** One podman-side operation in flight: it ends when the simulation says so. */
interface Pending {
  project: string;
  kind: 'live' | 'build' | 'run';
  signal: AbortSignal;
  finish(): void;
}

/**
 * The scheduler and the job runner together, over targets whose live updates, builds and runs end in a random order
 * with random outcomes: Go-only change sets go live (updated, compile error, failed restart), a go.mod in the change
 * set (or a reason kept from an earlier fallback) falls back to the full build + replace.
 */
function simulate(seed: number, onBusyUpdate: OnBusyUpdate) {
  const random = createSeededRandom(seed);
  const clock = new FakeClock();
  const violations: string[] = [];
  const pending: Pending[] = [];
  let tick = 0;
  const inFlight = new Map<string, string>();
  const lastChange = new Map<string, number>();
  const lastGoMod = new Map<string, number>();
  /** Tick at which the last successful full replace (build + run) started, per project. */
  const lastFullSuccess = new Map<string, number>();
  const lastJob = new Map<string, { startedTick: number; result?: string }>();

  const trace: string[] = [];
  const begin = (project: string, kind: Pending['kind'], signal: AbortSignal) => {
    trace.push(`${tick} begin ${kind} ${project}`);
    const other = inFlight.get(project);
    if (other) violations.push(`${kind} of ${project} while its ${other} runs (seed ${seed})`);
    inFlight.set(project, kind);
    return new Promise<void>((resolve) => pending.push({ project, kind, signal, finish: resolve }));
  };
  const end = (project: string) => inFlight.delete(project);
  const fullStarted = new Map<string, number>();

  const targets: WatchTargets = {
    describeBuild: async () => undefined,
    async build(project, { signal }): Promise<WatchBuildOutcome> {
      fullStarted.set(project, tick);
      await begin(project, 'build', signal);
      end(project);
      if (signal.aborted) return { status: 'aborted' };
      return random.chance(0.8)
        ? { status: 'built', imageId: `sha256:${String(++tick).padStart(64, '0')}`, durationMs: 1 }
        : { status: 'failed', exitCode: 1, message: 'x', outputTail: '' };
    },
    async run(project, { imageId, signal }): Promise<WatchRunOutcome> {
      await begin(project, 'run', signal);
      end(project);
      if (signal.aborted) return { status: 'failed', message: 'aborted', aborted: true };
      if (random.chance(0.9)) {
        lastFullSuccess.set(project, fullStarted.get(project) ?? -1);
        return { status: 'healthy', imageId: imageId ?? 'none' };
      }
      return { status: 'failed', message: 'unhealthy' };
    },
    prune: async () => undefined,
    stop: async () => undefined,
    live: {
      async update(project, request): Promise<LiveUpdateOutcome> {
        const full = request.fullReason ?? request.files.find((file) => file.endsWith('go.mod'));
        if (full !== undefined || request.files.length === 0) return { status: 'fallback', reason: full ?? 'no files' };
        await begin(project, 'live', request.signal);
        end(project);
        if (request.signal.aborted) return { status: 'aborted' };
        const roll = random.next();
        if (roll < 0.7) return { status: 'updated', durationMs: 1, compileMs: 1 };
        if (roll < 0.9) return { status: 'compile-failed', exitCode: 1, output: 'syntax error' };
        return { status: 'failed', message: 'unhealthy after restart' };
      },
      prepare: async () => [],
      replaced: () => undefined,
      liveContainers: () => [],
      liveBinary: () => undefined,
      close: async () => undefined,
    },
  };
  const options = normalizeWatchReloadOptions(
    { reload: true, onBusyUpdate, concurrency: 1 + random.int(3), debounce: random.pick([0, 100]) },
    { projectName: 'a', env: {} },
  );
  const runner = createJobRunner({ options, targets, logger: quietLogger });
  const scheduler = createReloadScheduler(
    { debounceMs: options.debounceMs, maxWaitMs: options.maxWaitMs, concurrency: options.concurrency, onBusyUpdate },
    {
      clock,
      driver: {
        startBuild: (request) => {
          lastJob.set(request.project, { startedTick: ++tick });
          trace.push(`${tick} job ${request.project} files=${request.files.join(',')} full=${request.fullReason ?? ''}`);
          runner.startBuild(request, (report) => {
            trace.push(`${tick} end ${request.project} ${report.result}`);
            lastJob.get(request.project)!.result = report.result;
            scheduler.buildFinished(request.project, report);
          });
        },
        abortBuild: (project) => runner.abortBuild(project),
      },
    },
  );
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  return (async () => {
    const steps = 20 + random.int(60);
    for (let i = 0; i < steps; i++) {
      const roll = random.next();
      if (roll < 0.4) {
        const changed = PROJECTS.filter(() => random.chance(0.5));
        const goMod = random.chance(0.15);
        const t = ++tick;
        for (const project of changed) {
          lastChange.set(project, t);
          if (goMod) lastGoMod.set(project, t);
        }
        trace.push(`${t} change ${changed.join(',')} ${goMod ? 'go.mod' : 'main.go'}`);
        scheduler.notify(changed, goMod ? `${i}/go.mod` : `${i}/main.go`);
      } else if (roll < 0.65) {
        clock.advance(random.pick([0, 50, 100, 1000]));
      } else if (pending.length > 0) {
        pending.splice(random.int(pending.length), 1)[0].finish();
      }
      await settle();
    }
    for (let guard = 0; guard < 2000 && !(scheduler.isIdle() && pending.length === 0); guard++) {
      clock.runAll();
      pending.splice(0, 1)[0]?.finish();
      await settle();
    }
    if (!scheduler.isIdle() || pending.length > 0) violations.push(`never became idle (seed ${seed})`);
    for (const [project, changedAt] of lastChange) {
      const job = lastJob.get(project);
      if (!job || job.startedTick < changedAt) violations.push(`change to ${project} at ${changedAt} lost (seed ${seed})`);
      else if (job.result === 'aborted') violations.push(`last job of ${project} aborted and never redone (seed ${seed})`);
      // A success after a go.mod change means the image was built and run after it: a live update never covers it.
      const goModAt = lastGoMod.get(project);
      if (goModAt !== undefined && job?.result === 'succeeded' && (lastFullSuccess.get(project) ?? -1) < goModAt) {
        violations.push(`go.mod of ${project} changed at ${goModAt}, last job succeeded, but no full replace after it (seed ${seed})`);
      }
    }
    if (violations.length && process.env.TRACE) console.log(trace.join('\n'));
    return violations;
  })();
}

describe.each<OnBusyUpdate>(['queue', 'restart'])('scheduler + job runner with live updates (onBusyUpdate=%s)', (onBusyUpdate) => {
  it(`one job per project at a time, no change lost, a go.mod change is always built in full (${RUNS} seeded runs)`, async () => {
    const violations: string[] = [];
    const only = process.env.SEED ? [Number(process.env.SEED)] : Array.from({ length: RUNS }, (_, i) => (i + 1) * 104729);
    for (const seed of only) violations.push(...(await simulate(seed, onBusyUpdate)));
    expect(violations).toEqual([]);
  });
});
