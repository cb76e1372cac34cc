// The operator's log: the shared JSON-lines logger (kube/log.ts) writing to stdout, with API errors
// described by their Status (which object, which reason) rather than as a bare message.
import { describeApiError } from '../../kube/errors.js';
import { JsonLinesLogger, type LineSink, type Logger, type LogLevel } from '../../kube/log.js';

export { isLogLevel, type LogFields, type Logger, type LogLevel } from '../../kube/log.js';

/** A logger writing to `sink` (default stdout), one JSON object per line. */
export function operatorLogger(
  level: LogLevel = 'info',
  sink: LineSink = (line) => process.stdout.write(`${line}\n`),
): Logger {
  return new JsonLinesLogger(level, sink, {}, { describeError });
}

export function describeError(err: unknown): string {
  return describeApiError(err);
}
