// The node-local protocol between plugin processes: one request per connection, one JSON line each
// way. A follower writes `{"request": ...}`; the leader answers `{"ok": true, "value": ...}` or
// `{"ok": false, "error": {...}}` and closes. A connection closed without an answer means "retry".

export interface AnswerError {
  message: string;
  /** A CNI error code the leader assigned, when there is one. */
  code?: number;
}

export type Answer<R> = { ok: true; value: R } | { ok: false; error: AnswerError };

/** Lines longer than this are refused: no request of ours comes near it. */
export const maxLineBytes = 1 << 20;

export function encodeLine(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Accumulates chunks until the first newline. Returns the parsed line, undefined while incomplete,
 * or throws when the peer sent garbage or too much.
 */
export class LineReader {
  private buffer = '';

  push(chunk: Buffer | string): unknown {
    this.buffer += chunk.toString();
    const end = this.buffer.indexOf('\n');
    if (end < 0) {
      if (this.buffer.length > maxLineBytes) throw new Error('line too long');
      return undefined;
    }
    return JSON.parse(this.buffer.slice(0, end)) as unknown;
  }
}

export function isAnswer(value: unknown): value is Answer<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { ok?: unknown; error?: { message?: unknown } };
  return v.ok === true || (v.ok === false && typeof v.error?.message === 'string');
}
