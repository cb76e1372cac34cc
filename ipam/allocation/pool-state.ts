// The decoded state of one pool that allocation and release work on, and the status they write back.
import type { IPPoolStatus, SpiderIPPool } from '../../api/index.js';
import { parseCIDR } from '../address/cidr.js';
import { type Family, formatValue, parseIP } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { parseCursor } from '../pool/free.js';
import { type PoolSpace, poolSpace, totalIPCount } from '../pool/space.js';
import type { IntervalSet } from '../ranges/intervals.js';
import { decodeRecords, encodeRecords, type PoolRecord } from '../records/codec.js';

export interface PoolState {
  name: string;
  family: Family;
  /** Undefined when the spec cannot be parsed: releases still work on such a pool. */
  space: PoolSpace | undefined;
  records: PoolRecord[];
  cursor: bigint | undefined;
}

/** The outcome of a batch on one pool: the complete new status and whether it needs writing. */
export interface PoolStatusUpdate {
  status: IPPoolStatus;
  /** True when records, the cursor or the counts differ from the pool's current status. */
  changed: boolean;
}

function familyOf(pool: SpiderIPPool): Family {
  if (pool.spec.ipVersion === 4 || pool.spec.ipVersion === 6) return pool.spec.ipVersion;
  return parseCIDR(pool.spec.subnet, undefined, 'spec.subnet').family;
}

/**
 * Decodes a pool. With `strict` (allocation) a spec error is thrown; without it (release) the spec
 * may be broken as long as the family and the records can be read.
 */
export function readPoolState(
  pool: SpiderIPPool,
  reserved: IntervalSet | undefined,
  strict: boolean,
): PoolState {
  const name = pool.metadata.name ?? '';
  let space: PoolSpace | undefined;
  let family: Family;
  try {
    space = poolSpace(pool, reserved);
    family = space.family;
  } catch (error) {
    if (strict || !(error instanceof IpamError)) throw error;
    try {
      family = familyOf(pool);
    } catch (inner) {
      throw inner instanceof IpamError ? inner.inPool(name) : inner;
    }
  }
  const records = decodeRecords(name, pool.status?.allocatedIPs, family);
  const lastAllocatedIP = pool.status?.lastAllocatedIP;
  let cursor: bigint | undefined;
  if (space) cursor = parseCursor(space, lastAllocatedIP);
  else if (lastAllocatedIP) {
    try {
      cursor = parseIP(lastAllocatedIP, family).value;
    } catch {
      cursor = undefined;
    }
  }
  return { name, family, space, records, cursor };
}

/** The status a pool gets from a state; `recordsChanged` says whether the records were touched. */
export function statusOf(pool: SpiderIPPool, state: PoolState, recordsChanged: boolean): PoolStatusUpdate {
  const old = pool.status ?? {};
  const allocatedIPs = recordsChanged ? encodeRecords(state.records) : old.allocatedIPs || undefined;
  const status: IPPoolStatus = {
    allocatedIPCount: state.records.length,
    totalIPCount: state.space ? totalIPCount(state.space) : (old.totalIPCount ?? 0),
  };
  if (allocatedIPs !== undefined) status.allocatedIPs = allocatedIPs;
  const lastAllocatedIP = state.cursor === undefined ? undefined : formatValue(state.family, state.cursor);
  if (lastAllocatedIP !== undefined) status.lastAllocatedIP = lastAllocatedIP;
  const changed =
    recordsChanged ||
    lastAllocatedIP !== (old.lastAllocatedIP || undefined) ||
    status.allocatedIPCount !== old.allocatedIPCount ||
    status.totalIPCount !== old.totalIPCount;
  return { status, changed };
}
