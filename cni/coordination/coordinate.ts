// Node-local group commit. Concurrent plugin processes on one node that would each read-modify-write
// the same pool instead hand their requests to one of them, the leader, which applies all pending
// requests in one batch (one pool write) and answers each.
//
// - A process connects to the scope's abstract unix socket and, when nobody listens there, binds it
//   and leads; the others connect, send their request and wait. The name vanishes with the
//   process, so a dead leader leaves no lock.
// - The leader serves batches while requests keep coming; requests that arrive while a batch is
//   being committed join the next one. After `idleMs` without requests (or after `maxLeadMs` of
//   leading, so no single call waits too long) it stops listening, finishes every request it has
//   already received, and closes the connections whose requests it has not, which then retry.
// - A follower whose leader vanishes (refused, reset, closed without an answer) starts over: it
//   binds the name if it is free and leads, or follows the new leader.
//
// Correctness never rests on there being one leader: two can overlap at a hand-over, and a killed
// leader may have written a batch without answering it. The batch handler therefore writes with
// optimistic concurrency (resourceVersion) and every request must be idempotent, so a retried
// request converges on the answer of its first, unanswered, application.
import type { Server, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { follow } from './follow.js';
import { type Answer, type AnswerError, encodeLine, LineReader } from './wire.js';

export type { Answer, AnswerError } from './wire.js';

export type BatchHandler<Q, R> = (requests: Q[]) => Promise<Answer<R>[]>;

export type CoordinationEvent =
  | { type: 'leading'; attempt: number }
  | { type: 'following'; attempt: number }
  | { type: 'batch'; number: number; size: number }
  | { type: 'batch-done'; number: number; size: number; ms: number }
  | { type: 'answered'; number: number; size: number }
  | { type: 'handover'; reason: 'idle' | 'max-lead'; batches: number; served: number }
  | { type: 'retry'; attempt: number; reason: string }
  | { type: 'answer-lost'; reason: string };

export interface CoordinateOptions<Q, R> {
  /** The abstract socket name, from scopeName(). */
  name: string;
  handleBatch: BatchHandler<Q, R>;
  /** Hand over after this long without a request. */
  idleMs?: number;
  /** Hand over after leading this long, even when busy. */
  maxLeadMs?: number;
  /** Requests per batch at most; the rest wait for the next. */
  maxBatch?: number;
  /**
   * A request that comes less than this long after the previous batch was answered waits this long
   * for others before its batch starts, and longer while others keep coming (see gatherCapMs): in a
   * burst, batches of a few requests each would each pay the per-batch write of a whole pool, while
   * a request after a pause is served at once.
   */
  gatherMs?: number;
  /**
   * A gathering batch waits, in steps of `gatherMs`, for as long as a request came within the quiet
   * window (a burst is still arriving), until `maxBatch` requests or `gatherCapMs` in all. The quiet
   * window is three recent gaps between requests (a moving average), at least `gatherMs` and at most
   * `gatherQuietMs`: when the calls in flight have all arrived, the next ones come only after their
   * answers, so a batch stops waiting soon after the requests stop coming as fast as they did.
   */
  gatherQuietMs?: number;
  gatherCapMs?: number;
  /** A follower gives up after this long. */
  deadlineMs?: number;
  /** Observes the protocol (logs, tests). */
  onEvent?: (event: CoordinationEvent) => void;
  /**
   * Called once when `maxLeadMs` has passed; the leader goes on serving until the promise settles
   * (say, until a successor is ready to take the name), then hands over.
   */
  beforeMaxLeadHandover?: () => Promise<void>;
}

export interface Coordinated<R> {
  value: R;
  role: 'leader' | 'follower';
  /** How many times this request was sent or led (1 unless a leader vanished). */
  attempts: number;
}

/** The leader answered this request with an error. */
export class BatchRequestFailed extends Error {
  readonly code: number | undefined;
  constructor(error: AnswerError) {
    super(error.message);
    this.name = 'BatchRequestFailed';
    this.code = error.code;
  }
}

/** No answer within the deadline. */
export class CoordinationTimeout extends Error {
  constructor(name: string, ms: number, attempts: number) {
    super(
      `no answer from the node-local leader within ${ms} ms (${attempts} attempts, scope ${name.slice(1)})`,
    );
    this.name = 'CoordinationTimeout';
  }
}

export const coordinationDefaults = {
  idleMs: 5,
  maxLeadMs: 2_000,
  maxBatch: 256,
  gatherMs: 0,
  // Measured at 1000 ADDs, concurrency 64 (docs/cni.md, "The leader and the API server at C = 64"):
  // a quiet window of one 5 ms step left 245 batches, a fixed 50 ms 145 to 157, 100 ms (cap 500) 143.
  gatherQuietMs: 50,
  gatherCapMs: 200,
  deadlineMs: 60_000,
};

const leaderships = new Set<Promise<void>>();

/** Resolves when every leadership of this process has handed over; the process may then exit. */
export async function settled(): Promise<void> {
  while (leaderships.size > 0) await Promise.allSettled([...leaderships]);
}

function errorOf(err: unknown): AnswerError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? { message, code } : { message };
}

interface Pending<Q> {
  request: Q;
  deliver: (answer: Answer<unknown>) => void;
}

/** The quiet window of a gathering batch: three recent gaps between requests, within its bounds. */
export function quietWindowMs(
  recentGapMs: number,
  opts: { gatherMs: number; gatherQuietMs: number },
): number {
  return Math.min(opts.gatherQuietMs, Math.max(opts.gatherMs, 3 * recentGapMs));
}

/**
 * Whether a gathering batch waits another step: a request came within the quiet window, the batch
 * is not full, and the gather has lasted less than `gatherCapMs`.
 */
export function keepGathering(
  state: { queued: number; sinceArrivalMs: number; quietMs: number; elapsedMs: number },
  opts: { gatherCapMs: number; maxBatch: number },
): boolean {
  return (
    state.sinceArrivalMs < state.quietMs && state.queued < opts.maxBatch && state.elapsedMs < opts.gatherCapMs
  );
}

class Leadership<Q, R> {
  private readonly queue: Pending<Q>[] = [];
  /** Connections whose request has not been received yet. */
  private readonly waiting = new Set<Socket>();
  private wake: (() => void) | undefined;
  private closing = false;
  /** Set when beforeMaxLeadHandover settled: hand over at the next turn of the loop. */
  private successorReady = false;
  private batches = 0;
  private served = 0;
  /** When the last batch was answered. */
  private lastAnswered = Number.NEGATIVE_INFINITY;
  /** When the last request was queued. */
  private lastArrival = Number.NEGATIVE_INFINITY;
  /** A moving average of the gaps between requests, each counted up to gatherQuietMs. */
  private recentGapMs: number;

  constructor(
    private readonly server: Server,
    private readonly opts: CoordinateOptions<Q, R> & typeof coordinationDefaults,
    private readonly emit: (event: CoordinationEvent) => void,
  ) {
    this.recentGapMs = opts.gatherQuietMs;
    server.on('connection', (socket) => this.accept(socket));
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {
      // A follower that died: its answer is lost, which a retry of that request repairs.
    });
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.waiting.add(socket);
    const reader = new LineReader();
    let received = false;
    socket.on('close', () => this.waiting.delete(socket));
    socket.on('data', (chunk) => {
      if (received) return;
      let message: unknown;
      try {
        message = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      if (message === undefined) return;
      received = true;
      this.waiting.delete(socket);
      if (this.closing || typeof message !== 'object' || message === null || !('request' in message)) {
        socket.destroy();
        return;
      }
      this.enqueue({
        request: (message as { request: Q }).request,
        deliver: (answer) => {
          if (socket.destroyed || !socket.writable) {
            this.emit({ type: 'answer-lost', reason: 'follower gone' });
            return;
          }
          socket.end(encodeLine(answer));
        },
      });
    });
  }

  enqueue(pending: Pending<Q>): void {
    this.queue.push(pending);
    const now = performance.now();
    const gap = Math.min(now - this.lastArrival, this.opts.gatherQuietMs);
    this.recentGapMs = 0.7 * this.recentGapMs + 0.3 * gap;
    this.lastArrival = now;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private waitForWork(ms: number): Promise<boolean> {
    if (this.queue.length > 0 || this.successorReady) return Promise.resolve(this.queue.length > 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(this.queue.length > 0);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private async commit(): Promise<void> {
    const batch = this.queue.splice(0, this.opts.maxBatch);
    const number = ++this.batches;
    this.emit({ type: 'batch', number, size: batch.length });
    const started = performance.now();
    let answers: Answer<R>[];
    try {
      answers = await this.opts.handleBatch(batch.map((p) => p.request));
      if (!Array.isArray(answers) || answers.length !== batch.length) {
        throw new Error(`batch handler returned ${answers?.length} answers for ${batch.length} requests`);
      }
    } catch (err) {
      const error = errorOf(err);
      answers = batch.map(() => ({ ok: false, error }));
    }
    this.emit({ type: 'batch-done', number, size: batch.length, ms: performance.now() - started });
    batch.forEach((pending, i) => {
      pending.deliver(answers[i] as Answer<R>);
    });
    this.served += batch.length;
    this.lastAnswered = performance.now();
    this.emit({ type: 'answered', number, size: batch.length });
  }

  /**
   * Waits for more requests to join the queue's batch: a step of gatherMs, then more for as long as
   * requests keep coming (keepGathering).
   */
  private async gather(): Promise<void> {
    const { gatherMs, gatherCapMs } = this.opts;
    const started = performance.now();
    for (;;) {
      if (this.queue.length >= this.opts.maxBatch || this.successorReady) return;
      await sleep(Math.min(gatherMs, Math.max(0, started + gatherCapMs - performance.now())));
      const now = performance.now();
      const state = {
        queued: this.queue.length,
        sinceArrivalMs: now - this.lastArrival,
        quietMs: quietWindowMs(this.recentGapMs, this.opts),
        elapsedMs: now - started,
      };
      if (!keepGathering(state, this.opts)) return;
    }
  }

  async run(): Promise<void> {
    const started = performance.now();
    let reason: 'idle' | 'max-lead' = 'idle';
    let preparing = false;
    for (;;) {
      const work = await this.waitForWork(this.opts.idleMs);
      if (this.successorReady) {
        reason = 'max-lead';
        break;
      }
      if (!work) break;
      if (this.batches > 0 && performance.now() - started > this.opts.maxLeadMs) {
        const prepare = this.opts.beforeMaxLeadHandover;
        if (!prepare) {
          reason = 'max-lead';
          break;
        }
        if (!preparing) {
          preparing = true;
          // Keep serving while the successor gets ready; wake the loop when it is.
          prepare()
            .catch(() => undefined)
            .then(() => {
              this.successorReady = true;
              this.wakeUp();
            });
        }
      }
      if (this.opts.gatherMs > 0 && performance.now() - this.lastAnswered < this.opts.gatherMs)
        await this.gather();
      await this.commit();
    }
    // Stop accepting; the name is free at once, so a new leader may start while this one finishes.
    // (close()'s callback waits for open connections, which are finished or closed just below.)
    this.server.close();
    while (this.queue.length > 0) await this.commit();
    // Everything received is answered; the rest never reached this leader and will retry.
    this.closing = true;
    for (const socket of this.waiting) socket.destroy();
    this.emit({ type: 'handover', reason, batches: this.batches, served: this.served });
  }
}

function listen(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    // Taken when a process tries to lead, not imported: a follower never loads node:net (follow.ts).
    const server = process.getBuiltinModule('node:net').createServer();
    const onError = (err: NodeJS.ErrnoException) => {
      server.close();
      if (err.code === 'EADDRINUSE') resolve(undefined);
      else reject(err);
    };
    server.once('error', onError);
    server.listen(name, 1024, () => {
      server.off('error', onError);
      server.on('error', () => {
        // errors of accepted connections are handled per socket
      });
      resolve(server);
    });
  });
}

function unwrap<R>(answer: Answer<unknown>): R {
  if (answer.ok) return answer.value as R;
  throw new BatchRequestFailed(answer.error);
}

/**
 * Applies `request` through the node-local leader of `opts.name` (possibly this process) and
 * returns its answer. When this process leads, it goes on serving others after its own answer;
 * await settled() before exiting.
 */
export async function coordinate<Q, R>(
  request: Q,
  options: CoordinateOptions<Q, R>,
): Promise<Coordinated<R>> {
  const opts = { ...coordinationDefaults, ...options };
  const emit = (event: CoordinationEvent) => {
    try {
      opts.onEvent?.(event);
    } catch {
      // an observer must not break the protocol
    }
  };
  const deadline = Date.now() + opts.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    if (Date.now() >= deadline) throw new CoordinationTimeout(opts.name, opts.deadlineMs, attempt - 1);
    // A leader is asked first, and the name bound only when nobody listens on it: most calls follow,
    // and a follower that never tries to bind never loads node:net (follow.ts). A name bound between
    // the refusal and the bind is followed on the next turn, without counting an attempt.
    const outcome = await follow(opts.name, request, deadline, () => emit({ type: 'following', attempt }));
    if ('answer' in outcome) return { value: unwrap<R>(outcome.answer), role: 'follower', attempts: attempt };
    if ('refused' in outcome) {
      const server = await listen(opts.name);
      if (!server) {
        attempt--;
        continue;
      }
      emit({ type: 'leading', attempt });
      const leadership = new Leadership<Q, R>(server, opts, emit);
      const own = new Promise<Answer<unknown>>((resolve) =>
        leadership.enqueue({ request, deliver: resolve }),
      );
      const running = leadership.run();
      const tracked: Promise<void> = running
        .catch(() => undefined)
        .finally(() => leaderships.delete(tracked));
      leaderships.add(tracked);
      return { value: unwrap<R>(await own), role: 'leader', attempts: attempt };
    }
    emit({ type: 'retry', attempt, reason: outcome.retry });
    // Spread the followers of a vanished leader a little before they race for the name again.
    await sleep(Math.random() * 3);
  }
}

/**
 * Leads `options.name` without a request of its own: a process that keeps the node's leader warm
 * for the calls that come next (cni/linger/). It takes the name once it is free, trying every few
 * milliseconds for up to `waitMs` (a leader may be finishing its batches), serves until `idleMs`
 * without requests or `maxLeadMs` of leading, and resolves with the hand-over's reason; undefined
 * when the name stayed taken. `bound` runs as soon as the name is this process's.
 */
export async function lead<Q, R>(
  options: CoordinateOptions<Q, R>,
  waitMs: number,
  bound?: () => void,
): Promise<'idle' | 'max-lead' | undefined> {
  const opts = { ...coordinationDefaults, ...options };
  const emit = (event: CoordinationEvent) => {
    try {
      opts.onEvent?.(event);
    } catch {
      // an observer must not break the protocol
    }
  };
  const giveUp = Date.now() + waitMs;
  let server = await listen(opts.name);
  while (!server && Date.now() < giveUp) {
    await sleep(bindRetryMs);
    server = await listen(opts.name);
  }
  if (!server) return undefined;
  bound?.();
  emit({ type: 'leading', attempt: 1 });
  let reason: 'idle' | 'max-lead' | undefined;
  const leadership = new Leadership<Q, R>(server, opts, (event) => {
    if (event.type === 'handover') reason = event.reason;
    emit(event);
  });
  const running = leadership.run();
  const tracked: Promise<void> = running.catch(() => undefined).finally(() => leaderships.delete(tracked));
  leaderships.add(tracked);
  await running;
  return reason;
}

/** How often a waiting successor tries the name again. */
const bindRetryMs = 5;
