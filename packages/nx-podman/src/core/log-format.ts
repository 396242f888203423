/** Severity of a log line. `debug` lines are shown only with `verbose` (or Nx's `--verbose`). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields of a log line, printed as `key=value` in text form and as keys in JSON form. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** How log lines are rendered. @default 'text' */
export type LogFormat = 'text' | 'json';

const LEVEL_LABEL: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };
const LEVEL_COLOUR: Record<LogLevel, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };
const RESET = '\x1b[0m';

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  // Quote like logfmt so that paths and messages with spaces stay one token for grep/awk. A URL's `=` (its query)
  // stays bare: logfmt splits at the first `=`, and the URL stays clickable in a terminal.
  if (/^https?:\/\/[^\s"]+$/.test(text)) return text;
  return text === '' || /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

/**
 * Renders one log line in the `prism-watcher` style: `INFO building plugin plugin=postgres stage=production`.
 * With `colour`, the level is coloured and padded and `plugin=` is padded to `pluginWidth` so that columns align.
 */
export function formatLogLine(
  level: LogLevel,
  msg: string,
  fields: LogFields,
  options: { format: LogFormat; colour?: boolean; pluginWidth?: number; time?: Date },
): string {
  const defined = Object.entries(fields).filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined);
  if (options.format === 'json') {
    return JSON.stringify({ time: (options.time ?? new Date()).toISOString(), level, msg, ...Object.fromEntries(defined) });
  }
  const parts = defined.map(([key, value]) => {
    const pair = `${key}=${formatValue(value)}`;
    return options.colour && key === 'plugin' ? pair.padEnd(options.pluginWidth ? options.pluginWidth + 7 : 0) : pair;
  });
  const label = options.colour ? `${LEVEL_COLOUR[level]}${LEVEL_LABEL[level].padEnd(5)}${RESET}` : LEVEL_LABEL[level];
  return [label, msg, ...parts].join(' ').trimEnd();
}

/** Milliseconds as seconds with one decimal, for log fields: `1.2s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
