import { execFileSync } from 'node:child_process';
import { runUntilSignal } from './process-signals';

/** The `sleep` children of this process (the sentinel). */
const sentinels = () =>
  execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\d+ sleep 2147483647$/.test(line))
    .map((line) => Number(line.split(' ')[0]));

const waitFor = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
};

describe("runUntilSignal sentinel (a leaf child that hears the signal Nx sends a task tree's leaves first)", () => {
  it('a stop signal to the sentinel stops the work as that signal, and the sentinel is gone afterwards', async () => {
    const seen = await runUntilSignal(
      async (scope) => {
        await waitFor(() => sentinels().length === 1);
        const [pid] = sentinels();
        process.kill(pid, 'SIGTERM');
        await new Promise((resolve) => scope.signal.addEventListener('abort', resolve, { once: true }));
        return scope.received;
      },
      { sentinel: true, reraise: false },
    );
    expect(seen).toBe('SIGTERM');
    expect(process.exitCode).toBe(143);
    process.exitCode = 0;
    await waitFor(() => sentinels().length === 0);
    expect(sentinels()).toEqual([]);
  });

  it('work that ends on its own ends the sentinel, without a stop', async () => {
    const received = await runUntilSignal(
      async (scope) => {
        await waitFor(() => sentinels().length === 1);
        expect(sentinels()).toHaveLength(1);
        return scope.received;
      },
      { sentinel: true, reraise: false },
    );
    expect(received).toBeUndefined();
    await waitFor(() => sentinels().length === 0);
    expect(sentinels()).toEqual([]);
  });
});
