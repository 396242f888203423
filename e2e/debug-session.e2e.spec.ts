import { execFileSync } from 'node:child_process';
import { attachDlv, DLV_PROMPT, type DlvTerminal } from '../scripts/lib/dlv-terminal.mjs';
import { createE2eWorkspace, DELVE_IMAGE, type E2eWorkspace, generateLocalPlugin, linesAfter, type LongRunning, removePodmanObjects } from './utils/workspace';
import { describeWithPodman } from '../packages/nx-podman/src/testing/podman-available';
import { choosePorts } from '../scripts/lib/ports.mjs';

/**
 * A debugger that survives a save, end to end: a generated HTTP plugin under `watch-reload:debug --reload` (real podman,
 * Go and Delve), and Delve's own terminal client (`dlv connect`, typed into through its stdin) attached to it. One client
 * session sets a breakpoint in the request handler's code, and after each live update it stops there again in the new
 * code; an edit that removes the function is named in the log and the session stays; a new image ends the session and
 * the log says to attach again.
 */
const NAME = `dbs${process.pid % 100000}`;
const CONTAINER = `${NAME}-plugin-debug`;
const STEP_TIMEOUT = 600_000;
/** One wait inside a step: shorter than the step, so that a miss fails with the output rather than the step's timeout. */
const WAIT = 180_000;
const MAIN = `plugins/${NAME}/main.go`;

/** What the test adds to the generated handler: a function of its own with a local variable, edited on every save. */
const ANSWER = (version: number) =>
  `\n// answer is what the plugin replies: the debug-session e2e test stops in it and edits it.\nfunc answer(path string) string {\n\treply := "edit-${version} " + path\n\treturn reply\n}\n`;

/** The container's id and start time: a live update that keeps the session restarts neither. */
function containerIdentity(): string {
  return execFileSync('podman', ['inspect', CONTAINER, '--format', '{{.Id}} {{.State.StartedAt}}'], { encoding: 'utf8' }).trim();
}

describeWithPodman('a debug session survives live updates (e2e: watch-reload:debug, real podman, Go, Delve and dlv connect)', () => {
  let ws: E2eWorkspace;
  let watch: LongRunning | undefined;
  let dlv: DlvTerminal | undefined;
  let port: number;
  let line: number;
  /** Where dlv's output was when the test last typed `continue`. */
  let continuedAt = 0;

  /** A GET of the plugin's debug port (its answer waits while the program is stopped at a breakpoint). */
  const request = () =>
    fetch(`http://127.0.0.1:${port + 1000}/`, { signal: AbortSignal.timeout(STEP_TIMEOUT) }).then(
      async (response) => (await response.json()) as Record<string, string>,
    );

  const typeContinue = async () => {
    continuedAt = dlv!.length;
    await dlv!.type('continue');
  };

  /**
   * After a save: Delve relaunched the program (dlv's continue returned: its prompt again) and the watcher waits for the
   * debugger to continue it; dlv continues, and the live update completes.
   */
  async function continueAfterRelaunch(from: number): Promise<void> {
    await watch!.waitFor(new RegExp(`INFO plugin relaunched under Delve; continue it in your debugger plugin=${NAME} debuggers=1`), WAIT, from);
    await dlv!.waitFor(DLV_PROMPT, continuedAt);
    await typeContinue();
    await watch!.waitFor(new RegExp(`INFO live update completed plugin=${NAME}`), WAIT, from);
  }

  /** A request stops at the breakpoint in answer(); dlv prints its local variable; continuing answers the request. */
  async function expectStopWith(reply: string): Promise<void> {
    const from = dlv!.length;
    const answered = request();
    await dlv!.waitFor(/> \[Breakpoint 1\] main\.answer\(\)/, from);
    expect(await dlv!.type('print reply', /"([^"\n]*)"\n/)).toEqual(expect.arrayContaining([reply]));
    await typeContinue();
    expect(await answered).toMatchObject({ plugin: NAME, message: reply });
  }

  beforeAll(async () => {
    const start = 24000 + (process.pid % 2000);
    [port] = await choosePorts(1, { first: start, last: start + 5000, twinOffset: [1000, 2000] });
    removePodmanObjects({ containers: [CONTAINER] });
    ws = createE2eWorkspace('debug-session');
    generateLocalPlugin(ws, NAME, { port, protocol: 'http', debugImage: DELVE_IMAGE, delve: 'image' });
    const main = ws.read(MAIN);
    expect(main).toContain('"message": greeting');
    ws.write(MAIN, `${main.replace('"message": greeting', '"message": answer(r.URL.Path), "greeting": greeting')}${ANSWER(0)}`);
    line = ws.read(MAIN).split('\n').indexOf('\treturn reply') + 1;
    expect(line).toBeGreaterThan(0);
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await dlv?.detach();
    await watch?.stop('SIGKILL');
    removePodmanObjects({ containers: [CONTAINER], images: ['debug', 'latest', 'production'].map((tag) => `localhost/prism/${NAME}-plugin:${tag}`) });
    ws?.cleanup();
  });

  it(
    'dlv connect attaches, a breakpoint in the handler stops a request and shows its local variable',
    async () => {
      watch = ws.spawnNx(['run', `${NAME}:watch-reload:debug`, '--reload', '--initialBuild', '--debounce=300', '--statusPort=false']);
      await watch.waitFor(new RegExp(`INFO plugin healthy plugin=${NAME}`), STEP_TIMEOUT);
      dlv = await attachDlv(port + 2000, { cwd: ws.root });
      await dlv.type(`break main.go:${line}`, /Breakpoint 1 set at .* for main\.answer\(\)/);
      await typeContinue();
      await expectStopWith('edit-0 /');
    },
    STEP_TIMEOUT,
  );

  it(
    'five live updates in a row: the same dlv session stops at the breakpoint in each new code, the container is not restarted',
    async () => {
      const identity = containerIdentity();
      for (let version = 1; version <= 5; version++) {
        const from = watch!.output().length;
        ws.write(MAIN, ws.read(MAIN).replace(`"edit-${version - 1} "`, `"edit-${version} "`));
        await continueAfterRelaunch(from);
        await expectStopWith(`edit-${version} /`);
        expect(linesAfter(watch!, from, /INFO building plugin|WARN|ERROR/)).toEqual([]);
      }
      expect(containerIdentity()).toBe(identity);
      expect(dlv!.done).toBe(false);
    },
    STEP_TIMEOUT,
  );

  it(
    'an edit that removes the function: the log names the breakpoint, the session stays; the function back, it stops there again',
    async () => {
      const from = watch!.output().length;
      ws.write(MAIN, ws.read(MAIN).replace('answer(r.URL.Path)', '"removed"').replace(ANSWER(5), '\n'));
      await watch!.waitFor(new RegExp(`WARN breakpoints not restored plugin=${NAME} breakpoints=main\\.go:${line} `), WAIT, from);
      await dlv!.waitFor(DLV_PROMPT, continuedAt);
      await typeContinue();
      await watch!.waitFor(new RegExp(`INFO live update completed plugin=${NAME}`), WAIT, from);
      expect(await request()).toMatchObject({ message: 'removed' });
      // The same session answers: paused (Ctrl-C, then "p"), it lists breakpoint 1 as suspended (Delve keeps it for when the line comes back).
      const paused = dlv!.length;
      dlv!.process.child.kill('SIGINT');
      await dlv!.waitFor(/\[p\/q\]\? $/, paused);
      await dlv!.type('p', DLV_PROMPT);
      const listed = dlv!.length;
      await dlv!.type('breakpoints', DLV_PROMPT);
      expect(dlv!.since(listed)).toContain('unrecovered-panic');
      expect(dlv!.since(listed)).toMatch(new RegExp(`Breakpoint 1 \\(suspended\\) at main\\.go:${line}\\b`));
      await typeContinue();
      expect(await request()).toMatchObject({ message: 'removed' });

      // The function back at the same line: the suspended breakpoint is set again, and the next request stops there.
      const back = watch!.output().length;
      ws.write(MAIN, `${ws.read(MAIN).trimEnd().replace('"removed"', 'answer(r.URL.Path)')}\n${ANSWER(6)}`);
      await continueAfterRelaunch(back);
      await expectStopWith('edit-6 /');
      expect(dlv!.done).toBe(false);
    },
    STEP_TIMEOUT,
  );

  it(
    'a change that needs a new image replaces the container: the session ends, and the log says once where to attach again',
    async () => {
      const from = watch!.output().length;
      const containerfile = `plugins/${NAME}/Containerfile`;
      ws.write(containerfile, ws.read(containerfile).replace(/^(ENV PORT=.* LOG_LEVEL=debug.*)$/m, '$1 E2E_NEW_IMAGE=1'));
      await watch!.waitFor(new RegExp(`INFO debug session restarted; attach again plugin=${NAME} debugger=127\\.0\\.0\\.1:${port + 2000}`), WAIT, from);
      await watch!.waitFor(new RegExp(`INFO plugin healthy plugin=${NAME}`), WAIT, from);
      expect(linesAfter(watch!, from, /debug session restarted/)).toHaveLength(1);
      // The old session's connection went with the old container; attaching again is one command.
      await dlv!.detach();
      dlv = await attachDlv(port + 2000, { cwd: ws.root });
      await dlv.type('break main.main', /Breakpoint 1 set at .* for main\.main\(\)/);
      await typeContinue();
      expect(await request()).toMatchObject({ plugin: NAME, message: 'edit-6 /' });
    },
    STEP_TIMEOUT,
  );
});
