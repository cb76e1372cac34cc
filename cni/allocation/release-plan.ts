// What a release (DEL, GC of one attachment, a conflict found by the probe) gives back, decided from
// what the leader read. As in Spiderpool: a pod that is still alive keeps its addresses (its sandbox
// is being recreated), a static identity keeps them while it is valid, and only records of the
// released pod's UID ever go. The pod may be gone already: then its UID comes from CNI_ARGS or the
// attachment record, and its identity from the records in the pools (their `pod` field) or from the
// attachment record. Pure: two steps, because which objects to read next depends on the first.
import type { V1Pod } from '@kubernetes/client-node';
import type { ReleaseRequest as PoolReleaseRequest } from '../../ipam/allocation/release.js';
import { identityOf } from '../../ipam/identity/identity.js';
import { claimOwnerType } from '../../ipam/identity/ipamclaim.js';
import { controllerOf } from '../../ipam/identity/owners.js';
import {
  type IdentityObjects,
  identityKindFromObjects,
  podAliveness,
  statefulSetOrdinal,
  staticIdentityValidity,
  type Validity,
} from '../../ipam/identity/validity.js';
import type { PoolRecord } from '../../ipam/records/codec.js';
import type { ReleasedFromEndpoint } from './endpoint-plan.js';
import type { KeptBecause, ReleaseRequest } from './requests.js';

export type SubjectKind =
  | 'kubevirt-vm'
  | 'statefulset'
  | 'ipamclaim'
  | 'stateless'
  | 'statefulset-or-stateless';

/** Whose records a release concerns, before the identity-dependent reads. */
export interface ReleaseSubject {
  podUid: string;
  namespace: string;
  podName: string;
  /** The identity's name: the SpiderEndpoint's name and the second half of the records' `pod`. */
  name: string;
  kind: SubjectKind;
  /** The pod exists (not alive) with this UID. */
  podPresent: boolean;
  /** The StatefulSet to read for a (possible) StatefulSet pod. */
  statefulSet?: string;
}

export type SubjectDecision =
  | { keep: { because: KeptBecause; reason: string } }
  | { subject: ReleaseSubject };

/**
 * Whether releaseSubject needs the records of the pod UID: only for a pod that is gone (or another
 * pod of its name) and that no answered attachment record names the identity of.
 */
export function subjectNeedsRecords(request: ReleaseRequest, pod: V1Pod | undefined): boolean {
  const podUid = request.pod.uid ?? pod?.metadata?.uid;
  if (!podUid || request.identity) return false;
  return pod?.metadata?.uid !== podUid;
}

/**
 * Step 1: whose addresses, or why none go. `pod` is the pod read by name (any UID); `recordsOf`
 * lists the records a pod UID holds in any pool.
 */
export function releaseSubject(
  request: ReleaseRequest,
  pod: V1Pod | undefined,
  recordsOf: (podUid: string) => readonly PoolRecord[],
): SubjectDecision {
  const { namespace, name: podName } = request.pod;
  const podUid = request.pod.uid ?? pod?.metadata?.uid;
  if (!podUid) {
    const reason = `pod ${namespace}/${podName} is gone and no pod UID is known (CNI_ARGS, attachment record)`;
    return { keep: { because: 'pod-unknown', reason } };
  }
  const samePod = pod?.metadata?.uid === podUid ? pod : undefined;
  if (samePod && request.reason !== 'conflict') {
    const alive = podAliveness(samePod);
    if (alive.valid) {
      const reason = `pod ${namespace}/${podName} is still alive (its sandbox is being recreated)`;
      return { keep: { because: 'pod-alive', reason } };
    }
  }
  const base = { podUid, namespace, podName, podPresent: samePod !== undefined };
  if (samePod) {
    const identity = identityOf(samePod, request.switches);
    const controller = controllerOf(samePod.metadata);
    const kind: SubjectKind = identity.kind;
    return {
      subject: {
        ...base,
        name: identity.name,
        kind,
        ...(kind === 'statefulset' && controller ? { statefulSet: controller.name } : {}),
      },
    };
  }
  const sts = statefulSetOrdinal(podName)?.statefulSet;
  const maybeSts = (): SubjectDecision => ({
    subject: {
      ...base,
      name: podName,
      kind: request.switches.enableStatefulSet && sts ? 'statefulset-or-stateless' : 'stateless',
      ...(sts ? { statefulSet: sts } : {}),
    },
  });
  const own = `${namespace}/${podName}`;
  if (request.identity) {
    const [, identityName = podName] = request.identity.key.split('/');
    if (!request.identity.static) return { subject: { ...base, name: identityName, kind: 'stateless' } };
    if (identityName !== podName) return { subject: { ...base, name: identityName, kind: 'kubevirt-vm' } };
    return { subject: { ...base, name: podName, kind: 'statefulset', ...(sts ? { statefulSet: sts } : {}) } };
  }
  // Only a VM identity records its addresses under another name than the pod's.
  const other = recordsOf(podUid)
    .map((r) => r.pod)
    .filter((owner) => owner !== own && owner.startsWith(`${namespace}/`))
    .sort()[0];
  if (other) return { subject: { ...base, name: other.slice(namespace.length + 1), kind: 'kubevirt-vm' } };
  return maybeSts();
}

/** The identity-dependent reads a subject needs. */
export type SubjectReads = IdentityObjects;

export type ReleasePlan =
  | { kind: 'keep'; because: KeptBecause; reason: string }
  | {
      kind: 'release';
      owner: string;
      /** For every pool: release() requests. */
      requests: PoolReleaseRequest[];
      /** What to take out of the identity's endpoint (see endpointAfterRelease). */
      endpoint: ReleasedFromEndpoint;
      /** Why the addresses may go, for the log. */
      reason: string;
    };

/** The static identity's validity (undefined for a stateless one), by ipam's one rule. */
function staticValidity(
  request: ReleaseRequest,
  subject: ReleaseSubject,
  reads: SubjectReads,
): Validity | undefined {
  // A pod that is gone and left no identity behind: its endpoint or a StatefulSet that would still
  // count it among its replicas says what it was.
  const kind =
    subject.kind === 'statefulset-or-stateless'
      ? identityKindFromObjects(subject.name, reads, request.switches)
      : subject.kind;
  return kind === 'stateless' ? undefined : staticIdentityValidity(kind, subject.podName, reads);
}

/** Step 2: what to release and what becomes of the endpoint. */
export function planRelease(
  request: ReleaseRequest,
  subject: ReleaseSubject,
  reads: SubjectReads,
): ReleasePlan {
  // An IPAMClaim's addresses outlive every pod (as in OVN-Kubernetes): the operator frees them when
  // the claim is deleted; a DEL or GC never does.
  if (reads.endpoint?.status?.ownerControllerType === claimOwnerType && request.reason !== 'conflict') {
    const reason = `${subject.namespace}/${subject.name} is an IPAMClaim's: its addresses go when the claim is deleted`;
    return { kind: 'keep', because: 'identity-valid', reason };
  }
  const validity = staticValidity(request, subject, reads);
  if (validity?.valid && request.reason !== 'conflict') {
    const reason = `${subject.namespace}/${subject.name} keeps its addresses: ${validity.reason}`;
    return { kind: 'keep', because: 'identity-valid', reason };
  }
  const owner = `${subject.namespace}/${subject.name}`;
  const base: PoolReleaseRequest = { owner, podUid: subject.podUid };
  if (request.nic !== undefined) base.nic = request.nic;
  const requests = request.ips?.length ? request.ips.map((ip) => ({ ...base, ip })) : [base];
  const endpoint: ReleasedFromEndpoint = {
    podUid: subject.podUid,
    ...(request.nic !== undefined ? { nic: request.nic } : {}),
    ...(request.ips?.length ? { ips: request.ips } : {}),
    // A conflict leaves the pod without addresses on this NIC; an empty endpoint of it is useless.
    deleteWhenEmpty: !subject.podPresent || validity !== undefined || request.reason === 'conflict',
  };
  const reason =
    validity !== undefined
      ? validity.reason
      : subject.podPresent
        ? `pod ${subject.namespace}/${subject.podName} is not alive`
        : `pod ${subject.namespace}/${subject.podName} with UID ${subject.podUid} is gone`;
  return {
    kind: 'release',
    owner,
    requests,
    endpoint,
    reason: request.reason === 'conflict' ? 'address conflict' : reason,
  };
}
