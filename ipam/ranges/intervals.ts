// Sets of addresses as sorted, merged, inclusive bigint intervals. Every operation is linear in the
// number of intervals (or n log n where it must sort), never in the number of addresses, so an IPv6
// /64 costs the same as a /30.

export interface Interval {
  start: bigint;
  end: bigint;
}

/** Sorted by start, no two intervals overlapping or touching. Build with `normalize`. */
export type IntervalSet = readonly Interval[];

export const emptySet: IntervalSet = Object.freeze([]);

// Math.min and Math.max do not take bigints.
const bigMin = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const bigMax = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** Sorts and merges intervals; overlapping and adjacent ones become one. */
export function normalize(intervals: Iterable<Interval>): IntervalSet {
  const sorted = [...intervals].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Interval[] = [];
  for (const { start, end } of sorted) {
    if (start > end) continue;
    const last = out[out.length - 1];
    if (last && start <= last.end + 1n) {
      if (end > last.end) last.end = end;
    } else {
      out.push({ start, end });
    }
  }
  return out;
}

/** The set of the given single addresses. */
export function fromValues(values: Iterable<bigint>): IntervalSet {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: Interval[] = [];
  for (const v of sorted) {
    const last = out[out.length - 1];
    if (last && v <= last.end + 1n) {
      if (v > last.end) last.end = v;
    } else {
      out.push({ start: v, end: v });
    }
  }
  return out;
}

export function union(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return normalize([...a, ...b]);
}

/** a − b. */
export function subtract(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length === 0 || b.length === 0) return a;
  const out: Interval[] = [];
  let j = 0;
  for (const { start, end } of a) {
    let cur = start;
    while (j < b.length && (b[j] as Interval).end < cur) j++;
    let k = j;
    while (k < b.length && cur <= end) {
      const cut = b[k] as Interval;
      if (cut.start > end) break;
      if (cut.start > cur) out.push({ start: cur, end: cut.start - 1n });
      cur = cut.end + 1n;
      k++;
    }
    if (cur <= end) out.push({ start: cur, end });
  }
  return out;
}

export function intersect(a: IntervalSet, b: IntervalSet): IntervalSet {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Interval;
    const y = b[j] as Interval;
    const start = bigMax(x.start, y.start);
    const end = bigMin(x.end, y.end);
    if (start <= end) out.push({ start, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
}

/** Number of addresses in the set. */
export function count(set: IntervalSet): bigint {
  let n = 0n;
  for (const { start, end } of set) n += end - start + 1n;
  return n;
}

/** Index of the first interval whose end is ≥ value (set.length when none). */
function firstEndingAtOrAfter(set: IntervalSet, value: bigint): number {
  let lo = 0;
  let hi = set.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((set[mid] as Interval).end < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function contains(set: IntervalSet, value: bigint): boolean {
  const i = firstEndingAtOrAfter(set, value);
  return i < set.length && (set[i] as Interval).start <= value;
}

/** True when every address of `inner` is in `outer`. */
export function isSubset(inner: IntervalSet, outer: IntervalSet): boolean {
  return subtract(inner, outer).length === 0;
}

export function overlaps(a: IntervalSet, b: IntervalSet): boolean {
  return intersect(a, b).length > 0;
}

/** The smallest address of the set that is > `after` (≥ the set's start when `after` is undefined). */
export function firstAfter(set: IntervalSet, after: bigint | undefined): bigint | undefined {
  if (set.length === 0) return undefined;
  if (after === undefined) return (set[0] as Interval).start;
  const i = firstEndingAtOrAfter(set, after + 1n);
  if (i === set.length) return undefined;
  const { start } = set[i] as Interval;
  return start > after ? start : after + 1n;
}

/**
 * The address after `after` in cyclic order: the next one up, or the lowest when none is above.
 * With `after` undefined, the lowest.
 */
export function nextCyclic(set: IntervalSet, after: bigint | undefined): bigint | undefined {
  return firstAfter(set, after) ?? (set.length === 0 ? undefined : (set[0] as Interval).start);
}
