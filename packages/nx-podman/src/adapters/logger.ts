import { formatLogLine, type LogFields, type LogFormat, type LogLevel } from '../core/log-format';
import type { Logger } from '../core/ports';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Show DEBUG lines. @default false, or true when Nx runs with `--verbose` (NX_VERBOSE_LOGGING=true) */
  verbose?: boolean;
  /** @default 'text' */
  format?: LogFormat;
  /** @default process.stdout */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Width to pad `plugin=` values to on a TTY (the longest project name). */
  pluginWidth?: number;
}

/** True when Nx was asked for verbose output (`nx run p:t --verbose` sets NX_VERBOSE_LOGGING). */
export function isNxVerbose(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NX_VERBOSE_LOGGING === 'true';
}

/** Creates a logger writing to a stream (stdout by default); colours only on a TTY and never in JSON form. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stdout;
  const format = options.format ?? 'text';
  const verbose = options.verbose ?? isNxVerbose();
  const colour = format === 'text' && stream.isTTY === true && !process.env.NO_COLOR;
  const write = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (level === 'debug' && !verbose) return;
    stream.write(formatLogLine(level, msg, fields, { format, colour, pluginWidth: options.pluginWidth }) + '\n');
  };
  return {
    verbose,
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    output: (text) => {
      if (format === 'json') {
        for (const line of text.split('\n')) if (line) write('info', 'output', { line });
      } else {
        stream.write(text);
      }
    },
  };
}
