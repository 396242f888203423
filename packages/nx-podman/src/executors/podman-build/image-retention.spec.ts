import type { BuildRecord } from '../../core/build-record';
import { FakeEngine } from '../../testing/fake-engine';
import { recordingLogger } from '../../testing/recording-logger';
import { pruneSupersededImages } from './image-retention';

const id = (digit: number) => `sha256:${String(digit).repeat(64)}`;

function recordWith(history: number[]): BuildRecord {
  return {
    version: 1,
    project: 'p',
    stage: 'production',
    imageId: id(history[0]!),
    tags: ['prism/p:latest'],
    inputHash: 'h1',
    file: 'Containerfile',
    context: '.',
    platforms: [],
    builtAt: '2026-12-06T00:00:00.000Z',
    history: history.map((digit) => ({ inputHash: `h${digit}`, imageId: id(digit) })),
  };
}

function storeOf(record: BuildRecord) {
  const store = {
    record,
    read: async () => store.record,
    write: async (next: BuildRecord) => {
      store.record = next;
    },
  };
  return store;
}

describe('pruneSupersededImages', () => {
  it('removes the superseded images beyond keep, and forgets the removed ones', async () => {
    const engine = new FakeEngine().on(['image', 'exists'], { exitCode: 1 });
    const records = storeOf(recordWith([1, 2, 3, 4]));
    const result = await pruneSupersededImages('p', 'production', 2, { engine, records, logger: recordingLogger() });
    expect(result.removed).toEqual([id(3), id(4)]);
    expect(engine.callsStartingWith('rmi')).toEqual([
      ['rmi', id(3)],
      ['rmi', id(4)],
    ]);
    expect(records.record.history).toEqual([
      { inputHash: 'h1', imageId: id(1) },
      { inputHash: 'h2', imageId: id(2) },
    ]);
  });

  it('once cancelled (the watcher is stopping), starts no further podman call and keeps what it did not remove for next time', async () => {
    let stopping = false;
    const engine = new FakeEngine().on(['image', 'exists'], { exitCode: 1 }).on(['rmi'], () => {
      stopping = true; // Ctrl-C while the first image goes
      return {};
    });
    const records = storeOf(recordWith([1, 2, 3, 4]));
    const result = await pruneSupersededImages('p', 'production', 2, { engine, records, logger: recordingLogger(), cancelled: () => stopping });
    expect(result.removed).toEqual([id(3)]);
    expect(engine.callsStartingWith('rmi')).toEqual([['rmi', id(3)]]);
    // The rmi's own check that the image is gone is the last call: no inspect, listing or rmi for the next image.
    expect(engine.calls.at(-1)).toEqual(['image', 'exists', id(3)]);
    expect(records.record.history?.map((entry) => entry.imageId)).toEqual([id(1), id(2), id(4)]);
  });

  it('cancelled before it starts: no podman call at all', async () => {
    const engine = new FakeEngine();
    const records = storeOf(recordWith([1, 2, 3]));
    const result = await pruneSupersededImages('p', 'production', 1, { engine, records, logger: recordingLogger(), cancelled: () => true });
    expect(result.removed).toEqual([]);
    expect(engine.calls).toEqual([]);
    expect(records.record.history).toHaveLength(3);
  });
});
