import { createProcessRunner } from './process-runner';

describe('createProcessRunner with promised input (a process started ahead of its work)', () => {
  const runner = createProcessRunner();

  it('starts at once and gets its stdin, then its end, when the promise resolves', async () => {
    let give!: (text: string) => void;
    const input = new Promise<string>((resolve) => (give = resolve));
    const running = runner.run('sh', ['-c', 'echo ready; IFS= read -r line; echo "got $line"; cat'], { input });
    await new Promise((resolve) => setTimeout(resolve, 200));
    give('first line\nrest\n');
    await expect(running).resolves.toMatchObject({ exitCode: 0, stdout: 'ready\ngot first line\nrest\n', aborted: false });
  });

  it('settles when the process ends before its input came (a builder that went away), and when aborted while waiting', async () => {
    await expect(runner.run('sh', ['-c', 'exit 3'], { input: new Promise<string>(() => undefined) })).resolves.toMatchObject({ exitCode: 3 });

    const controller = new AbortController();
    const waiting = runner.run('sh', ['-c', 'IFS= read -r line; echo "got $line"'], { input: new Promise<string>(() => undefined), signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(waiting).resolves.toMatchObject({ aborted: true, stdout: '' });
  });
});
