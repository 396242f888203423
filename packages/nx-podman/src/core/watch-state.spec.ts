import { FakeClock } from '../testing/fake-clock';
import { createReloadScheduler } from './reload-scheduler';
import { createWatchState, describePublishedPort, STATUS_HISTORY, STATUS_OUTPUT_LIMIT, type JobReport } from './watch-state';

/** The state as the watcher wires it: the scheduler decides over it; the test plays the job runner (phases, ends). */
function loop(options: { debounceMs?: number; concurrency?: number } = {}) {
  const clock = new FakeClock(1000);
  const state = createWatchState({ now: () => clock.now(), stage: 'debug', reload: true });
  state.setProjects(['postgres', 'kafka']);
  const started: string[] = [];
  const scheduler = createReloadScheduler(
    { debounceMs: options.debounceMs ?? 100, maxWaitMs: 10_000, concurrency: options.concurrency ?? 2, onBusyUpdate: 'queue' },
    { clock, state, driver: { startBuild: (request) => started.push(`${request.project} ${request.files.join(',')}`), abortBuild: () => undefined } },
  );
  const get = (name: string) => state.snapshot().projects.find((p) => p.name === name)!;
  /** One job over `files`, ended with `report`. */
  const job = (project: string, files: string[], report: JobReport) => {
    for (const file of files) scheduler.notify([project], file);
    if (files.length === 0) scheduler.requestBuild([project], 'build requested');
    clock.runAll();
    scheduler.buildFinished(project, report);
  };
  return { clock, state, scheduler, started, get, job, at: (ms: number) => clock.advanceTo(ms) };
}

describe('watch state: one state the scheduler decides over and the page reads', () => {
  it('a live update: pending with a countdown, live-updating, reloading, healthy with compile, restart and save → healthy times', () => {
    const { state, scheduler, at, get } = loop();
    at(2000);
    scheduler.notify(['postgres'], 'plugins/postgres/main.go');
    expect(get('postgres')).toMatchObject({ state: 'pending', pendingFiles: ['plugins/postgres/main.go'], pendingUntil: 2100, waitingFor: 'debounce' });
    at(2100);
    state.phase('postgres', 'live');
    expect(get('postgres')).toMatchObject({ state: 'live-updating', since: 2100, pendingUntil: undefined, pendingFiles: [], waitingFor: undefined });
    at(2700);
    state.phase('postgres', 'reload');
    expect(get('postgres').state).toBe('reloading');
    at(3200);
    scheduler.buildFinished('postgres', { result: 'succeeded', path: 'live', healthy: true });
    expect(get('postgres')).toMatchObject({ state: 'healthy', liveUpdated: true });
    expect(get('postgres').history[0]).toMatchObject({ path: 'live', buildMs: 600, reloadMs: 500, saveToHealthyMs: 1200 });
  });

  it('a fallback counts the image build from its own start and names the reason; an image replace clears "live-updated"', () => {
    const { state, scheduler, clock, at, get, job } = loop();
    scheduler.notify(['postgres'], 'plugins/postgres/go.mod');
    clock.runAll();
    state.phase('postgres', 'live');
    at(clock.now() + 100);
    state.phase('postgres', 'build', { fallbackReason: 'go.mod changed' });
    expect(get('postgres')).toMatchObject({ state: 'building', current: { fallbackReason: 'go.mod changed' } });
    at(clock.now() + 4000);
    state.phase('postgres', 'reload');
    at(clock.now() + 1000);
    scheduler.buildFinished('postgres', { result: 'succeeded', path: 'full', fallbackReason: 'go.mod changed', imageId: 'sha256:1', healthy: true });
    expect(get('postgres').history[0]).toMatchObject({ buildMs: 4000, reloadMs: 1000, fallbackReason: 'go.mod changed' });
    expect(get('postgres')).toMatchObject({ imageId: 'sha256:1', liveUpdated: false });
    job('postgres', ['plugins/postgres/config.yaml'], {
      result: 'failed',
      path: 'full',
      imageId: 'sha256:2',
      failure: { step: 'reload', message: 'not healthy within 30 s' },
    });
    expect(get('postgres')).toMatchObject({ state: 'failed', imageId: 'sha256:1' });
  });

  it('changes during a job keep the job state and show as pending, waiting for the job; an aborted job goes back to where it was', () => {
    const { scheduler, clock, get, job, started } = loop();
    job('kafka', ['a.go'], { result: 'succeeded', path: 'full', healthy: true });
    scheduler.notify(['kafka'], 'b.go');
    clock.runAll();
    scheduler.notify(['kafka'], 'c.go');
    expect(get('kafka')).toMatchObject({ state: 'building', pendingFiles: ['c.go'], waitingFor: 'job running' });
    clock.runAll();
    expect(get('kafka')).toMatchObject({ state: 'building', pendingFiles: ['c.go'], waitingFor: 'job running' });
    scheduler.buildFinished('kafka', { result: 'aborted', path: 'full' });
    // The dirty change goes at once (a free slot): the state shows the new job over c.go.
    expect(started.at(-1)).toBe('kafka c.go');
    expect(get('kafka')).toMatchObject({ state: 'building', current: { files: ['c.go'] }, pendingFiles: [] });
    scheduler.buildFinished('kafka', { result: 'aborted', path: 'full' });
    expect(get('kafka').state).toBe('healthy');
  });

  it('a project waiting for a slot says so; the page and the scheduler agree on it', () => {
    const { scheduler, clock, get } = loop({ concurrency: 1 });
    scheduler.notify(['postgres', 'kafka'], 'plugins/core/core.go');
    clock.runAll();
    const [running, waiting] = scheduler.building()[0] === 'postgres' ? ['postgres', 'kafka'] : ['kafka', 'postgres'];
    expect(get(running)).toMatchObject({ state: 'building' });
    expect(get(waiting)).toMatchObject({ state: 'pending', pendingFiles: ['plugins/core/core.go'], waitingFor: 'slot', pendingUntil: undefined });
    expect(scheduler.state(waiting)).toBe('pending');
  });

  it('a paused project holds its changes in order and lets them through on resume', () => {
    const { scheduler, clock, get, started } = loop();
    expect(scheduler.pause('postgres')).toBe(true);
    expect(scheduler.pause('postgres')).toBe(false);
    scheduler.notify(['postgres', 'kafka'], 'plugins/core/a.go');
    scheduler.notify(['postgres'], 'plugins/postgres/b.go');
    clock.runAll();
    expect(started).toEqual(['kafka plugins/core/a.go']);
    expect(get('postgres')).toMatchObject({ paused: true, heldFiles: ['plugins/core/a.go', 'plugins/postgres/b.go'], waitingFor: 'paused' });
    expect(scheduler.resume('postgres')).toBe(2);
    expect(scheduler.resume('postgres')).toBeUndefined();
    clock.runAll();
    expect(started).toEqual(['kafka plugins/core/a.go', 'postgres plugins/core/a.go,plugins/postgres/b.go']);
    expect(get('postgres')).toMatchObject({ paused: false, heldFiles: [] });
  });

  it('keeps the last runs and the end of long failure output', () => {
    const { get, job } = loop();
    for (let i = 0; i < STATUS_HISTORY + 3; i++) {
      job('postgres', [`f${i}.go`], {
        result: 'failed',
        path: 'live',
        failure: { step: 'compile', message: 'go build exited with 1', output: `${'x'.repeat(STATUS_OUTPUT_LIMIT)}END${i}` },
      });
    }
    const { history, state } = get('postgres');
    expect(state).toBe('failed');
    expect(history).toHaveLength(STATUS_HISTORY);
    expect(history[0].files).toEqual([`f${STATUS_HISTORY + 2}.go`]);
    expect(history[0].failure!.output!.endsWith(`END${STATUS_HISTORY + 2}`)).toBe(true);
    expect(history[0].failure!.output!.length).toBe(STATUS_OUTPUT_LIMIT + 1);
  });

  it('tells subscribers of every change until they unsubscribe; projects come and go with the model', () => {
    const { state } = loop();
    const seen: number[] = [];
    const off = state.subscribe(() => seen.push(state.snapshot().projects.length));
    state.setProjects(['postgres', 'kafka', 'redis']);
    state.setPaused('redis', true);
    off();
    state.setProjects(['postgres']);
    expect(seen).toEqual([3, 3]);
    expect(state.snapshot().projects.map((p) => p.name)).toEqual(['postgres']);
  });

  it.each([
    ['127.0.0.1:9090:9090', { text: '127.0.0.1:9090 → 9090', url: 'http://127.0.0.1:9090/' }],
    ['0.0.0.0:8080:9090/tcp', { text: '0.0.0.0:8080 → 9090/tcp', url: 'http://127.0.0.1:8080/' }],
    ['[::1]:8080:9090', { text: '[::1]:8080 → 9090', url: 'http://[::1]:8080/' }],
    ['127.0.0.1:2345:2345/udp', { text: '127.0.0.1:2345 → 2345/udp' }],
    ['127.0.0.1::9090', { text: '127.0.0.1:? → 9090' }],
    ['127.0.0.1:9000-9001:9000-9001', { text: '127.0.0.1:9000-9001 → 9000-9001' }],
  ])('port %s is shown as %j', (spec, expected) => {
    expect(describePublishedPort(spec)).toEqual(expected);
  });
});

describe('watch state: what the container runs', () => {
  it('an unchanged binary after a compile error is healthy again (the container never stopped being); a failed reload is not', () => {
    const { get, job } = loop();
    job('postgres', ['a.go'], { result: 'succeeded', path: 'live', healthy: true });
    job('postgres', ['a.go'], { result: 'failed', path: 'live', failure: { step: 'compile', message: 'go build exited with 1' } });
    expect(get('postgres').state).toBe('failed');
    job('postgres', ['a.go'], { result: 'succeeded', path: 'live', detail: 'binary unchanged' });
    expect(get('postgres').state).toBe('healthy');
    job('postgres', ['a.go'], { result: 'failed', path: 'live', failure: { step: 'reload', message: 'unhealthy' } });
    job('postgres', ['a.go'], { result: 'succeeded', path: 'live', detail: 'binary unchanged' });
    expect(get('postgres').state).toBe('idle');
  });
});
