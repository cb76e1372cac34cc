// Writing an IPAMClaim's status from a batch: after an ADD the claim's addresses, holder and
// `IPsAllocated` condition True; after a failed ADD that referenced it, the condition False with the
// reason and the error's message (docs/ipamclaim.md). Each write is a read-modify-write guarded by
// the claim's resourceVersion, deciding again on a conflict.
import type { IPAMClaim, IPAMClaimStatus } from '../../api/index.js';
import { type ClaimConditionReason, claimConditionReasons } from '../../ipam/identity/claim-condition.js';
import { readModifyWrite } from '../../kube/optimistic.js';
import { ErrorCode } from '../protocol/errors.js';
import type { PluginStore } from './reads.js';

/** The condition reason of a failed ADD's CNI error code. */
export function claimFailureReason(code: number): Exclude<ClaimConditionReason, 'SuccessfulAllocation'> {
  switch (code) {
    case ErrorCode.poolExhausted:
      return claimConditionReasons.poolExhausted;
    case ErrorCode.addressConflict:
      return claimConditionReasons.addressConflict;
    case ErrorCode.noPoolSelected:
      return claimConditionReasons.noPool;
    case ErrorCode.invalidNetworkConfig:
      return claimConditionReasons.invalidConfiguration;
    case ErrorCode.tryAgainLater:
      return claimConditionReasons.pending;
    default:
      return claimConditionReasons.failed;
  }
}

/**
 * Writes the status `statusOf` makes of the claim (undefined: nothing to write), starting from
 * `known` (the claim as the batch read it) and reading it again after a conflict. A store without
 * IPAMClaims writes nothing.
 */
export async function writeClaimStatus(
  api: PluginStore,
  known: IPAMClaim,
  statusOf: (claim: IPAMClaim) => IPAMClaimStatus | undefined,
  deadlineMs: number,
): Promise<void> {
  const replace = api.replaceClaimStatus?.bind(api);
  const read = api.ipamClaim?.bind(api);
  if (!replace || !read) return;
  const { namespace = '', name = '' } = known.metadata;
  let first: IPAMClaim | undefined = known;
  await readModifyWrite(
    async () => {
      const value = first ?? (await read(namespace, name));
      first = undefined;
      return value;
    },
    (current: IPAMClaim | undefined) => {
      const status = current ? statusOf(current) : undefined;
      return current && status ? { write: { ...current, status }, result: undefined } : { result: undefined };
    },
    async (next) => replace(next as IPAMClaim),
    { deadlineMs },
  );
}
