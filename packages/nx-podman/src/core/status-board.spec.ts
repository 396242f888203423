import { createStatusBoard, describePublishedPort, STATUS_HISTORY, STATUS_OUTPUT_LIMIT } from './status-board';

function board() {
  let now = 1000;
  const b = createStatusBoard({ now: () => now, stage: 'debug', reload: true });
  b.setProjects(['postgres', 'kafka']);
  return { b, at: (ms: number) => (now = ms), get: (name: string) => b.snapshot().projects.find((p) => p.name === name)! };
}

describe('status board', () => {
  it('a live update: live-updating, then reloading, then healthy with compile, restart and save → healthy times', () => {
    const { b, at, get } = board();
    at(2000);
    b.changed(['postgres'], 'plugins/postgres/main.go', 2100);
    at(2100);
    b.closed('postgres');
    b.started('postgres', { files: ['plugins/postgres/main.go'] });
    b.phase('postgres', 'live');
    expect(get('postgres')).toMatchObject({ state: 'live-updating', since: 2100, pendingUntil: undefined });
    at(2700);
    b.phase('postgres', 'reload');
    expect(get('postgres').state).toBe('reloading');
    at(3200);
    b.ended('postgres', { result: 'succeeded', path: 'live', healthy: true });
    expect(get('postgres')).toMatchObject({ state: 'healthy', liveUpdated: true });
    expect(get('postgres').history[0]).toMatchObject({ path: 'live', buildMs: 600, reloadMs: 500, saveToHealthyMs: 1200 });
  });

  it('a fallback counts the image build from its own start and names the reason; an image replace clears "live-updated"', () => {
    const { b, at, get } = board();
    b.started('postgres', { files: ['plugins/postgres/go.mod'] });
    b.phase('postgres', 'live');
    at(1100);
    b.phase('postgres', 'build', { fallbackReason: 'go.mod changed' });
    expect(get('postgres')).toMatchObject({ state: 'building', current: { fallbackReason: 'go.mod changed' } });
    at(5100);
    b.phase('postgres', 'reload');
    at(6100);
    b.ended('postgres', { result: 'succeeded', path: 'full', fallbackReason: 'go.mod changed', imageId: 'sha256:1', healthy: true });
    expect(get('postgres').history[0]).toMatchObject({ buildMs: 4000, reloadMs: 1000, fallbackReason: 'go.mod changed' });
    expect(get('postgres')).toMatchObject({ imageId: 'sha256:1', liveUpdated: false });
    b.started('postgres', { files: ['plugins/postgres/config.yaml'] });
    b.ended('postgres', { result: 'failed', path: 'full', imageId: 'sha256:2', failure: { step: 'reload', message: 'not healthy within 30 s' } });
    expect(get('postgres')).toMatchObject({ state: 'failed', imageId: 'sha256:1' });
  });

  it('changes during a job keep the job state and show as pending; an aborted job goes back to where it was', () => {
    const { b, get } = board();
    b.started('kafka', { files: ['a.go'] });
    b.ended('kafka', { result: 'succeeded', path: 'full', healthy: true });
    b.started('kafka', { files: ['b.go'] });
    b.changed(['kafka'], 'c.go', 5000);
    expect(get('kafka')).toMatchObject({ state: 'building', pendingFiles: ['c.go'] });
    b.ended('kafka', { result: 'aborted', path: 'full' });
    expect(get('kafka').state).toBe('pending');
    b.started('kafka', { files: ['c.go'] });
    b.ended('kafka', { result: 'aborted', path: 'full' });
    expect(get('kafka').state).toBe('healthy');
  });

  it('keeps the last runs and the end of long failure output', () => {
    const { b, get } = board();
    for (let i = 0; i < STATUS_HISTORY + 3; i++) {
      b.started('postgres', { files: [`f${i}.go`] });
      b.ended('postgres', {
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
    const { b } = board();
    const seen: number[] = [];
    const off = b.subscribe(() => seen.push(b.snapshot().projects.length));
    b.setProjects(['postgres', 'kafka', 'redis']);
    b.setPaused('redis', true);
    off();
    b.setProjects(['postgres']);
    expect(seen).toEqual([3, 3]);
    expect(b.snapshot().projects.map((p) => p.name)).toEqual(['postgres']);
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

describe('status board: what the container runs', () => {
  it('an unchanged binary after a compile error is healthy again (the container never stopped being); a failed reload is not', () => {
    const { b, get } = board();
    b.started('postgres', { files: ['a.go'] });
    b.ended('postgres', { result: 'succeeded', path: 'live', healthy: true });
    b.started('postgres', { files: ['a.go'] });
    b.ended('postgres', { result: 'failed', path: 'live', failure: { step: 'compile', message: 'go build exited with 1' } });
    expect(get('postgres').state).toBe('failed');
    b.started('postgres', { files: ['a.go'] });
    b.ended('postgres', { result: 'succeeded', path: 'live', detail: 'binary unchanged' });
    expect(get('postgres').state).toBe('healthy');
    b.started('postgres', { files: ['a.go'] });
    b.ended('postgres', { result: 'failed', path: 'live', failure: { step: 'reload', message: 'unhealthy' } });
    b.started('postgres', { files: ['a.go'] });
    b.ended('postgres', { result: 'succeeded', path: 'live', detail: 'binary unchanged' });
    expect(get('postgres').state).toBe('idle');
  });
});
