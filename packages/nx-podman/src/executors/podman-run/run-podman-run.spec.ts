import type { BuildRecord } from '../../core/build-record';
import { FakeEngine } from '../../testing/fake-engine';
import { normalizePodmanRunOptions } from './normalize-options';
import { runPodmanRun } from './run-podman-run';
import type { PodmanRunExecutorSchema } from './schema';
import type { BuildRecordStore, HealthProbe, Logger, SleepClock } from '../../core/ports';

const ID = 'sha256:' + 'c'.repeat(64);

function memoryRecords(records: BuildRecord[] = []): BuildRecordStore {
  return {
    async read(project, stage) {
      return records.find((record) => record.project === project && record.stage === stage);
    },
    async write(record) {
      records.push(record);
    },
  };
}

const record = (stage: string): BuildRecord => ({
  version: 1,
  project: 'postgres',
  stage,
  imageId: ID,
  tags: [`prism/postgres-plugin:${stage}`],
  inputHash: 'h',
  file: 'plugins/postgres/Containerfile',
  context: 'plugins',
  platforms: [],
  builtAt: '2025-01-01T00:00:00.000Z',
});

const silent: Logger = { verbose: false, debug() {}, info() {}, warn() {}, error() {}, output() {} };
const clock: SleepClock = { now: () => 0, sleep: async () => undefined };
const probe: HealthProbe = { probe: async () => ({ ok: true }) };

function setup(options: PodmanRunExecutorSchema, records: BuildRecord[], existing: string[]) {
  const engine = new FakeEngine();
  engine.on(['image', 'exists'], (args) => ({ exitCode: existing.includes(args[2]!) ? 0 : 1 }));
  engine.on(['image', 'inspect'], (args) => (existing.includes(args.at(-1)!) ? { stdout: `${ID}\n` } : { exitCode: 125 }));
  engine.on(['container', 'inspect'], (args) =>
    engine.callsStartingWith('run').length > 0
      ? { stdout: JSON.stringify([{ Image: ID, State: { Status: 'running', Running: true, ExitCode: 0 } }]) }
      : { exitCode: 125, stderr: `no such container ${args[2]}` },
  );
  const normalized = normalizePodmanRunOptions(
    { healthCheck: { tcp: 9090 }, ...options },
    { projectName: 'postgres', projectRoot: 'plugins/postgres', workspaceRoot: '/ws' },
  );
  return { engine, run: () => runPodmanRun(normalized, { engine, logger: silent, records: memoryRecords(records), probe, clock }) };
}

describe('runPodmanRun', () => {
  it('runs the image id the last build recorded for the stage', async () => {
    const { engine, run } = setup({ stage: 'debug' }, [record('production'), { ...record('debug'), imageId: ID }], [ID]);
    await expect(run()).resolves.toEqual({ status: 'healthy', container: 'postgres-plugin-debug', imageId: ID, durationMs: 0 });
    const runCall = engine.callsStartingWith('run')[0]!;
    expect(runCall).toContain(ID);
    expect(runCall.slice(0, 4)).toEqual(['run', '-d', '--name', 'postgres-plugin-debug']);
    expect(runCall).toContain('io.prism.nx-podman.stage=debug');
  });

  it('tells the user to build first when nothing was recorded, and never runs podman run', async () => {
    const production = setup({}, [], []);
    await expect(production.run()).resolves.toEqual({
      status: 'failed',
      rolledBack: false,
      message: 'No image has been built for "postgres" (stage "production"). Run "nx run postgres:podman-build" first, or set "image".',
    });
    const debug = setup({ stage: 'debug' }, [record('production')], [ID]);
    await expect(debug.run()).resolves.toMatchObject({ message: expect.stringContaining('Run "nx run postgres:podman-build:debug" first') });
    expect([...production.engine.calls, ...debug.engine.calls].filter((call) => call[0] === 'run')).toEqual([]);
  });

  it('checks that the recorded image still exists before touching the old container (podman would try to pull it)', async () => {
    const { engine, run } = setup({}, [record('production')], []);
    await expect(run()).resolves.toEqual({
      status: 'failed',
      rolledBack: false,
      message: `The image last built for "postgres" (stage "production", cccccccccccc, built 2025-01-01T00:00:00.000Z) no longer exists in podman. Run "nx run postgres:podman-build" to build it again.`,
    });
    // One podman process: `image inspect` (it never pulls), then nothing else.
    expect(engine.calls).toEqual([['image', 'inspect', '--format', '{{.Id}}', ID]]);
  });

  it('`image` overrides the record and is resolved to its id with one podman process', async () => {
    const { engine, run } = setup({ image: 'prism/postgres-plugin:latest' }, [], ['prism/postgres-plugin:latest']);
    await expect(run()).resolves.toMatchObject({ status: 'healthy', imageId: ID });
    expect(engine.calls.slice(0, 2)).toEqual([
      ['image', 'inspect', '--format', '{{.Id}}', 'prism/postgres-plugin:latest'],
      expect.not.arrayContaining(['image']),
    ]);
    expect(engine.callsStartingWith('run')[0]).toContain(ID);
  });

  it('a missing `image` is an error naming the option', async () => {
    const { run } = setup({ image: 'localhost/nope:1' }, [record('production')], [ID]);
    await expect(run()).resolves.toMatchObject({
      status: 'failed',
      message:
        'Image "localhost/nope:1" (option "image") does not exist in podman, and podman-run never pulls. Build it first (e.g. "nx run postgres:podman-build") or fix "image".',
    });
  });
});
