import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until it returns a value other than undefined/false, or fails with the last error
 * or `what` after `timeoutMs`. For conditions that real controllers make true asynchronously.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

export const timedOut: unique symbol = Symbol('timed out');

/**
 * What `promise` resolves to, or `timedOut` when it has not settled after `ms`: for a wait that
 * must fail with its own message rather than hang until jest's test timeout. The timer does not
 * keep the process alive.
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof timedOut> {
  return Promise.race([promise, sleep(ms, timedOut, { ref: false })]);
}
