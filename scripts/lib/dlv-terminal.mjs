// Delve's own terminal client, `dlv connect 127.0.0.1:<port>`, typed into through its stdin: the debugger a developer
// attaches with, which this project did not write. Shared by the debug-session e2e test and the benchmark (types in
// dlv-terminal.d.mts). On connect, dlv halts a running program (to set up its session); `continue` lets it run on.
import { ensureDlv } from './go-tools.mjs';
import { startLongRunning } from './long-running.mjs';

/** The prompt dlv prints when it waits for a command (no newline after it). */
export const DLV_PROMPT = /\(dlv\) $/;

/** Attaches `dlv connect` to Delve on 127.0.0.1:`port` and waits for its first prompt. */
export async function attachDlv(port, { cwd, env = process.env, timeoutMs = 30_000 } = {}) {
  // TERM=dumb: no colours or cursor codes in what the tests read; XDG_CONFIG_HOME: no dlv config or history of the user's.
  const running = startLongRunning(ensureDlv(), ['connect', `127.0.0.1:${port}`], {
    cwd,
    env: { ...env, TERM: 'dumb', XDG_CONFIG_HOME: cwd ?? process.cwd() },
    label: 'dlv connect',
    stdin: 'pipe',
  });
  await running.waitFor(DLV_PROMPT, { timeoutMs });
  return {
    process: running,
    /** Where the output is now: a `from` for the waits below. */
    get length() {
      return running.length;
    },
    /** Types `line`; resolves with the first match of `pattern` in what dlv prints after it (no wait without a pattern). */
    async type(line, pattern, timeoutMs = 60_000) {
      const from = running.length;
      running.child.stdin.write(`${line}\n`);
      return pattern ? running.waitFor(pattern, { from, timeoutMs }) : undefined;
    },
    /** The first match of `pattern` in what dlv printed since `from`. */
    waitFor: (pattern, from, timeoutMs = 60_000) => running.waitFor(pattern, { from, timeoutMs }),
    since: (from) => running.since(from),
    get done() {
      return running.done;
    },
    /** Ends the client alone (Delve and the program keep running): its connection closes. */
    async detach() {
      if (!running.done) running.child.kill('SIGKILL');
      await running.exited;
    },
  };
}
