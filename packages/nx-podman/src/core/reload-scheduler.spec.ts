import { FakeClock } from '../testing/fake-clock';
import { createReloadScheduler, type BuildRequest, type ReloadSchedulerOptions, type SchedulerDriver } from './reload-scheduler';

type Event = ['detected', string, string[]] | ['start', string, string[]] | ['abort', string];

function setup(overrides: Partial<ReloadSchedulerOptions> = {}) {
  const clock = new FakeClock();
  const events: Event[] = [];
  const requests: BuildRequest[] = [];
  const driver: SchedulerDriver = {
    changesDetected: (project, files) => events.push(['detected', project, [...files].sort()]),
    startBuild: (request) => {
      requests.push(request);
      events.push(['start', request.project, [...request.files].sort()]);
    },
    abortBuild: (project) => events.push(['abort', project]),
  };
  const scheduler = createReloadScheduler({ debounceMs: 1000, maxWaitMs: 10_000, concurrency: 2, onBusyUpdate: 'queue', ...overrides }, { clock, driver });
  const starts = () => events.filter((e) => e[0] === 'start').map((e) => e[1]);
  return { clock, events, requests, scheduler, starts };
}

describe('reload scheduler: debounce', () => {
  it('starts nothing before the trailing quiet period, then builds once', () => {
    const { clock, scheduler, events } = setup();
    scheduler.notify(['postgres'], 'plugins/postgres/main.go');
    clock.advance(999);
    expect(events).toEqual([]);
    expect(scheduler.state('postgres')).toBe('pending');
    clock.advance(1);
    expect(events).toEqual([
      ['detected', 'postgres', ['plugins/postgres/main.go']],
      ['start', 'postgres', ['plugins/postgres/main.go']],
    ]);
    expect(scheduler.state('postgres')).toBe('building');
  });

  it('restarts the quiet period on every change (trailing debounce)', () => {
    const { clock, scheduler, starts } = setup();
    for (let i = 0; i < 5; i++) {
      scheduler.notify(['postgres'], `f${i}.go`);
      clock.advance(900);
    }
    expect(starts()).toEqual([]);
    clock.advance(100);
    expect(starts()).toEqual(['postgres']);
  });

  it('closes a change set after maxWait even while changes keep coming', () => {
    const { clock, scheduler, starts } = setup({ debounceMs: 1000, maxWaitMs: 3000 });
    scheduler.notify(['postgres'], 'a.go');
    for (let t = 500; t < 3000; t += 500) {
      clock.advanceTo(t);
      scheduler.notify(['postgres'], 'a.go');
    }
    expect(starts()).toEqual([]);
    clock.advanceTo(3000);
    expect(starts()).toEqual(['postgres']);
  });

  it('with debounce 0 builds on the next timer tick', () => {
    const { clock, scheduler, starts } = setup({ debounceMs: 0 });
    scheduler.notify(['kafka'], 'x.go');
    expect(starts()).toEqual([]);
    clock.advance(0);
    expect(starts()).toEqual(['kafka']);
  });
});

describe('reload scheduler: change sets', () => {
  it('builds a project once when core and the project change in one window (semantic 2)', () => {
    const { clock, scheduler, starts, events } = setup({ concurrency: 3 });
    // The runner expands a core change to its dependents before notifying.
    scheduler.notify(['postgres', 'kafka', 'redis'], 'plugins/core/core.go');
    clock.advance(300);
    scheduler.notify(['postgres'], 'plugins/postgres/main.go');
    clock.advance(1000);
    expect(starts().sort()).toEqual(['kafka', 'postgres', 'redis']);
    expect(events).toContainEqual(['start', 'postgres', ['plugins/core/core.go', 'plugins/postgres/main.go']]);
  });

  it('reports each changed project once per change set, before starting builds', () => {
    const { clock, scheduler, events } = setup();
    scheduler.notify(['a'], '1');
    scheduler.notify(['a'], '2');
    scheduler.notify(['b'], '3');
    clock.advance(1000);
    expect(events.map((e) => e.slice(0, 2))).toEqual([
      ['detected', 'a'],
      ['detected', 'b'],
      ['start', 'a'],
      ['start', 'b'],
    ]);
  });

  it('ignores a notification with no projects', () => {
    const { clock, scheduler } = setup();
    scheduler.notify([], 'README.md');
    expect(clock.pendingTimers).toBe(0);
    expect(scheduler.isIdle()).toBe(true);
  });
});

describe('reload scheduler: busy projects (semantic 3)', () => {
  it('queue: a change during a build gives exactly one follow-up build covering all changes', () => {
    const { clock, scheduler, starts, events } = setup();
    scheduler.notify(['postgres'], 'a.go');
    clock.advance(1000);
    expect(starts()).toEqual(['postgres']);
    scheduler.notify(['postgres'], 'b.go');
    clock.advance(1000);
    scheduler.notify(['postgres'], 'c.go');
    clock.advance(1000);
    expect(scheduler.state('postgres')).toBe('building+dirty');
    expect(starts()).toEqual(['postgres']);
    scheduler.buildFinished('postgres', 'succeeded');
    expect(starts()).toEqual(['postgres', 'postgres']);
    expect(events[events.length - 1]).toEqual(['start', 'postgres', ['b.go', 'c.go']]);
    scheduler.buildFinished('postgres', 'succeeded');
    expect(scheduler.isIdle()).toBe(true);
  });

  it('queue: a change that arrives just before the build ends is not lost', () => {
    const { clock, scheduler, starts } = setup();
    scheduler.notify(['postgres'], 'a.go');
    clock.advance(1000);
    scheduler.notify(['postgres'], 'b.go');
    clock.advance(10);
    scheduler.buildFinished('postgres', 'succeeded');
    expect(scheduler.state('postgres')).toBe('pending');
    clock.advance(1000);
    expect(starts()).toEqual(['postgres', 'postgres']);
  });

  it('restart: aborts the stale build at the first change, builds again once debounced and after the abort ended', () => {
    const { clock, scheduler, events, starts } = setup({ onBusyUpdate: 'restart' });
    scheduler.notify(['postgres'], 'a.go');
    clock.advance(1000);
    scheduler.notify(['postgres'], 'b.go');
    expect(events[events.length - 1]).toEqual(['abort', 'postgres']);
    scheduler.notify(['postgres'], 'c.go');
    expect(events.filter((e) => e[0] === 'abort')).toHaveLength(1);
    clock.advance(1000);
    // The aborted build has not reported its end yet: never two builds at once.
    expect(starts()).toEqual(['postgres']);
    scheduler.buildFinished('postgres', 'aborted');
    expect(starts()).toEqual(['postgres', 'postgres']);
    expect(events[events.length - 1]).toEqual(['start', 'postgres', ['b.go', 'c.go']]);
  });

  it('restart: when the aborted build ends before the window closes, the project waits for the debounce', () => {
    const { clock, scheduler, starts } = setup({ onBusyUpdate: 'restart' });
    scheduler.notify(['postgres'], 'a.go');
    clock.advance(1000);
    scheduler.notify(['postgres'], 'b.go');
    scheduler.buildFinished('postgres', 'aborted');
    expect(starts()).toEqual(['postgres']);
    clock.advance(1000);
    expect(starts()).toEqual(['postgres', 'postgres']);
  });

  it('a failed build is retried by the next change only', () => {
    const { clock, scheduler, starts } = setup();
    scheduler.notify(['postgres'], 'a.go');
    clock.advance(1000);
    scheduler.buildFinished('postgres', 'failed');
    clock.advance(60_000);
    expect(starts()).toEqual(['postgres']);
    scheduler.notify(['postgres'], 'a.go');
    clock.advance(1000);
    expect(starts()).toEqual(['postgres', 'postgres']);
  });
});

describe('reload scheduler: concurrency', () => {
  it('runs at most `concurrency` builds and starts waiting ones in order as slots free', () => {
    const { clock, scheduler, starts } = setup({ concurrency: 2 });
    scheduler.notify(['a', 'b', 'c', 'd'], 'core.go');
    clock.advance(1000);
    expect(starts()).toEqual(['a', 'b']);
    expect(scheduler.state('c')).toBe('pending');
    scheduler.buildFinished('b', 'succeeded');
    expect(starts()).toEqual(['a', 'b', 'c']);
    scheduler.buildFinished('a', 'failed');
    expect(starts()).toEqual(['a', 'b', 'c', 'd']);
  });

  it("a project that starts from the waiting line during an open change set builds once more, with that set's files", () => {
    // The build sees the changed tree, but its request did not list b.go: whether a change set can be a live update
    // or needs the image build (go.mod) is decided on the files, so they must reach a job (the job runner property test).
    const { clock, scheduler, starts, requests } = setup({ concurrency: 1 });
    scheduler.notify(['a', 'b'], 'core.go');
    clock.advance(1000);
    scheduler.notify(['b'], 'b/go.mod');
    scheduler.buildFinished('a', 'succeeded');
    expect(starts()).toEqual(['a', 'b']);
    clock.advance(1000);
    scheduler.buildFinished('b', 'succeeded');
    expect(starts()).toEqual(['a', 'b', 'b']);
    expect(requests.at(-1)).toMatchObject({ project: 'b', files: ['b/go.mod'] });
    scheduler.buildFinished('b', 'succeeded');
    expect(scheduler.isIdle()).toBe(true);
  });

  it('handles a driver that reports the end synchronously', () => {
    const clock = new FakeClock();
    const started: string[] = [];
    const scheduler = createReloadScheduler(
      { debounceMs: 10, maxWaitMs: 100, concurrency: 1, onBusyUpdate: 'queue' },
      {
        clock,
        driver: {
          startBuild: ({ project }) => {
            started.push(project);
            scheduler.buildFinished(project, 'succeeded');
          },
          abortBuild: () => undefined,
        },
      },
    );
    scheduler.notify(['a', 'b', 'c'], 'x');
    clock.advance(10);
    expect(started).toEqual(['a', 'b', 'c']);
    expect(scheduler.isIdle()).toBe(true);
  });
});

describe('reload scheduler: initial build and dispose', () => {
  it('requestBuild starts at once without debounce, within concurrency', () => {
    const { scheduler, starts } = setup({ concurrency: 2 });
    scheduler.requestBuild(['a', 'b', 'c']);
    expect(starts()).toEqual(['a', 'b']);
  });

  it('dispose cancels the timer, drops waiting work and aborts running builds', () => {
    const { clock, scheduler, events, starts } = setup({ concurrency: 1 });
    scheduler.notify(['a', 'b'], 'x');
    clock.advance(1000);
    scheduler.notify(['c'], 'y');
    expect(scheduler.dispose()).toEqual(['a']);
    expect(events[events.length - 1]).toEqual(['abort', 'a']);
    expect(clock.pendingTimers).toBe(0);
    scheduler.buildFinished('a', 'aborted');
    clock.advance(10_000);
    scheduler.notify(['a'], 'z');
    clock.advance(10_000);
    expect(starts()).toEqual(['a']);
    expect(scheduler.isIdle()).toBe(true);
  });

  it('ignores the end of a build it does not know', () => {
    const { scheduler } = setup();
    expect(() => scheduler.buildFinished('nope', 'succeeded')).not.toThrow();
  });
});

describe('reload scheduler: build now and the countdown', () => {
  it('closesAt follows the debounce; buildNow takes one project out of the open change set and starts it', () => {
    const clock = new FakeClock();
    const started: string[][] = [];
    const scheduler = createReloadScheduler(
      { debounceMs: 1000, maxWaitMs: 10_000, concurrency: 2, onBusyUpdate: 'queue' },
      { clock, driver: { startBuild: (request) => started.push([request.project, ...request.files, request.fullReason ?? '']), abortBuild: () => undefined } },
    );
    expect(scheduler.closesAt()).toBeUndefined();
    scheduler.notify(['postgres', 'kafka'], 'core/a.go');
    expect(scheduler.closesAt()).toBe(clock.now() + 1000);
    scheduler.buildNow('postgres', 'asked');
    expect(started).toEqual([['postgres', 'core/a.go', '']]);
    clock.advance(1000);
    expect(started).toEqual([
      ['postgres', 'core/a.go', ''],
      ['kafka', 'core/a.go', ''],
    ]);
    expect(scheduler.closesAt()).toBeUndefined();
    scheduler.buildFinished('kafka', 'succeeded');
    scheduler.buildNow('redis', 'asked');
    expect(started[2]).toEqual(['redis', 'asked']);
    scheduler.buildNow('postgres', 'asked');
    scheduler.buildFinished('postgres', 'succeeded');
    expect(started.slice(3)).toEqual([['postgres', 'asked']]);
  });
});
