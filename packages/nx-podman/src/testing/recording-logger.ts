import type { Logger } from '../core/ports';

/** A recording logger: every line as text, the way a user would read it. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const line =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      lines.push(
        [
          level,
          msg,
          ...Object.entries(fields)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k}=${v}`),
        ].join(' '),
      );
  return {
    lines,
    verbose: true,
    debug: line('DEBUG'),
    info: line('INFO'),
    warn: line('WARN'),
    error: line('ERROR'),
    output: (text) => lines.push(`OUTPUT ${text}`),
  };
}

/** A logger that drops every line: for tests that assert something else. */
export const quietLogger: Logger = {
  verbose: false,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  output: () => undefined,
};
