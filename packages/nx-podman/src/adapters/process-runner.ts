import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { formatCommand } from '../core/command-line';
import { CommandNotFoundError } from '../core/errors';
import type { ProcessRunner } from '../core/ports';
import { listDescendants, signalAll } from './process-tree';

/**
 * Creates the real process runner (execa). Every child is killed when the parent exits (execa `cleanup`),
 * and an aborted run escalates SIGTERM to SIGKILL so no podman child is left behind; with `stopTreeFirst` the
 * processes below the child are stopped first (see {@link RunProcessOptions.stopTreeFirst}).
 */
export function createProcessRunner(): ProcessRunner {
  return {
    async run(file, args, options = {}) {
      const treeFirst = options.stopTreeFirst;
      const laterInput = typeof options.input === 'string' || options.input === undefined ? options.input : streamOf(options.input);
      const subprocess = execa(file, [...args], {
        cwd: options.cwd,
        env: options.env,
        extendEnv: true,
        input: laterInput,
        stdin: options.input === undefined ? 'ignore' : undefined,
        reject: false,
        stripFinalNewline: false,
        cleanup: true,
        cancelSignal: treeFirst ? undefined : options.signal,
        // Its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) would kill podman at once and
        // orphan the build step below it; this runner stops the tree in order instead (execa's `cleanup` does not
        // apply to it, which is why every such run is awaited or aborted before the process exits).
        detached: treeFirst !== undefined,
        timeout: options.timeoutMs,
        killSignal: options.killSignal ?? 'SIGTERM',
        forceKillAfterDelay: options.forceKillAfterMs ?? 5000,
        maxBuffer: 64 * 1024 * 1024,
        buffer: options.buffer ?? true,
      });
      // A process that ends before its promised input came: its stdin ends too (else the run would never settle).
      if (laterInput instanceof PassThrough) subprocess.once('exit', () => laterInput.end());
      if (options.onOutput) {
        const onOutput = options.onOutput;
        subprocess.stdout?.on('data', (chunk: Buffer) => onOutput(chunk.toString(), 'stdout'));
        subprocess.stderr?.on('data', (chunk: Buffer) => onOutput(chunk.toString(), 'stderr'));
      }
      let aborted = false;
      let below: number[] = [];
      let graceTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        aborted = true;
        const pid = subprocess.pid;
        const tree = pid === undefined ? [] : listDescendants(pid);
        below = tree.map((process) => process.pid);
        const work = tree.filter((process) => process.depth >= 2).map((process) => process.pid);
        if (work.length === 0) {
          subprocess.kill(options.killSignal ?? 'SIGTERM');
          return;
        }
        try {
          treeFirst!.beforeKill?.(work);
        } catch {
          // what it reads may be gone: the kill matters more
        }
        signalAll(work, 'SIGKILL');
        graceTimer = setTimeout(() => subprocess.kill(options.killSignal ?? 'SIGTERM'), treeFirst!.graceMs);
      };
      if (treeFirst && options.signal) {
        if (options.signal.aborted) onAbort();
        else options.signal.addEventListener('abort', onAbort, { once: true });
      }
      const result = await subprocess;
      clearTimeout(graceTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // Reparented to init once the child is gone: whatever it left below itself.
      if (below.length) signalAll(below, 'SIGKILL');
      const code = (result as { code?: string }).code;
      if (result.failed && (code === 'ENOENT' || code === 'EACCES') && result.exitCode === undefined) {
        throw new CommandNotFoundError(file, result.cause ?? result);
      }
      return {
        command: formatCommand(file, args),
        exitCode: result.exitCode ?? (result.signal ? 128 : 1),
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        aborted: aborted || result.isCanceled === true,
        timedOut: result.timedOut === true,
        signal: result.signal ?? undefined,
      };
    },
  };
}

/**
 * A stream that carries the text once the promise resolves, then ends; or each chunk of the iterable as it comes, and
 * ends with it. Either way it may end first, without it (see its caller): what comes later is dropped.
 */
function streamOf(input: Promise<string> | AsyncIterable<string>): PassThrough {
  const stream = new PassThrough();
  // The process may be gone and its stdin closed: a write then fails, which is the process's end, not an error here.
  stream.on('error', () => undefined);
  if (input instanceof Promise) {
    void input.then((value) => {
      if (!stream.writableEnded) stream.end(value);
    });
    return stream;
  }
  void (async () => {
    for await (const chunk of input) {
      if (stream.writableEnded) return;
      stream.write(chunk);
    }
    if (!stream.writableEnded) stream.end();
  })();
  return stream;
}
