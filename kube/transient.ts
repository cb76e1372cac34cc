// Retries of requests the API server refused for now without doing anything: 429 Too Many Requests
// (API Priority and Fairness, or "storage is (re)initializing" while a new resource's watch cache
// fills) and 503. The server's Retry-After is honoured within a budget, as client-go does, so a
// caller sees such an answer only when it lasts. Optionally 403 too: a kube-apiserver that has just
// started serves requests before its RBAC authorizer's cache has synced, and refuses every one of them
// as forbidden for that moment (seen in the chaos suite, test/integration/chaos, right after a restart).
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException } from '@kubernetes/client-node';
import { apiStatus } from './errors.js';

export interface TransientRetryOptions {
  /** Stop retrying once this much time has passed since the first attempt. */
  budgetMs?: number;
  /** Wait when the server names no Retry-After. */
  defaultDelayMs?: number;
  /** Retry 403 Forbidden within the budget as well (a caller whose permissions are known to be granted). */
  forbidden?: boolean;
}

function retryAfterMs(err: unknown, fallback: number): number {
  const header =
    err instanceof ApiException ? (err.headers as Record<string, string>)['retry-after'] : undefined;
  const seconds = header === undefined ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : fallback;
}

export const isRetriable = (err: unknown): boolean => {
  const status = apiStatus(err);
  return status === 429 || status === 503;
};

export async function retryTransient<T>(
  work: () => Promise<T>,
  { budgetMs = 5_000, defaultDelayMs = 200, forbidden = false }: TransientRetryOptions = {},
): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      return await work();
    } catch (err) {
      if (!isRetriable(err) && !(forbidden && apiStatus(err) === 403)) throw err;
      const wait = Math.min(retryAfterMs(err, defaultDelayMs), 1_000);
      if (Date.now() + wait > deadline) throw err;
      await sleep(wait);
    }
  }
}
