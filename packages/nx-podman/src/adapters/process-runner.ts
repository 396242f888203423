import { execa } from 'execa';
import { formatCommand } from '../core/command-line';
import { CommandNotFoundError } from '../core/errors';
import type { ProcessRunner } from '../core/ports';

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
        killSignal: options.killSignal ?? 'SIGTERM',
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
