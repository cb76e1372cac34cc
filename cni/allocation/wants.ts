// The addresses a batch still needs, one "want" per request, NIC and family, each with its pools in
// the order to try them. Pool writes happen in rounds: every unsettled want is offered to its current
// pool, all wants of one pool go into one allocate() (one guarded write), and a want whose pool is
// exhausted or unusable moves on to its next pool in the next round. Pure bookkeeping: the caller
// reads and writes the pools.
import type { Family } from '../../ipam/address/ip.js';
import type { AllocationOutcome, AllocationRequest } from '../../ipam/allocation/allocate.js';

export interface Want {
  /** Index of the request in the batch. */
  request: number;
  nic: string;
  family: Family;
  /** Pool names in the order to try them. */
  pools: string[];
  owner: string;
  podUid: string;
  takeOver: boolean;
  /** This address only (an IPAMClaim's spec.ipRequests); its one pool is the one holding it. */
  ip?: string;
}

export type Held = Extract<AllocationOutcome, { kind: 'allocated' | 'reused' | 'takenOver' }>;

export interface WantFailure {
  /** `exhausted` when at least one pool was full, else `unusable`. */
  kind: 'exhausted' | 'unusable';
  /** One reason per pool tried, in order. */
  reasons: string[];
}

interface WantState {
  want: Want;
  position: number;
  held?: Held;
  failure?: WantFailure;
  reasons: string[];
  exhausted: boolean;
}

export class WantTracker {
  private readonly states: WantState[];

  constructor(wants: readonly Want[]) {
    this.states = wants.map((want) => ({ want, position: 0, reasons: [], exhausted: false }));
    for (const state of this.states) if (state.want.pools.length === 0) this.fail(state);
  }

  get wants(): readonly Want[] {
    return this.states.map((s) => s.want);
  }

  /** Unsettled wants by the pool to offer them to next, pools in name order (a stable write order). */
  pending(): Map<string, number[]> {
    const byPool = new Map<string, number[]>();
    this.states.forEach((state, index) => {
      if (state.held || state.failure) return;
      const pool = state.want.pools[state.position] as string;
      const list = byPool.get(pool);
      if (list) list.push(index);
      else byPool.set(pool, [index]);
    });
    return new Map([...byPool.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** The allocate() requests of some wants, in the same order. */
  requests(indexes: readonly number[]): AllocationRequest[] {
    return indexes.map((i) => {
      const { owner, podUid, nic, takeOver, ip } = this.state(i).want;
      return { owner, podUid, nic, takeOver, ...(ip !== undefined ? { ip } : {}) };
    });
  }

  /** What allocate() said for want `index` on its current pool. */
  record(index: number, outcome: AllocationOutcome): void {
    const state = this.state(index);
    if ('reason' in outcome) this.skipPool(index, outcome.reason, outcome.kind === 'exhausted');
    else state.held = outcome;
  }

  /** The current pool cannot serve want `index` (unreadable, exhausted, unusable): try the next one. */
  skipPool(index: number, reason: string, exhausted = false): void {
    const state = this.state(index);
    state.reasons.push(reason);
    state.exhausted ||= exhausted;
    state.position++;
    if (state.position >= state.want.pools.length) this.fail(state);
  }

  /** Gives want `index` up without trying further pools (its request failed for another reason). */
  abandon(index: number, reason: string): void {
    const state = this.state(index);
    if (state.held || state.failure) return;
    state.reasons.push(reason);
    this.fail(state);
  }

  held(index: number): Held | undefined {
    return this.state(index).held;
  }

  failure(index: number): WantFailure | undefined {
    return this.state(index).failure;
  }

  /** Indexes of the wants of one request. */
  ofRequest(request: number): number[] {
    const out: number[] = [];
    this.states.forEach((s, i) => {
      if (s.want.request === request) out.push(i);
    });
    return out;
  }

  /** Requests with at least one failed want: none of their new addresses may be kept. */
  failedRequests(): Set<number> {
    return new Set(this.states.filter((s) => s.failure).map((s) => s.want.request));
  }

  private state(index: number): WantState {
    const state = this.states[index];
    if (!state) throw new Error(`no want ${index}`);
    return state;
  }

  private fail(state: WantState): void {
    state.failure = { kind: state.exhausted ? 'exhausted' : 'unusable', reasons: state.reasons };
  }
}
