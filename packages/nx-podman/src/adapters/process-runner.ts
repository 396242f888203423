import { execa } from 'execa';

/** Options of one child process run. */
export interface RunProcessOptions {
  /** Working directory. @default process.cwd() */
  cwd?: string;
  /** Extra environment variables, merged over the parent's. The parent's `process.env` is never mutated. */
  env?: Record<string, string | undefined>;
  /** Aborting kills the process: SIGTERM, then SIGKILL after `forceKillAfterMs`. */
  signal?: AbortSignal;
  /** Called with every chunk of stdout and stderr as it arrives (live build output). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Text written to stdin. */
  input?: string;
  /** Kill the process after this many milliseconds. @default no timeout */
  timeoutMs?: number;
  /** Delay between SIGTERM and SIGKILL. @default 5000 */
  forceKillAfterMs?: number;
}

/** What a finished child process left behind. A non-zero exit is a result, not an exception. */
export interface ProcessResult {
  /** The command line, for messages only (arguments are never joined for execution). */
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the process was killed because `signal` aborted. */
  aborted: boolean;
  timedOut: boolean;
  /** Signal that ended the process, if any. */
  signal?: string;
}

/** Thrown when the executable itself cannot be started (not installed, not executable). */
export class CommandNotFoundError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`Cannot run "${file}": ${(cause as Error)?.message ?? cause}. Is it installed and on PATH?`);
    this.name = 'CommandNotFoundError';
  }
}

/** The port every adapter uses to run a child process. */
export interface ProcessRunner {
  run(file: string, args: readonly string[], options?: RunProcessOptions): Promise<ProcessResult>;
}

/** Quotes an argument array for display in messages. Never used to build something a shell executes. */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Creates the real process runner (execa). Every child is killed when the parent exits (execa `cleanup`),
 * and an aborted run escalates SIGTERM to SIGKILL so no podman child is left behind.
 */
export function createProcessRunner(): ProcessRunner {
  return {
    async run(file, args, options = {}) {
      const subprocess = execa(file, [...args], {
        cwd: options.cwd,
        env: options.env,
        extendEnv: true,
        input: options.input,
        stdin: options.input === undefined ? 'ignore' : undefined,
        reject: false,
        stripFinalNewline: false,
        cleanup: true,
        cancelSignal: options.signal,
        timeout: options.timeoutMs,
        killSignal: 'SIGTERM',
        forceKillAfterDelay: options.forceKillAfterMs ?? 5000,
        maxBuffer: 64 * 1024 * 1024,
      });
      if (options.onOutput) {
        const onOutput = options.onOutput;
        subprocess.stdout?.on('data', (chunk: Buffer) => onOutput(chunk.toString(), 'stdout'));
        subprocess.stderr?.on('data', (chunk: Buffer) => onOutput(chunk.toString(), 'stderr'));
      }
      const result = await subprocess;
      const code = (result as { code?: string }).code;
      if (result.failed && (code === 'ENOENT' || code === 'EACCES') && result.exitCode === undefined) {
        throw new CommandNotFoundError(file, result.cause ?? result);
      }
      return {
        command: formatCommand(file, args),
        exitCode: result.exitCode ?? (result.signal ? 128 : 1),
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        aborted: result.isCanceled === true,
        timedOut: result.timedOut === true,
        signal: result.signal ?? undefined,
      };
    },
  };
}

/** The last `count` non-empty lines of some output, for error messages. */
export function lastLines(text: string, count = 20): string {
  return text.split('\n').filter((line) => line.trim() !== '').slice(-count).join('\n');
}
