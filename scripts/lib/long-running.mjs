// A long-running child (watch-reload under `nx run`) for the demo, the benchmarks and the e2e tests (types in
// long-running.d.mts): spawned in its own process group so that stop() reaches every descendant like a terminal's
// Ctrl-C would, its output kept (with the time each line arrived) so callers can wait for log lines.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Starts `file args`. `onLine(line)` sees every complete output line as it arrives (the demo echoes them);
 * `label` names the process in errors; `stdin: 'pipe'` lets the caller type into it (`child.stdin`).
 */
export function startLongRunning(file, args, { cwd, env, onLine, label = 'process', stdin = 'ignore' } = {}) {
  const child = spawn(file, args, { cwd, env, detached: true, stdio: [stdin, 'pipe', 'pipe'] });
  let text = '';
  let partial = '';
  /** [{t, line}]: complete lines with the time they arrived. */
  const lines = [];
  const listeners = new Set();
  const addLine = (t, line) => {
    lines.push({ t, line });
    onLine?.(line);
  };
  const onData = (chunk) => {
    const t = Date.now();
    text += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop();
    for (const line of parts) addLine(t, line);
    for (const listener of listeners) listener();
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const exited = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      if (partial) addLine(Date.now(), partial);
      partial = '';
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    }),
  );
  const isDone = () => child.exitCode !== null || child.signalCode !== null;
  const tail = () => (onLine ? '' : `; last output:\n${text.slice(-3000)}`);

  /** Resolves with `find()`'s first non-undefined answer; rejects on timeout or when the process exits. */
  const waitUntil = (find, what, timeoutMs) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) finish(() => resolve(found));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${tail()}`))), timeoutMs);
      // Output that arrived with the exit is still read before giving up.
      const onExit = () =>
        setTimeout(() => {
          const found = find();
          finish(() => (found !== undefined ? resolve(found) : reject(new Error(`${label} exited while waiting for ${what}${tail()}`))));
        }, 100);
      let settled = false;
      const finish = (settle) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
        settle();
      };
      listeners.add(check);
      child.on('exit', onExit);
      check();
    });

  return {
    pid: child.pid,
    child,
    lines,
    exited,
    output: () => text,
    /** Length of the output so far: a `from` for waitFor/since. */
    get length() {
      return text.length;
    },
    since: (from) => text.slice(from),
    get done() {
      return isDone();
    },
    /** The first match of `pattern` in the output after character `from`. */
    waitFor(pattern, { from = 0, timeoutMs = 120_000 } = {}) {
      return waitUntil(() => text.slice(from).match(pattern) ?? undefined, pattern, timeoutMs);
    },
    /** The first line from line index `from` that matches `pattern`, as {t, line, index}. */
    waitForLine(pattern, { from = 0, timeoutMs = 120_000 } = {}) {
      return waitUntil(
        () => {
          for (let index = from; index < lines.length; index++) if (pattern.test(lines[index].line)) return { ...lines[index], index };
          return undefined;
        },
        pattern,
        timeoutMs,
      );
    },
    /**
     * `signal` (SIGINT: a terminal's Ctrl-C) to the whole process group, or with `group: false` to the child alone (a
     * process manager stopping one pid); SIGKILL to the group after `killAfterMs`. Resolves with the exit code
     * (128 + n when a signal ended it). A number argument is `killAfterMs`.
     */
    async stop(options = {}) {
      const { signal = 'SIGINT', group = true, killAfterMs = 20_000 } = typeof options === 'number' ? { killAfterMs: options } : options;
      const signalGroup = (name) => {
        try {
          process.kill(-child.pid, name);
        } catch {
          // already gone
        }
      };
      if (!isDone()) {
        if (group) signalGroup(signal);
        else child.kill(signal);
      }
      const killer = setTimeout(() => signalGroup('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
