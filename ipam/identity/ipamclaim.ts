// IPAMClaim as a holder of addresses (docs/ipamclaim.md): a pod attachment whose network selection
// element carries `ipam-claim-reference` holds its addresses for the claim, not for the pod. The
// identity is keyed `<namespace>/<claim name>` like every other (records' `pod`, the SpiderEndpoint's
// name), is static (its records survive pod UIDs changing) and lasts as long as the claim.
import type { V1Pod } from '@kubernetes/client-node';
import {
  type IPAMClaim,
  type IPAMClaimStatus,
  ipamClaimKind,
  ipamClaimReferenceKey,
  multusAnnotations,
} from '../../api/index.js';
import { IpamError } from '../errors.js';
import { type MultusSettings, networkOfNic } from '../multus/networks.js';
import { claimConditionReasons, conditionsAfter } from './claim-condition.js';
import type { Identity } from './identity.js';
import type { Validity } from './validity.js';

/** The SpiderEndpoint `ownerControllerType` of a claim's addresses: how a gone claim's records are told apart. */
export const claimOwnerType = ipamClaimKind.kind;

/**
 * The claim the pod's attachment `nic` references: the `ipam-claim-reference` of the network
 * selection element Multus attached as `nic` (by its `interface`, or by position as `net<N>`; eth0's
 * is the default network's element). Undefined when that element names none.
 */
export function claimReferenceOf(pod: V1Pod, nic: string, multus: MultusSettings): string | undefined {
  // Pods whose annotations never mention the key are not parsed here at all.
  const annotations = pod.metadata?.annotations ?? {};
  const texts = [annotations[multusAnnotations.networks], annotations[multusAnnotations.defaultNetwork]];
  if (!texts.some((t) => t?.includes(ipamClaimReferenceKey))) return undefined;
  const found = networkOfNic(pod, nic, multus);
  return found.network?.ipamClaimReference;
}

/** The identity of addresses held for `claim` by `pod`. */
export function claimIdentity(pod: V1Pod, claim: string): Identity {
  const namespace = pod.metadata?.namespace;
  const podName = pod.metadata?.name;
  const podUid = pod.metadata?.uid;
  if (!namespace || !podName || !podUid) {
    throw new IpamError('InvalidInput', 'missing', { field: 'pod.metadata', value: pod.metadata });
  }
  return {
    namespace,
    name: claim,
    key: `${namespace}/${claim}`,
    static: true,
    kind: 'ipamclaim',
    ownerControllerType: claimOwnerType,
    ownerControllerName: claim,
    podName,
    podUid,
    endpointOwnedByPod: false,
  };
}

/** A claim's addresses stay while the claim exists and is not being deleted. */
export function claimValidity(claim: IPAMClaim | undefined): Validity {
  if (!claim) return { valid: false, reason: 'the IPAMClaim is gone' };
  if (claim.metadata.deletionTimestamp) return { valid: false, reason: 'the IPAMClaim is being deleted' };
  return { valid: true, reason: 'the IPAMClaim exists' };
}

/**
 * Why `claim` cannot serve the attachment `ifname` of the network configuration named `network`, or
 * undefined when it can. Upstream's `spec.network` is the CNI configuration's `name`; an empty
 * `spec.interface` (kubevirt-ipam-controller leaves it unset) matches any interface. Requested
 * addresses (`spec.ipRequests`) are checked against the pools (claim-requests.ts).
 */
export function claimMismatch(claim: IPAMClaim, network: string, ifname: string): string | undefined {
  const name = `IPAMClaim ${claim.metadata.namespace}/${claim.metadata.name}`;
  if (claim.spec?.network !== network)
    return `${name}: spec.network is ${JSON.stringify(claim.spec?.network)}, the network configuration is named ${JSON.stringify(network)}`;
  if (claim.spec.interface && claim.spec.interface !== ifname)
    return `${name}: spec.interface is ${JSON.stringify(claim.spec.interface)}, the attachment is ${JSON.stringify(ifname)}`;
  return undefined;
}

/**
 * The claim's status once `podName` holds `ips` (CIDR strings), with the `IPsAllocated` condition
 * True; undefined when it says so already.
 */
export function claimStatusAfter(
  claim: IPAMClaim,
  ips: readonly string[],
  podName: string,
  now: Date = new Date(),
): IPAMClaimStatus | undefined {
  const current = claim.status;
  const conditions = conditionsAfter(
    current?.conditions,
    {
      status: 'True',
      reason: claimConditionReasons.allocated,
      // The holder is ownerPod's to say (the operator moves it after a migration).
      message: `allocated ${ips.join(', ')}`,
    },
    claim.metadata.generation,
    now,
  );
  if (
    !conditions &&
    current &&
    current.ownerPod === podName &&
    JSON.stringify(current.ips) === JSON.stringify(ips)
  )
    return undefined;
  return {
    ...(current ?? {}),
    ips: [...ips],
    ownerPod: podName,
    ...(conditions ? { conditions } : {}),
  };
}

export { ipamClaimReferenceKey };
