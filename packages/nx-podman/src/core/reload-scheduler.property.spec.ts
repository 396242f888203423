import { FakeClock } from '../testing/fake-clock';
import { createSeededRandom } from '../testing/seeded-random';
import { createReloadScheduler, type BuildResultKind, type OnBusyUpdate, type ReloadScheduler } from './reload-scheduler';

const PROJECTS = ['core-dependent-a', 'b', 'c', 'd', 'e'];
const RUNS = 400;

/** A driver that models real builds: a running set, and builds that end when the test says so. */
function simulate(seed: number, onBusyUpdate: OnBusyUpdate) {
  const random = createSeededRandom(seed);
  const clock = new FakeClock();
  const concurrency = 1 + random.int(3);
  const debounceMs = random.pick([0, 50, 1000]);
  const maxWaitMs = debounceMs + random.pick([0, 100, 5000]);
  // A global order of changes and build starts: a build "sees" every change with a smaller tick.
  let tick = 0;
  const running = new Map<string, { startedTick: number; abortRequested: boolean }>();
  const lastChange = new Map<string, number>();
  const lastBuild = new Map<string, { startedTick: number; result?: BuildResultKind }>();
  const starts = new Map<string, number>();
  const detected = new Map<string, number>();
  const violations: string[] = [];
  let maxRunning = 0;

  const scheduler: ReloadScheduler = createReloadScheduler(
    { debounceMs, maxWaitMs, concurrency, onBusyUpdate },
    {
      clock,
      driver: {
        changesDetected: (project) => detected.set(project, (detected.get(project) ?? 0) + 1),
        startBuild: ({ project }) => {
          if (running.has(project)) violations.push(`two builds of ${project} at once (seed ${seed})`);
          const startedTick = ++tick;
          running.set(project, { startedTick, abortRequested: false });
          lastBuild.set(project, { startedTick });
          starts.set(project, (starts.get(project) ?? 0) + 1);
          maxRunning = Math.max(maxRunning, running.size);
        },
        abortBuild: (project) => {
          const build = running.get(project);
          if (!build) violations.push(`abort of ${project}, which is not building (seed ${seed})`);
          else build.abortRequested = true;
        },
      },
    },
  );

  const finish = (project: string, result: BuildResultKind) => {
    running.delete(project);
    lastBuild.get(project)!.result = result;
    scheduler.buildFinished(project, result);
  };
  const finishRandom = (project: string) => {
    const build = running.get(project)!;
    finish(project, build.abortRequested ? 'aborted' : random.chance(0.2) ? 'failed' : 'succeeded');
  };

  const steps = 20 + random.int(80);
  for (let i = 0; i < steps; i++) {
    const roll = random.next();
    if (roll < 0.45) {
      const changed = PROJECTS.filter(() => random.chance(0.35));
      const t = ++tick;
      for (const project of changed) lastChange.set(project, t);
      scheduler.notify(changed, `file-${i}`);
    } else if (roll < 0.75) {
      clock.advance(random.pick([0, 1, 10, 49, 50, 500, 999, 1000, 3000, 6000]));
    } else if (running.size > 0) {
      finishRandom(random.pick([...running.keys()]));
    }
  }
  // Quiet: no more changes; let timers fire and builds end until nothing is left to do.
  for (let guard = 0; guard < 1000 && !(scheduler.isIdle() && running.size === 0); guard++) {
    clock.runAll();
    for (const project of [...running.keys()]) finishRandom(project);
  }
  if (!scheduler.isIdle() || running.size > 0) violations.push(`never became idle (seed ${seed})`);
  if (maxRunning > concurrency) violations.push(`${maxRunning} builds at once with concurrency ${concurrency} (seed ${seed})`);

  for (const [project, changedAt] of lastChange) {
    const build = lastBuild.get(project);
    if (!build || build.startedTick < changedAt) {
      violations.push(`change to ${project} at tick ${changedAt} lost: last build started at ${build?.startedTick} (seed ${seed})`);
    } else if (build.result === 'aborted') {
      violations.push(`last build of ${project} was aborted and never redone (seed ${seed})`);
    }
  }
  for (const [project, count] of starts) {
    // Every build is owed to a distinct closed change set that touched the project.
    if (count > (detected.get(project) ?? 0)) {
      violations.push(`${project} built ${count} times for ${detected.get(project)} change sets (seed ${seed})`);
    }
  }
  return violations;
}

describe.each<OnBusyUpdate>(['queue', 'restart'])('reload scheduler properties (onBusyUpdate=%s)', (onBusyUpdate) => {
  it(`never builds a project twice at once, never loses a change, never builds more than once per change set (${RUNS} seeded runs)`, () => {
    const violations: string[] = [];
    for (let seed = 1; seed <= RUNS; seed++) violations.push(...simulate(seed * 7919, onBusyUpdate));
    expect(violations).toEqual([]);
  });
});

describe('reload scheduler: one build per affected project per change set', () => {
  it('changes spread over one window (gaps < debounce, span < maxWait) build each touched project exactly once', () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      const random = createSeededRandom(seed);
      const clock = new FakeClock();
      const starts: string[] = [];
      const scheduler = createReloadScheduler(
        { debounceMs: 1000, maxWaitMs: 10_000, concurrency: 1 + random.int(3), onBusyUpdate: random.pick(['queue', 'restart'] as const) },
        { clock, driver: { startBuild: ({ project }) => starts.push(project), abortBuild: () => undefined } },
      );
      const touched = new Set<string>();
      let elapsed = 0;
      const changes = 1 + random.int(20);
      for (let i = 0; i < changes; i++) {
        const projects = PROJECTS.filter(() => random.chance(0.4));
        projects.forEach((p) => touched.add(p));
        scheduler.notify(projects, `f${i}`);
        const gap = random.int(999);
        if (elapsed + gap >= 9000) break;
        elapsed += gap;
        clock.advance(gap);
      }
      for (let guard = 0; guard < 100 && !scheduler.isIdle(); guard++) {
        clock.runAll();
        for (const project of scheduler.building()) scheduler.buildFinished(project, 'succeeded');
      }
      expect({ seed, starts: [...starts].sort() }).toEqual({ seed, starts: [...touched].sort() });
    }
  });
});
