import { FakeEngine } from '../testing/fake-engine';
import type { ProcessResult } from './ports';
import { endedBySignal, execRetryingSignals } from './podman-retry';

const clock = { now: () => 0, sleep: async () => undefined };

describe('execRetryingSignals', () => {
  it('makes a call ended by a signal again, at most three times in all', async () => {
    const engine = new FakeEngine().on(['rm'], { exitCode: 143, signal: 'SIGTERM' });
    const retried: string[] = [];
    const result = await execRetryingSignals(engine, ['rm', 'x'], { clock, onRetry: (r) => retried.push(r.signal!) });
    expect(engine.calls).toHaveLength(3);
    expect(retried).toEqual(['SIGTERM', 'SIGTERM']);
    expect(result.signal).toBe('SIGTERM');
  });

  it('returns at once for a call that ended by itself or by its own timeout', async () => {
    const ok = new FakeEngine().on(['rm'], { exitCode: 1 });
    await execRetryingSignals(ok, ['rm', 'x'], { clock });
    expect(ok.calls).toHaveLength(1);
    const slow = new FakeEngine().on(['wait'], { exitCode: 143, signal: 'SIGTERM', timedOut: true });
    await execRetryingSignals(slow, ['wait', 'x'], { clock, timeoutMs: 10 });
    expect(slow.calls).toHaveLength(1);
  });

  it('a podman that caught the signal itself (a silent exit 1 after SIGINT, 0 after SIGTERM) is made again when the command prints on success', async () => {
    let calls = 0;
    const engine = new FakeEngine().on(['container', 'inspect'], () =>
      ++calls === 1 ? { exitCode: 0, stdout: '' } : calls === 2 ? { exitCode: 1 } : { stdout: '[{}]' },
    );
    const result = await execRetryingSignals(engine, ['container', 'inspect', 'x'], { clock, printsOnSuccess: true });
    expect(engine.calls).toHaveLength(3);
    expect(result.stdout).toBe('[{}]');
  });
});

describe('endedBySignal', () => {
  const result = (partial: Partial<ProcessResult>): ProcessResult => ({
    command: 'podman x',
    exitCode: 0,
    stdout: '',
    stderr: '',
    aborted: false,
    timedOut: false,
    ...partial,
  });
  it('a signal, or a silent exit 0 or 1 of a command that prints on success; never a failure that says why, nor a timeout', () => {
    expect(endedBySignal(result({ exitCode: 143, signal: 'SIGTERM' }))).toBe(true);
    expect(endedBySignal(result({ exitCode: 0 }), true)).toBe(true);
    expect(endedBySignal(result({ exitCode: 1 }), true)).toBe(true);
    expect(endedBySignal(result({ exitCode: 0 }))).toBe(false);
    expect(endedBySignal(result({ exitCode: 0, stdout: 'id\n' }), true)).toBe(false);
    expect(endedBySignal(result({ exitCode: 1, stderr: 'Error: no such container x' }), true)).toBe(false);
    expect(endedBySignal(result({ exitCode: 125 }), true)).toBe(false);
    expect(endedBySignal(result({ exitCode: 143, signal: 'SIGTERM', timedOut: true }), true)).toBe(false);
  });
});
