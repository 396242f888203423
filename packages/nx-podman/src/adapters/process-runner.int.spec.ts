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

describe('createProcessRunner with streamed input (a process serving requests for as long as it runs)', () => {
  const runner = createProcessRunner();

  /** Chunks given one at a time, each once the process answered the one before. */
  function requests(): AsyncIterable<string> & { push(text: string): void; end(): void } {
    const chunks: string[] = [];
    let ended = false;
    let wake: (() => void) | undefined;
    return {
      push: (text) => (chunks.push(text), wake?.()),
      end: () => ((ended = true), wake?.()),
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const chunk = chunks.shift();
          if (chunk !== undefined) yield chunk;
          else if (ended) return;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    };
  }

  it('writes each chunk as it comes and answers are seen before the next; the end of the iterable closes stdin', async () => {
    const input = requests();
    let seen = '';
    let answered!: () => void;
    const onOutput = (chunk: string) => {
      seen += chunk;
      if (seen.endsWith('\n')) answered();
    };
    const next = () => new Promise<void>((resolve) => (answered = resolve));
    const running = runner.run('sh', ['-c', 'while IFS= read -r line; do echo "got $line"; done; echo closed'], { input, onOutput, buffer: false });
    for (const word of ['one', 'two']) {
      const answer = next();
      input.push(`${word}\n`);
      await answer;
    }
    expect(seen).toBe('got one\ngot two\n');
    input.end();
    // Not buffered: the output went to onOutput only.
    await expect(running).resolves.toMatchObject({ exitCode: 0, stdout: '' });
    expect(seen).toBe('got one\ngot two\nclosed\n');
  });

  it('settles when the process ends while more input may come, or is aborted; chunks after its end go nowhere', async () => {
    const input = requests();
    await expect(runner.run('sh', ['-c', 'IFS= read -r line; exit 4'], { input: (input.push('x\n'), input) })).resolves.toMatchObject({ exitCode: 4 });
    input.push('late\n');
    input.end();

    const controller = new AbortController();
    const waiting = runner.run('sh', ['-c', 'while IFS= read -r line; do :; done'], { input: requests(), signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(waiting).resolves.toMatchObject({ aborted: true });
  });
});
