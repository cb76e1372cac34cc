// One pool's part of a round, pure: the releases of the batch that concern the pool, then the
// allocations offered to it, applied to the pool as read. The leader writes the result guarded by
// the resourceVersion it read, and decides again on a fresh read after a conflict.
import type { SpiderIPPool } from '../../api/index.js';
import {
  type AllocateOptions,
  type AllocationOutcome,
  type AllocationRequest,
  allocate,
} from '../../ipam/allocation/allocate.js';
import { type ReleaseRequest, release } from '../../ipam/allocation/release.js';
import type { PoolRecord } from '../../ipam/records/codec.js';

export interface PoolDecision {
  /** The pool with its new status. */
  pool: SpiderIPPool;
  /** Whether the status must be written. */
  changed: boolean;
  /** Per release request, the records it removed. */
  released: PoolRecord[][];
  /** Per allocation request, what it got. */
  outcomes: AllocationOutcome[];
}

/**
 * Releases first, so an address given back and one asked for in the same batch never collide (and
 * the cursor moves past the released ones), then allocations. Throws the core's IpamError when the
 * pool's spec or records cannot be read.
 */
export function decidePool(
  pool: SpiderIPPool,
  releases: readonly ReleaseRequest[],
  allocations: readonly AllocationRequest[],
  options: AllocateOptions = {},
): PoolDecision {
  let next = pool;
  let changed = false;
  let released: PoolRecord[][] = [];
  let outcomes: AllocationOutcome[] = [];
  if (releases.length > 0) {
    const r = release(next, releases, options);
    next = { ...next, status: r.status };
    changed ||= r.changed;
    released = r.released;
  }
  if (allocations.length > 0) {
    const a = allocate(next, allocations, options);
    next = { ...next, status: a.status };
    changed ||= a.changed;
    outcomes = a.outcomes;
  }
  return { pool: next, changed, released, outcomes };
}
