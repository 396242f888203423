import { normalizeWatchReloadOptions } from './normalize-options';

const ctx = { projectName: 'postgres', env: {} };

describe('normalizeWatchReloadOptions', () => {
  it("takes Nx's kill grace period from NX_PROCESS_KILL_GRACE_PERIOD, 5000 ms when it is unset or not a number", () => {
    expect(normalizeWatchReloadOptions({}, { ...ctx, env: { NX_PROCESS_KILL_GRACE_PERIOD: '12000' } }).killGraceMs).toBe(12000);
    expect(normalizeWatchReloadOptions({}, { ...ctx, env: { NX_PROCESS_KILL_GRACE_PERIOD: 'soon' } }).killGraceMs).toBe(5000);
    expect(normalizeWatchReloadOptions({}, { ...ctx, env: {} }).killGraceMs).toBe(5000);
  });

  it('applies the documented defaults', () => {
    expect(normalizeWatchReloadOptions({}, ctx)).toEqual({
      projects: ['postgres'],
      debounceMs: 1000,
      maxWaitMs: 10_000,
      build: true,
      reload: false,
      initialBuild: false,
      keepImages: 3,
      killGraceMs: 5000,
      liveUpdate: 'auto',
      stage: 'production',
      overrides: { stage: 'production' },
      buildTarget: 'podman-build',
      runTarget: 'podman-run',
      concurrency: 2,
      onBusyUpdate: 'queue',
      include: undefined,
      ignore: ['**/*_test.go', '**/testdata/**'],
      usePolling: false,
      stopOnExit: false,
      holdRequests: true,
      holdTimeoutMs: 30_000,
      maxHeldConnections: 1000,
      verbose: false,
      logFormat: 'text',
      statusPort: 0,
    });
  });

  it('reads holdRequests, holdTimeout (seconds) and maxHeldConnections, and names the option in errors', () => {
    expect(normalizeWatchReloadOptions({ holdRequests: false, holdTimeout: 2.5, maxHeldConnections: 10 }, ctx)).toMatchObject({
      holdRequests: false,
      holdTimeoutMs: 2500,
      maxHeldConnections: 10,
    });
    expect(() => normalizeWatchReloadOptions({ holdTimeout: 0 }, ctx)).toThrow(
      /Invalid watch-reload option "holdTimeout": 0\. Expected a number of seconds > 0/,
    );
    expect(() => normalizeWatchReloadOptions({ maxHeldConnections: 1.5 }, ctx)).toThrow(
      /Invalid watch-reload option "maxHeldConnections": 1\.5\. Expected a whole number >= 1/,
    );
    expect(() => normalizeWatchReloadOptions({ holdRequests: 'yes' as unknown as boolean }, ctx)).toThrow(/"holdRequests": "yes"\. Expected true or false/);
  });

  it.each<[unknown, number | false]>([
    [9400, 9400],
    ['9400', 9400],
    [0, 0],
    [false, false],
    ['false', false],
    [true, 0],
  ])('statusPort %j is %j (0: any free port, false: no page)', (value, expected) => {
    expect(normalizeWatchReloadOptions({ statusPort: value as never }, ctx).statusPort).toBe(expected);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(normalizeWatchReloadOptions({}, ctx))).toBe(true);
  });

  it('accepts comma-separated projects and globs from the command line', () => {
    const normalized = normalizeWatchReloadOptions({ projects: 'tag:plugin, !redis', include: './**/*.go,config/*.yaml' as never }, ctx);
    expect(normalized.projects).toEqual(['tag:plugin', '!redis']);
    expect(normalized.include).toEqual(['**/*.go', 'config/*.yaml']);
  });

  it('passes the stage, and podman, remote and connection only when set, down as overrides', () => {
    expect(normalizeWatchReloadOptions({}, ctx).overrides).toEqual({ stage: 'production' });
    expect(normalizeWatchReloadOptions({ stage: 'debug', podman: '/usr/bin/podman', remote: true, connection: 'dev' }, ctx).overrides).toEqual({
      stage: 'debug',
      podman: '/usr/bin/podman',
      remote: true,
      connection: 'dev',
    });
  });

  it('is verbose with the option or with Nx --verbose (NX_VERBOSE_LOGGING=true)', () => {
    expect(normalizeWatchReloadOptions({ verbose: true }, ctx).verbose).toBe(true);
    expect(normalizeWatchReloadOptions({}, { ...ctx, env: { NX_VERBOSE_LOGGING: 'true' } }).verbose).toBe(true);
  });

  it('raises maxWait to the debounce when only debounce is set above it', () => {
    expect(normalizeWatchReloadOptions({ debounce: 20_000 }, ctx).maxWaitMs).toBe(20_000);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ debounce: -1 }, 'Invalid watch-reload option "debounce": -1. Expected a number of milliseconds >= 0, e.g. 1000.'],
    [{ debounce: '1s' }, 'Invalid watch-reload option "debounce": "1s".'],
    [{ maxWait: 10, debounce: 100 }, 'Invalid watch-reload option "maxWait": 10. maxWait must be at least debounce (100 ms).'],
    [{ concurrency: 0 }, 'Invalid watch-reload option "concurrency": 0. Expected a whole number >= 1, e.g. 2.'],
    [
      { liveUpdate: 'on' },
      'Invalid watch-reload option "liveUpdate": "on". Expected "auto" (update running containers in place when only Go sources changed) or "off" (always build the image).',
    ],
    [{ keepImages: -1 }, 'Invalid watch-reload option "keepImages": -1. Expected a whole number >= 0 (0 keeps every image), e.g. 3.'],
    [{ keepImages: 1.5 }, 'Invalid watch-reload option "keepImages": 1.5. Expected a whole number >= 0 (0 keeps every image), e.g. 3.'],
    [{ onBusyUpdate: 'kill' }, 'Invalid watch-reload option "onBusyUpdate": "kill". Expected "queue" or "restart".'],
    [{ logFormat: 'xml' }, 'Invalid watch-reload option "logFormat": "xml".'],
    [{ stage: 'a b' }, 'Invalid watch-reload option "stage": "a b".'],
    [{ buildTarget: 'postgres:podman-build' }, 'Invalid watch-reload option "buildTarget": "postgres:podman-build".'],
    [{ include: [''] }, 'Invalid watch-reload option "include": [""].'],
    [{ projects: [] }, 'Invalid watch-reload option "projects": [].'],
    [{ reload: 'yes' }, 'Invalid watch-reload option "reload": "yes". Expected true or false.'],
    [
      { statusPort: 70000 },
      'Invalid watch-reload option "statusPort": 70000. Expected a port number from 1 to 65535, 0 for any free port, or false for no status page.',
    ],
    [{ statusPort: 'web' }, 'Invalid watch-reload option "statusPort": "web".'],
  ])('rejects %j naming the option, the value and the fix', (options, message) => {
    expect(() => normalizeWatchReloadOptions(options as never, ctx)).toThrow(message);
  });

  it('needs projects when the target has no project', () => {
    expect(() => normalizeWatchReloadOptions({}, { projectName: undefined })).toThrow('"projects": null. Name what to watch');
  });
});
