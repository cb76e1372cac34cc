// Token buckets per involved object, so a controller stuck on one object cannot flood the API
// server with Events (client-go's defaults: a burst of 25, then one every five minutes).

export interface SpamPolicy {
  burst: number;
  refillEveryMs: number;
  /** Buckets kept at most; the least recently used go first. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class SpamFilter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly policy: SpamPolicy) {}

  /** Takes a token for `key` at time `nowMs`; false means the Event must be dropped. */
  allow(key: string, nowMs: number): boolean {
    const b = this.buckets.get(key) ?? { tokens: this.policy.burst, updatedMs: nowMs };
    const refill = Math.floor((nowMs - b.updatedMs) / this.policy.refillEveryMs);
    if (refill > 0) {
      b.tokens = Math.min(this.policy.burst, b.tokens + refill);
      b.updatedMs += refill * this.policy.refillEveryMs;
    }
    this.buckets.delete(key);
    this.buckets.set(key, b);
    this.evict();
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  private evict(): void {
    const max = this.policy.maxKeys ?? 4096;
    while (this.buckets.size > max) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}
