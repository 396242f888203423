import { FakeEngine } from '../testing/fake-engine';
import { execRetryingSignals } from './podman-retry';

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
});
