// Exponential backoff with jitter: callers that failed together (every watch after an API server
// restart, every retry of one conflict) spread out instead of returning in step.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (0-based): the exponential step capped at `maxMs`, then
 * scaled into [50 %, 100 %] of itself ("equal jitter"), so a delay never collapses to zero.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** Counts consecutive failures of one thing; `next()` gives the delay, `reset()` follows a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    return backoffDelay(this.attempt++, this.policy, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}
