// Batch allocation on one pool, pure: the pool as read (spec and status) and N requests in, the new
// status and one outcome per request out. The plugin's node-local group commit calls it with the
// requests of every waiting process so one guarded pool write carries them all; if the write loses
// the race, it calls it again on the fresh pool and gets a consistent answer for all of them.
import type { SpiderIPPool } from '../../api/index.js';
import { confYmlDefaults, maxAllocatedIPsKey } from '../../api/install/conf-yml.js';
import type { Family } from '../address/ip.js';
import { formatValue, parseCanonical } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { FreeWalker, freeSet } from '../pool/free.js';
import type { PoolSpace } from '../pool/space.js';
import { contains, type IntervalSet } from '../ranges/intervals.js';
import type { PoolRecord } from '../records/codec.js';
import { checkNonEmpty, checkOwner } from './input-checks.js';
import { type PoolState, type PoolStatusUpdate, readPoolState, statusOf } from './pool-state.js';

export interface AllocationRequest {
  /** `<namespace>/<identity name>` (the pod name, or the VM name for a KubeVirt VM). */
  owner: string;
  /** UID of the pod asking. */
  podUid: string;
  /** The pod interface (CNI_IFNAME). */
  nic: string;
  /**
   * For static identities (a VM's or a StatefulSet pod's new pod): a record of the same owner and NIC
   * held by another pod UID is handed over to this one instead of allocating a new address.
   */
  takeOver?: boolean;
  /**
   * This address and no other (an IPAMClaim's `spec.ipRequests`): bare, canonical. Without a record
   * of its own to reuse, the request gets it if the pool hands it out and no record holds it.
   */
  ip?: string;
}

export type AllocationOutcome =
  | {
      /** `allocated`: a new address; `reused`: this pod already held it; `takenOver`: moved from `previousPodUid`. */
      kind: 'allocated' | 'reused' | 'takenOver';
      pool: string;
      family: Family;
      /** Bare address, the record key. */
      ip: string;
      /** Address with the pool's prefix length, e.g. `10.6.0.5/16`. */
      address: string;
      prefix: number;
      previousPodUid?: string;
    }
  | {
      /** `exhausted`: no free address (or the record cap is reached); `unusable`: the pool is disabled or terminating. */
      kind: 'exhausted' | 'unusable';
      pool: string;
      family: Family;
      reason: string;
    };

export interface AllocateOptions {
  /** SpiderReservedIPs of the pool's family (see reservedSet). */
  reserved?: IntervalSet;
  /** The most records the pool may hold: conf.yml's ippoolMaxAllocatedIPs (see maxAllocatedIPsKey). */
  maxAllocatedIPs?: number;
}

export const defaultMaxAllocatedIPs = confYmlDefaults[maxAllocatedIPsKey];

export interface AllocationBatch extends PoolStatusUpdate {
  outcomes: AllocationOutcome[];
}

/** Why a pool takes no new allocations, or undefined when it does. */
export function unusableReason(pool: SpiderIPPool): string | undefined {
  if (pool.metadata.deletionTimestamp) return `pool ${pool.metadata.name} is terminating`;
  if (pool.spec.disable) return `pool ${pool.metadata.name} is disabled`;
  return undefined;
}

/**
 * Allocates one address per request from `pool`. Idempotent: a record of the same owner, pod UID
 * and NIC is returned, never duplicated (a Spiderpool record without `nic` is adopted by the first
 * NIC that asks); with `takeOver`, a record of the same owner and NIC under another pod UID is
 * moved to this pod. New addresses follow the cursor (see FreeWalker). A spec or records error is
 * thrown as an IpamError naming the pool.
 */
export function allocate(
  pool: SpiderIPPool,
  requests: readonly AllocationRequest[],
  options: AllocateOptions = {},
): AllocationBatch {
  checkRequests(requests);
  const state = readPoolState(pool, options.reserved, true);
  const space = state.space;
  if (!space) throw new IpamError('InvalidPool', 'spec cannot be parsed', { pool: state.name });
  const fresh = new FreshAddresses(state, space, options.maxAllocatedIPs ?? defaultMaxAllocatedIPs);
  const unusable = unusableReason(pool);
  const byOwner = recordsByOwner(state.records);
  let recordsChanged = false;

  const done = (record: PoolRecord, kind: 'allocated' | 'reused' | 'takenOver', previousPodUid?: string) => {
    const outcome: AllocationOutcome = {
      kind,
      pool: state.name,
      family: state.family,
      ip: record.ip,
      address: `${record.ip}/${space.subnet.prefix}`,
      prefix: space.subnet.prefix,
    };
    if (previousPodUid !== undefined) outcome.previousPodUid = previousPodUid;
    return outcome;
  };

  const outcomes = requests.map((request): AllocationOutcome => {
    const mine = byOwner.get(request.owner) ?? [];
    const held = heldRecord(mine, request);
    if (held) {
      recordsChanged ||= held.changed;
      return done(held.record, held.kind, held.previousPodUid);
    }
    if (unusable) return { kind: 'unusable', pool: state.name, family: state.family, reason: unusable };
    const record = fresh.take(request);
    if (typeof record === 'string')
      return { kind: 'exhausted', pool: state.name, family: state.family, reason: record };
    mine.push(record);
    if (!byOwner.has(request.owner)) byOwner.set(request.owner, mine);
    recordsChanged = true;
    return done(record, 'allocated');
  });

  return { ...statusOf(pool, state, recordsChanged), outcomes };
}

function checkRequests(requests: readonly AllocationRequest[]): void {
  requests.forEach((r, i) => {
    checkOwner(r.owner, `requests[${i}].owner`);
    checkNonEmpty(r.podUid, `requests[${i}].podUid`);
    checkNonEmpty(r.nic, `requests[${i}].nic`);
  });
}

function recordsByOwner(records: readonly PoolRecord[]): Map<string, PoolRecord[]> {
  const byOwner = new Map<string, PoolRecord[]>();
  for (const record of records) {
    const list = byOwner.get(record.pod);
    if (list) list.push(record);
    else byOwner.set(record.pod, [record]);
  }
  return byOwner;
}

/** New records on one pool: the next free address after the cursor, within the record cap. */
class FreshAddresses {
  /** Built at the first new address: requests that all reuse their records never compute the free set. */
  private walker: FreeWalker | undefined;

  constructor(
    private readonly state: PoolState,
    private readonly space: PoolSpace,
    private readonly maxRecords: number,
  ) {}

  /** Records a new address for `request` in the state, or says why there is none. */
  take(request: AllocationRequest): PoolRecord | string {
    const { state, maxRecords } = this;
    if (state.records.length >= maxRecords)
      return `pool ${state.name} holds ${state.records.length} records, the cap of ${maxRecords} set by ${maxAllocatedIPsKey} in conf.yml (Spiderpool's SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS)`;
    if (request.ip !== undefined) return this.takeRequested(request, request.ip);
    this.walker ??= new FreeWalker(
      freeSet(
        this.space,
        state.records.map((r) => r.value),
      ),
      state.cursor,
    );
    const value = this.walker.take();
    if (value === undefined)
      return `pool ${state.name} has no free IPv${state.family} address (${state.records.length} allocated)`;
    const record: PoolRecord = {
      ip: formatValue(state.family, value),
      value,
      pod: request.owner,
      podUid: request.podUid,
      nic: request.nic,
    };
    state.records.push(record);
    state.cursor = value;
    return record;
  }

  /** The one address `ip`, when the pool hands it out and no record holds it (the cursor stays). */
  private takeRequested(request: AllocationRequest, ip: string): PoolRecord | string {
    const { state } = this;
    const value = parseCanonical(ip, state.family);
    if (value === undefined || !contains(this.space.allocatable, value))
      return `requested address ${ip} is not one pool ${state.name} hands out`;
    const holder = state.records.find((r) => r.value === value);
    if (holder) return `requested address ${ip} is held by ${holder.pod} in pool ${state.name}`;
    const record: PoolRecord = { ip, value, pod: request.owner, podUid: request.podUid, nic: request.nic };
    state.records.push(record);
    // The walker's free set was computed before this record: compute it again when next needed.
    this.walker = undefined;
    return record;
  }
}

interface Held {
  record: PoolRecord;
  kind: 'reused' | 'takenOver';
  previousPodUid?: string;
  /** The record was changed (a NIC adopted, a pod UID moved) and must be written back. */
  changed: boolean;
}

/**
 * The record of its owner a request gets without a new address: its own (same pod UID and NIC), one
 * of its pod without a NIC (a Spiderpool record, adopted), or with `takeOver` the owner's record of
 * that NIC (or without one) under another pod UID, moved to this pod. Changes the record in place.
 * Where several records qualify (data left by older versions or by hand), the lowest address wins.
 */
function heldRecord(mine: readonly PoolRecord[], request: AllocationRequest): Held | undefined {
  const same = lowest(mine, (r) => r.podUid === request.podUid && r.nic === request.nic);
  if (same) return { record: same, kind: 'reused', changed: false };
  const adoptable = lowest(mine, (r) => r.podUid === request.podUid && r.nic === undefined);
  if (adoptable) {
    adoptable.nic = request.nic;
    return { record: adoptable, kind: 'reused', changed: true };
  }
  if (!request.takeOver) return undefined;
  const held = lowest(mine, (r) => r.nic === request.nic) ?? lowest(mine, (r) => r.nic === undefined);
  if (!held) return undefined;
  const previousPodUid = held.podUid;
  held.podUid = request.podUid;
  held.nic = request.nic;
  return { record: held, kind: 'takenOver', previousPodUid, changed: true };
}

function lowest(records: readonly PoolRecord[], wanted: (r: PoolRecord) => boolean): PoolRecord | undefined {
  let best: PoolRecord | undefined;
  for (const r of records) if (wanted(r) && (best === undefined || r.value < best.value)) best = r;
  return best;
}
