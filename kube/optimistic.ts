// Read-modify-write of one object guarded by its resourceVersion, retried on 409 Conflict with
// jittered exponential backoff until a deadline. The modification is a pure function of the object
// just read, so every retry decides afresh; no lock is taken anywhere.
import { setTimeout as sleep } from 'node:timers/promises';
import { isConflict } from './errors.js';

export interface RetryOptions {
  /** Give up (rethrow the last conflict) after this long. */
  deadlineMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called on every conflict, for metrics. */
  onConflict?: () => void;
  /** Which write errors mean "read again and decide again" (409 Conflict unless given). */
  retryOn?: (err: unknown) => boolean;
}

export type Decision<T, R> = { write: T; result: R } | { result: R };

export async function readModifyWrite<T, R>(
  read: () => Promise<T>,
  decide: (current: T) => Decision<T, R>,
  write: (next: T) => Promise<T>,
  {
    deadlineMs = 30_000,
    initialBackoffMs = 5,
    maxBackoffMs = 500,
    onConflict,
    retryOn = isConflict,
  }: RetryOptions = {},
): Promise<R> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    const decision = decide(await read());
    if (!('write' in decision)) return decision.result;
    try {
      await write(decision.write);
      return decision.result;
    } catch (err) {
      if (!retryOn(err) || Date.now() >= deadline) throw err;
      onConflict?.();
      // Full jitter: writers that collided spread out instead of colliding again in step.
      const cap = Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.min(attempt, 16));
      await sleep(Math.random() * cap);
    }
  }
}
