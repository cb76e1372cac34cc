// Batch release on one pool, pure. A record goes only when its holder matches: the same owner and
// the same pod UID (so a DEL of an old pod never frees what a newer pod of the same identity holds),
// or any pod UID when the caller forces it for an identity that is gone. Releases work on disabled,
// terminating and even unparsable pools: an address must always be able to come back.
import type { SpiderIPPool } from '../../api/index.js';
import { parseIP } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { cursorAfterRelease, freeSet } from '../pool/free.js';
import type { IntervalSet } from '../ranges/intervals.js';
import type { PoolRecord } from '../records/codec.js';
import { checkNonEmpty, checkOwner } from './input-checks.js';
import { type PoolStatusUpdate, readPoolState, statusOf } from './pool-state.js';

export interface ReleaseRequest {
  /** `<namespace>/<identity name>`. */
  owner: string;
  /** Only records held by this pod UID. Required unless `force`. */
  podUid?: string;
  /** Only this NIC's records; a record without a NIC (written by Spiderpool) matches any NIC. */
  nic?: string;
  /** Only this address. */
  ip?: string;
  /** Whatever `owner` holds, whichever pod UID: for identities that are gone (deleted VM, ...). */
  force?: boolean;
}

export interface ReleaseOptions {
  /** SpiderReservedIPs of the pool's family; they only matter for where the cursor goes. */
  reserved?: IntervalSet;
}

export interface ReleaseBatch extends PoolStatusUpdate {
  /** Per request, the records it removed (empty when nothing matched: release is idempotent). */
  released: PoolRecord[][];
}

function matches(record: PoolRecord, request: ReleaseRequest, ip: bigint | undefined): boolean {
  if (record.pod !== request.owner) return false;
  if (!request.force && record.podUid !== request.podUid) return false;
  if (request.nic !== undefined && record.nic !== undefined && record.nic !== request.nic) return false;
  return ip === undefined || record.value === ip;
}

export function release(
  pool: SpiderIPPool,
  requests: readonly ReleaseRequest[],
  options: ReleaseOptions = {},
): ReleaseBatch {
  const state = readPoolState(pool, options.reserved, false);
  const ips = requests.map((r, i) => {
    checkOwner(r.owner, `requests[${i}].owner`);
    if (!r.force) checkNonEmpty(r.podUid, `requests[${i}].podUid`);
    if (r.nic !== undefined) checkNonEmpty(r.nic, `requests[${i}].nic`);
    if (r.ip === undefined) return undefined;
    try {
      return parseIP(r.ip, state.family, `requests[${i}].ip`).value;
    } catch (error) {
      throw error instanceof IpamError ? error.inPool(state.name) : error;
    }
  });

  const byOwner = new Map<string, PoolRecord[]>();
  for (const record of state.records) {
    const list = byOwner.get(record.pod);
    if (list) list.push(record);
    else byOwner.set(record.pod, [record]);
  }
  const released: PoolRecord[][] = requests.map(() => []);
  const freed: bigint[] = [];
  const gone = new Set<PoolRecord>();
  requests.forEach((request, i) => {
    for (const record of byOwner.get(request.owner) ?? []) {
      if (gone.has(record) || !matches(record, request, ips[i])) continue;
      gone.add(record);
      released[i]?.push(record);
      freed.push(record.value);
    }
  });
  const kept = gone.size === 0 ? state.records : state.records.filter((r) => !gone.has(r));
  state.records = kept;

  if (freed.length > 0 && state.space) {
    // None of the addresses released here is handed out next unless only they are free.
    const free = freeSet(
      state.space,
      kept.map((r) => r.value),
    );
    state.cursor = cursorAfterRelease(free, state.cursor, new Set(freed));
  }
  return { ...statusOf(pool, state, freed.length > 0), released };
}
