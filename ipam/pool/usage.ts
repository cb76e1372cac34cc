// How full a pool is, for metrics, Events and the plugin's STATUS verb ("is any pool usable?").
import type { SpiderIPPool } from '../../api/index.js';
import { count, type IntervalSet } from '../ranges/intervals.js';
import { decodeRecords } from '../records/codec.js';
import { freeSet } from './free.js';
import { poolSpace } from './space.js';

export interface PoolUsage {
  /** |ips − excludeIPs| (Spiderpool's totalIPCount, uncapped). */
  total: bigint;
  /** Addresses that may be handed out at all: total less reserved IPs and the gateway. */
  allocatable: bigint;
  /** Records in the status. */
  allocated: number;
  /** Allocatable addresses no record holds. */
  free: bigint;
}

/** Counts of a pool; throws an IpamError naming the pool when its spec or records cannot be read. */
export function poolUsage(pool: SpiderIPPool, reserved?: IntervalSet): PoolUsage {
  const space = poolSpace(pool, reserved);
  const records = decodeRecords(space.name, pool.status?.allocatedIPs, space.family);
  return {
    total: count(space.ips),
    allocatable: count(space.allocatable),
    allocated: records.length,
    free: count(
      freeSet(
        space,
        records.map((r) => r.value),
      ),
    ),
  };
}
