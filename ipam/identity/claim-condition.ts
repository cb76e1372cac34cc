// The `IPsAllocated` condition of an IPAMClaim's status (a metav1.Condition): True once the claim's
// addresses are allocated, False with the reason when an ADD referencing the claim could not be
// served. The type and the success reason are OVN-Kubernetes's (the other IPAM that writes IPAMClaim
// conditions, ovn-kubernetes PR #5683); the failure reasons name this IPAM's own failures.
// metav1.Condition semantics: lastTransitionTime changes only when the status changes.
import type { IPAMClaim, IPAMClaimCondition, IPAMClaimStatus } from '../../api/index.js';

export const allocatedConditionType = 'IPsAllocated';

export const claimConditionReasons = {
  allocated: 'SuccessfulAllocation',
  /** Every pool the attachment may use is full. */
  poolExhausted: 'PoolExhausted',
  /** A requested address (spec.ipRequests) is held by another (OVN-Kubernetes's reason). */
  addressConflict: 'IPAddressConflict',
  /** No pool is usable for the attachment (selection rules, filters). */
  noPool: 'NoPoolSelected',
  /**
   * The claim does not fit the attachment (network, interface, ipRequests), or the pod's annotations
   * are wrong.
   */
  invalidConfiguration: 'InvalidConfiguration',
  /** The attempt is to be retried (an auto-pool not made or grown yet, a migration not ready). */
  pending: 'AllocationPending',
  /** Anything else: the API server failed, the pod or the claim is going away. */
  failed: 'AllocationFailed',
} as const;

export type ClaimConditionReason = (typeof claimConditionReasons)[keyof typeof claimConditionReasons];

export interface ConditionChange {
  status: 'True' | 'False';
  reason: ClaimConditionReason;
  message: string;
}

/** RFC 3339 to the second, as metav1.Time writes it. */
export function conditionTime(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * The conditions with `change` set for `generation`: the transition time kept when the status is
 * unchanged; undefined when the condition says all of it already.
 */
export function conditionsAfter(
  conditions: readonly IPAMClaimCondition[] | undefined,
  change: ConditionChange,
  generation: number | undefined,
  now: Date,
): IPAMClaimCondition[] | undefined {
  const list = conditions ?? [];
  const current = list.find((c) => c.type === allocatedConditionType);
  if (
    current &&
    current.status === change.status &&
    current.reason === change.reason &&
    current.message === change.message &&
    current.observedGeneration === generation
  )
    return undefined;
  const next: IPAMClaimCondition = {
    type: allocatedConditionType,
    status: change.status,
    reason: change.reason,
    message: change.message,
    lastTransitionTime:
      current && current.status === change.status ? current.lastTransitionTime : conditionTime(now),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return [...list.filter((c) => c.type !== allocatedConditionType), next];
}

/**
 * The claim's status after an ADD referencing it failed: the condition False with the reason; the
 * addresses and holder it lists stay (a failed attempt takes nothing from them). Undefined when the
 * status says so already.
 */
export function claimStatusAfterFailure(
  claim: IPAMClaim,
  reason: Exclude<ClaimConditionReason, 'SuccessfulAllocation'>,
  message: string,
  now: Date,
): IPAMClaimStatus | undefined {
  const current = claim.status;
  const conditions = conditionsAfter(
    current?.conditions,
    { status: 'False', reason, message },
    claim.metadata.generation,
    now,
  );
  if (!conditions) return undefined;
  return { ips: current?.ips ?? [], ownerPod: current?.ownerPod ?? '', conditions };
}
