// An auto-pool's addresses, carved from its SpiderSubnet: the subnet's status.controlledIPPools says
// which addresses each pool it controls was given (`{"<pool>":{"ips":[ranges],"application":"..."}}`,
// Spiderpool's PoolIPPreAllocations), so no two pools are ever given one address. Growing takes the
// lowest addresses no pool has; shrinking gives back the highest addresses no pod holds, and never an
// address a pod holds (the pool stays larger until the pod goes).
import type { Family } from '../address/ip.js';
import { IpamError } from '../errors.js';
import {
  count,
  emptySet,
  type Interval,
  type IntervalSet,
  normalize,
  subtract,
  union,
} from '../ranges/intervals.js';
import { formatRanges, parseRanges } from '../ranges/spiderpool-ranges.js';

export interface ControlledPool {
  ips: string[];
  application?: string;
}

export type ControlledPools = Record<string, ControlledPool>;

/** Reads status.controlledIPPools; an unreadable value is an error naming the subnet. */
export function decodeControlled(subnet: string, text: string | undefined): ControlledPools {
  if (text === undefined || text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new IpamError('InvalidInput', `not valid JSON (${(error as Error).message})`, {
      field: `SpiderSubnet ${subnet} status.controlledIPPools`,
    });
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new IpamError('InvalidInput', 'expected a JSON object', {
      field: `SpiderSubnet ${subnet} status.controlledIPPools`,
    });
  const out: ControlledPools = {};
  for (const [pool, entry] of Object.entries(value as Record<string, unknown>)) {
    const ips = (entry as { ips?: unknown })?.ips;
    if (!Array.isArray(ips) || ips.some((ip) => typeof ip !== 'string'))
      throw new IpamError('InvalidInput', 'expected {"ips":[ranges]}', {
        field: `SpiderSubnet ${subnet} status.controlledIPPools.${pool}`,
      });
    const application = (entry as { application?: unknown }).application;
    out[pool] = { ips: ips as string[], ...(typeof application === 'string' ? { application } : {}) };
  }
  return out;
}

/** The JSON text of controlledIPPools, keys sorted; undefined when no pool is controlled. */
export function encodeControlled(pools: ControlledPools): string | undefined {
  const names = Object.keys(pools).sort();
  if (names.length === 0) return undefined;
  return JSON.stringify(Object.fromEntries(names.map((n) => [n, pools[n]])));
}

export function rangesOf(family: Family, ips: readonly string[] | undefined, field: string): IntervalSet {
  return parseRanges(ips ? [...ips] : [], family, field).set;
}

/** How many addresses the subnet has handed to pools: status.allocatedIPCount. */
export function controlledCount(family: Family, pools: ControlledPools): number {
  let set: IntervalSet = emptySet;
  for (const [name, entry] of Object.entries(pools)) set = union(set, rangesOf(family, entry.ips, name));
  return Number(count(set));
}

/** The lowest `k` addresses of a set. */
export function lowest(set: IntervalSet, k: bigint): IntervalSet {
  const out: Interval[] = [];
  let left = k;
  for (const { start, end } of set) {
    if (left <= 0n) break;
    const n = end - start + 1n;
    const take = n < left ? n : left;
    out.push({ start, end: start + take - 1n });
    left -= take;
  }
  return normalize(out);
}

/** The highest `k` addresses of a set. */
export function highest(set: IntervalSet, k: bigint): IntervalSet {
  const out: Interval[] = [];
  let left = k;
  for (let i = set.length - 1; i >= 0 && left > 0n; i--) {
    const { start, end } = set[i] as Interval;
    const n = end - start + 1n;
    const take = n < left ? n : left;
    out.push({ start: end - take + 1n, end });
    left -= take;
  }
  return normalize(out);
}

export interface CarveInput {
  /** The subnet's ips − excludeIPs. */
  subnet: IntervalSet;
  /** Addresses other pools have: other controlledIPPools entries and pools of the same CIDR. */
  taken: IntervalSet;
  /** The pool's addresses now (its spec, with what the subnet already gave it). */
  current: IntervalSet;
  /** Addresses of the pool that pods hold (its records). */
  allocated: IntervalSet;
  desired: number;
}

export interface Carved {
  /** The pool's addresses after this step. */
  target: IntervalSet;
  /** Addresses the desired size lacks: the subnet has no more free ones. */
  short: number;
  /** Addresses above the desired size kept because pods hold them. */
  held: number;
}

export function carve(input: CarveInput): Carved {
  const desired = BigInt(input.desired);
  // Addresses outside the subnet (it shrank) or given to another pool go first, unless pods hold them.
  const foreign = subtract(input.current, subtract(input.subnet, input.taken));
  const current = union(subtract(input.current, foreign), intersectSet(foreign, input.allocated));
  const have = count(current);
  if (have < desired) {
    const free = subtract(subtract(input.subnet, input.taken), current);
    const add = lowest(free, desired - have);
    const target = union(current, add);
    return { target, short: Number(desired - count(target)), held: 0 };
  }
  const spare = subtract(current, input.allocated);
  const drop = highest(spare, have - desired);
  const target = subtract(current, drop);
  return { target, short: 0, held: Number(count(target) - desired) };
}

function intersectSet(a: IntervalSet, b: IntervalSet): IntervalSet {
  return subtract(a, subtract(a, b));
}

export function formatSet(family: Family, set: IntervalSet): string[] {
  return formatRanges(family, set);
}
