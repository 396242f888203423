import { createBuildPruneGate } from './build-prune-gate';

/** A promise the test resolves. */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('build/prune gate', () => {
  it('builds run together; a prune waits for all of them, and a build asked for meanwhile waits for the prune', async () => {
    const gates = createBuildPruneGate();
    const events: string[] = [];
    const a = gate();
    const b = gate();
    const p = gate();
    const buildA = gates.build(async () => (events.push('a start'), await a.promise, events.push('a end')));
    const buildB = gates.build(async () => (events.push('b start'), await b.promise, events.push('b end')));
    const prune = gates.prune(
      () => false,
      async () => {
        events.push('prune start');
        await p.promise;
        events.push('prune end');
      },
    );
    await settle();
    expect(events).toEqual(['a start', 'b start']);
    a.open();
    await settle();
    expect(events).toEqual(['a start', 'b start', 'a end']);
    b.open();
    await settle();
    const buildC = gates.build(async () => void events.push('c'));
    await settle();
    expect(events).toEqual(['a start', 'b start', 'a end', 'b end', 'prune start']);
    p.open();
    await Promise.all([buildA, buildB, prune, buildC]);
    expect(events).toEqual(['a start', 'b start', 'a end', 'b end', 'prune start', 'prune end', 'c']);
  });

  it('a prune cancelled while it waited never runs', async () => {
    const gates = createBuildPruneGate();
    const build = gate();
    let cancelled = false;
    const ran: string[] = [];
    const building = gates.build(() => build.promise);
    const prune = gates.prune(
      () => cancelled,
      async () => void ran.push('prune'),
    );
    cancelled = true;
    build.open();
    await Promise.all([building, prune]);
    expect(ran).toEqual([]);
  });
});
