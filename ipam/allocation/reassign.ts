// Moving an identity's records to another pod of the same identity without releasing anything:
// the operator makes a live-migration target the holder when the migration succeeds, and gives
// records back to the source when it fails. No address is allocated, freed or changed; only the
// records' podUid moves, so nothing can be handed out twice in between.
import type { SpiderIPPool } from '../../api/index.js';
import type { PoolRecord } from '../records/codec.js';
import { checkNonEmpty, checkOwner } from './input-checks.js';
import { type PoolStatusUpdate, readPoolState, statusOf } from './pool-state.js';

export interface ReassignRequest {
  /** `<namespace>/<identity name>`. */
  owner: string;
  /** The pod UID the records move to. */
  toPodUid: string;
  /** Only records held by these pod UIDs; all of the owner's records when absent. */
  fromPodUids?: readonly string[];
}

export interface ReassignBatch extends PoolStatusUpdate {
  /** The records that moved, with their new podUid. */
  moved: PoolRecord[];
}

/** Rewrites the podUid of `owner`'s records in `pool`; works on any pool, even an unparsable spec. */
export function reassign(pool: SpiderIPPool, request: ReassignRequest): ReassignBatch {
  checkOwner(request.owner, 'request.owner');
  checkNonEmpty(request.toPodUid, 'request.toPodUid');
  const state = readPoolState(pool, undefined, false);
  const moved: PoolRecord[] = [];
  for (const record of state.records) {
    if (record.pod !== request.owner || record.podUid === request.toPodUid) continue;
    if (request.fromPodUids && !request.fromPodUids.includes(record.podUid)) continue;
    record.podUid = request.toPodUid;
    moved.push(record);
  }
  return { ...statusOf(pool, state, moved.length > 0), moved };
}
