// JSON logs, one object per line: time, level, msg, and the context that says which controller and
// which object a line is about, plus the error when there is one.
import { describeApiError } from '../../kube/errors.js';
import { type LogFields, type Logger as LoggerShape, type LogLevel, levelEnabled } from '../../kube/log.js';

export { isLogLevel, type LogFields, type LogLevel } from '../../kube/log.js';

export type LogSink = (line: string) => void;

export class Logger implements LoggerShape {
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly sink: LogSink = (line) => process.stdout.write(`${line}\n`),
    private readonly base: LogFields = {},
  ) {}

  child(fields: LogFields): Logger {
    return new Logger(this.level, this.sink, { ...this.base, ...fields });
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
    for (const [k, v] of Object.entries({ ...this.base, ...fields })) {
      if (v === undefined) continue;
      entry[k] = k === 'error' ? describeError(v) : v;
    }
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch {
      line = JSON.stringify({ time: entry.time, level, msg, note: 'fields were not serialisable' });
    }
    this.sink(line);
  }
}

export function describeError(err: unknown): string {
  return describeApiError(err);
}
