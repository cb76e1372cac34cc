// What a pool may hand out. Spiderpool's totalIPCount is |ips − excludeIPs|; what is actually
// allocatable further drops the SpiderReservedIPs of the family and the gateway, and is clipped to
// the subnet so that a pool the webhook never validated cannot hand out an address its prefix does
// not cover.
import type { SpiderIPPool, SpiderReservedIP } from '../../api/index.js';
import { type CIDR, parseCIDR } from '../address/cidr.js';
import { type Family, parseIP } from '../address/ip.js';
import { IpamError, withinPool } from '../errors.js';
import {
  count,
  emptySet,
  fromValues,
  type IntervalSet,
  intersect,
  normalize,
  subtract,
  union,
} from '../ranges/intervals.js';
import { parseRanges } from '../ranges/spiderpool-ranges.js';

export interface PoolSpace {
  name: string;
  family: Family;
  subnet: CIDR;
  gateway: bigint | undefined;
  /** ips − excludeIPs: the set Spiderpool counts as totalIPCount. */
  ips: IntervalSet;
  /** (ips − excludeIPs − reserved − gateway) ∩ subnet: what may be handed out. */
  allocatable: IntervalSet;
}

/**
 * The largest count written into a status. Spiderpool caps at int64's maximum, which a JavaScript
 * number cannot hold exactly (it would round up and overflow int64 on the server), so counts stop at
 * 2^53 − 1; only IPv6 pools bigger than a /75 reach it.
 */
export const maxStatusCount = Number.MAX_SAFE_INTEGER;

/** A pool's family: `spec.ipVersion`, else the subnet's (as Spiderpool's webhook infers it). */
export function poolFamily(pool: SpiderIPPool): Family {
  return withinPool(pool.metadata.name ?? '', () => {
    const subnet = parseCIDR(pool.spec.subnet, undefined, 'spec.subnet');
    const version = pool.spec.ipVersion;
    if (version !== undefined && version !== subnet.family) {
      throw new IpamError(
        'InvalidPool',
        `spec.ipVersion is ${version} but spec.subnet is IPv${subnet.family}`,
        {
          field: 'spec.ipVersion',
          value: version,
        },
      );
    }
    return subnet.family;
  });
}

/**
 * Parses a pool's spec into sets. `reserved` is the union of the SpiderReservedIPs of the pool's
 * family (see reservedSet). Throws an IpamError naming the pool and the field.
 */
export function poolSpace(pool: SpiderIPPool, reserved: IntervalSet = emptySet): PoolSpace {
  const name = pool.metadata.name ?? '';
  const family = poolFamily(pool);
  return withinPool(name, () => {
    const subnet = parseCIDR(pool.spec.subnet, family, 'spec.subnet');
    const ips = parseRanges(pool.spec.ips, family, 'spec.ips').set;
    const excluded = parseRanges(pool.spec.excludeIPs, family, 'spec.excludeIPs').set;
    const gateway =
      pool.spec.gateway === undefined || pool.spec.gateway === ''
        ? undefined
        : parseIP(pool.spec.gateway, family, 'spec.gateway').value;
    const counted = subtract(ips, excluded);
    let unavailable = reserved;
    if (gateway !== undefined) unavailable = union(unavailable, fromValues([gateway]));
    const allocatable = intersect(subtract(counted, unavailable), [
      { start: subnet.network, end: subnet.last },
    ]);
    return { name, family, subnet, gateway, ips: counted, allocatable };
  });
}

/** Spiderpool's totalIPCount, |ips − excludeIPs|, capped at maxStatusCount. */
export function totalIPCount(space: PoolSpace): number {
  const n = count(space.ips);
  return n > BigInt(maxStatusCount) ? maxStatusCount : Number(n);
}

/** Whether a SpiderReservedIP is in force: not being deleted. */
function inForce(reserved: SpiderReservedIP): boolean {
  return !reserved.metadata.deletionTimestamp;
}

/**
 * The union of the addresses of all SpiderReservedIPs of one family (objects being deleted do not
 * count, as in Spiderpool). An object's family is `spec.ipVersion`, else its first entry's.
 */
export function reservedSet(reservedIPs: readonly SpiderReservedIP[], family: Family): IntervalSet {
  const sets: IntervalSet[] = [];
  for (const reserved of reservedIPs) {
    if (!inForce(reserved) || !reserved.spec.ips || reserved.spec.ips.length === 0) continue;
    const name = reserved.metadata.name ?? '';
    try {
      const parsed = parseRanges(reserved.spec.ips, reserved.spec.ipVersion, 'spec.ips');
      if (parsed.family === family) sets.push(parsed.set);
    } catch (error) {
      if (!(error instanceof IpamError)) throw error;
      throw new IpamError('InvalidInput', error.detail, {
        field: `SpiderReservedIP ${name} ${error.field ?? 'spec.ips'}`,
        value: error.value,
      });
    }
  }
  return normalize(sets.flat());
}
