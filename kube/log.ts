// The one logger of both executables: the levels, what a line may carry, the methods every logger has,
// and the JSON-lines writer behind them. Only the sink differs: the plugin appends to its rotating file
// (cni/log/logger.ts), the operator writes to stdout (operator/observability/log.ts). No imports: the
// plugin loads this on every call.

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (logLevels as readonly string[]).includes(value);
}

/** Whether a line of `level` is written by a logger set to `threshold`. */
export function levelEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return logLevels.indexOf(level) >= logLevels.indexOf(threshold);
}

/** Context of a line: which controller, object, pod or request it is about, and an `error`. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Where finished lines go (one JSON object, no trailing newline). */
export type LineSink = (line: string) => void;

export interface JsonLinesOptions {
  /** How an `error` field is written (default: an Error's message, anything else as it is). */
  describeError?: (err: unknown) => string;
  /** Put the writing process's pid on every line (many plugin processes share one file). */
  pid?: boolean;
}

const errorMessage = (err: unknown): unknown => (err instanceof Error ? err.message : err);

/**
 * One JSON object per line: time, level and msg first, then the logger's and the call's fields
 * (undefined ones left out, bigints as strings). A line whose fields cannot be serialised (a cycle)
 * is still written, with a note instead of the fields: logging never throws.
 */
export class JsonLinesLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly sink: LineSink,
    private readonly fields: LogFields = {},
    private readonly opts: JsonLinesOptions = {},
  ) {}

  child(fields: LogFields): Logger {
    return new JsonLinesLogger(this.level, this.sink, { ...this.fields, ...fields }, this.opts);
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (!levelEnabled(level, this.level)) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
    if (this.opts.pid) entry.pid = process.pid;
    const describe = this.opts.describeError ?? errorMessage;
    for (const [k, v] of Object.entries({ ...this.fields, ...fields })) {
      if (v === undefined) continue;
      entry[k] = k === 'error' ? describe(v) : v;
    }
    let line: string;
    try {
      line = JSON.stringify(entry, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    } catch {
      line = JSON.stringify({ time: entry.time, level, msg, note: 'fields were not serialisable' });
    }
    this.sink(line);
  }
}
