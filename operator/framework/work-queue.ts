// Per-object work queue. Events of one object are handled one at a time and in order (folded by
// coalesce.ts while they wait); different objects are handled in parallel up to a bound. A failed
// event is retried with per-object exponential backoff, folded with whatever arrived in between, and
// never dropped: every failure is reported through `onError` before the retry is scheduled.
import { Backoff, type BackoffPolicy } from './backoff.js';
import { enqueue, requeueFailed } from './coalesce.js';
import type { ResourceEvent } from './events.js';

export interface WorkQueueOptions {
  concurrency: number;
  retry: BackoffPolicy;
  handle: (event: ResourceEvent) => Promise<void>;
  /**
   * Called when an event is taken for handling: may return it with a newer copy of its object (the
   * cache may have moved on while it waited), so a handler does not act on a state already replaced.
   */
  refresh?: (event: ResourceEvent) => ResourceEvent;
  /**
   * Called for every failed attempt, with the delay before the next one, or undefined when the
   * queue was stopped meanwhile (the event is not retried here; a restarted watch lists again).
   */
  onError?: (
    key: string,
    event: ResourceEvent,
    err: unknown,
    attempt: number,
    retryInMs: number | undefined,
  ) => void;
  /** Called after every attempt, for metrics. */
  onResult?: (ok: boolean, durationMs: number) => void;
  onDepth?: (depth: number) => void;
  random?: () => number;
}

interface KeyState {
  pending: ResourceEvent[];
  running: boolean;
  backoff: Backoff;
  retryTimer?: NodeJS.Timeout;
}

export class WorkQueue {
  private readonly keys = new Map<string, KeyState>();
  private readonly ready: string[] = [];
  private readonly readySet = new Set<string>();
  private active = 0;
  private waiting = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: WorkQueueOptions) {}

  /** Events waiting (not counting those being handled). */
  get depth(): number {
    return this.waiting;
  }

  get inFlight(): number {
    return this.active;
  }

  push(key: string, event: ResourceEvent): void {
    if (this.stopped) return;
    let state = this.keys.get(key);
    if (!state) {
      state = { pending: [], running: false, backoff: new Backoff(this.opts.retry, this.opts.random) };
      this.keys.set(key, state);
    }
    if (enqueue(state.pending, event)) this.waiting++;
    this.markReady(key, state);
    this.reportDepth();
    this.pump();
  }

  /**
   * Stops taking work: pending events and scheduled retries are dropped (a restarted watch lists
   * every object again), and the promise resolves once the handlers already running have finished.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const state of this.keys.values()) if (state.retryTimer) clearTimeout(state.retryTimer);
    this.keys.clear();
    this.waiting = 0;
    this.ready.length = 0;
    this.readySet.clear();
    this.reportDepth();
    await this.idle();
  }

  /** Resolves when no handler is running and nothing is ready to run (retries may still be waiting). */
  idle(): Promise<void> {
    if (this.active === 0 && this.ready.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private markReady(key: string, state: KeyState): void {
    if (state.running || state.retryTimer || state.pending.length === 0 || this.readySet.has(key)) return;
    this.ready.push(key);
    this.readySet.add(key);
  }

  private pump(): void {
    while (!this.stopped && this.active < this.opts.concurrency && this.ready.length > 0) {
      const key = this.ready.shift() as string;
      this.readySet.delete(key);
      const state = this.keys.get(key);
      const taken = state?.pending.shift();
      if (!state || !taken) continue;
      const event = this.opts.refresh ? this.opts.refresh(taken) : taken;
      this.waiting--;
      state.running = true;
      this.active++;
      this.reportDepth();
      void this.run(key, state, event);
    }
    if (this.active === 0 && this.ready.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(key: string, state: KeyState, event: ResourceEvent): Promise<void> {
    const started = performance.now();
    let ok = true;
    try {
      await this.opts.handle(event);
    } catch (err) {
      ok = false;
      const attempt = state.backoff.failures + 1;
      if (this.stopped) this.report(() => this.opts.onError?.(key, event, err, attempt, undefined));
      else {
        const delay = state.backoff.next();
        if (requeueFailed(state.pending, event)) this.waiting++;
        this.report(() => this.opts.onError?.(key, event, err, attempt, delay));
        state.retryTimer = setTimeout(() => {
          state.retryTimer = undefined;
          this.markReady(key, state);
          this.pump();
        }, delay);
      }
    }
    this.report(() => this.opts.onResult?.(ok, performance.now() - started));
    if (ok) state.backoff.reset();
    state.running = false;
    this.active--;
    if (!this.stopped) {
      if (state.pending.length === 0 && !state.retryTimer) this.keys.delete(key);
      else this.markReady(key, state);
    }
    this.reportDepth();
    this.pump();
  }

  private reportDepth(): void {
    this.report(() => this.opts.onDepth?.(this.depth));
  }

  // A throwing observer must not wedge the queue's bookkeeping.
  private report(fn: () => void): void {
    try {
      fn();
    } catch {
      // observers are logging and metrics; their failure is not the handler's
    }
  }
}
