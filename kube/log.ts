// The one logger shape of both executables: the levels, what a line may carry, and the methods every
// logger has. The plugin writes to its rotating file (cni/log/logger.ts), the operator to stdout
// (operator/observability/log.ts); both write one JSON object per line with time, level and msg
// first. No imports: the plugin loads this on every call.

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
