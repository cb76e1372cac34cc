// Which free address comes next. Allocation continues after a cursor (the pool's
// `status.lastAllocatedIP`, our extension) and wraps around, like host-local's last-reserved
// pointer, so a just-released address is not handed out again at once (Spiderpool takes the lowest
// free address and reuses a released one immediately). Everything is interval arithmetic: the walk
// never visits used or unavailable addresses one by one.
import { parseIP } from '../address/ip.js';
import { count, fromValues, type IntervalSet, nextCyclic, subtract } from '../ranges/intervals.js';
import type { PoolSpace } from './space.js';

/**
 * The cursor of a pool: `status.lastAllocatedIP` as a value. Text that is not an address of the
 * pool's family (hand-edited, or from another version) is ignored rather than fatal: the cursor only
 * spreads allocations, it never decides what is free.
 */
export function parseCursor(space: PoolSpace, lastAllocatedIP: string | undefined): bigint | undefined {
  if (!lastAllocatedIP) return undefined;
  try {
    return parseIP(lastAllocatedIP, space.family).value;
  } catch {
    return undefined;
  }
}

/** The allocatable addresses not in `used`. */
export function freeSet(space: PoolSpace, used: Iterable<bigint>): IntervalSet {
  return subtract(space.allocatable, fromValues(used));
}

/**
 * Hands out free addresses in cyclic order after a cursor. Each `take` returns the next free
 * address after the previous one (or after the starting cursor) and never the same address twice;
 * undefined once every free address has been taken.
 */
export class FreeWalker {
  private readonly free: IntervalSet;
  private remaining: bigint;
  private position: bigint | undefined;

  constructor(free: IntervalSet, cursor: bigint | undefined) {
    this.free = free;
    this.remaining = count(free);
    this.position = cursor;
  }

  take(): bigint | undefined {
    if (this.remaining === 0n) return undefined;
    const next = nextCyclic(this.free, this.position);
    if (next === undefined) return undefined;
    this.remaining -= 1n;
    this.position = next;
    return next;
  }

  /** Free addresses not yet taken. */
  get left(): bigint {
    return this.remaining;
  }
}

/**
 * Where the cursor goes when the addresses in `released` are freed (`free` already counts them).
 * While the next address to be handed out is one of them, the cursor steps onto it, so they come
 * back only after every other free address. The addresses stepped over are in use or just
 * released, so no other free address is passed over.
 */
export function cursorAfterRelease(
  free: IntervalSet,
  cursor: bigint | undefined,
  released: ReadonlySet<bigint>,
): bigint | undefined {
  let at = cursor;
  for (let steps = 0; steps < released.size; steps++) {
    const next = nextCyclic(free, at);
    if (next === undefined || !released.has(next)) break;
    at = next;
  }
  return at;
}
