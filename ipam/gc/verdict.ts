// Whether the addresses an identity holds through one pod may go back to their pools. One rule for
// every caller (pod events, VM and StatefulSet events, endpoint deletion, the periodic scan), so
// they cannot disagree. Improvements on Spiderpool's GC (docs/facts.md#spiderpool-gc):
//   - a holder pod that is alive always keeps its addresses, whatever else is true;
//   - a terminating pod keeps them until its deletionTimestamp, which already includes the grace
//     period (Spiderpool adds the grace a second time);
//   - a VM's or StatefulSet replica's records are judged by the identity, found from the holder pod,
//     the endpoint, or the VM/VMI/StatefulSet objects, never by a pod-name lookup that cannot match
//     a launcher pod;
//   - only the holder's own records (its pod UID) are ever released, so a same-name successor keeps
//     what it holds.
import type { V1Pod } from '@kubernetes/client-node';
import { type IdentityKind, type IdentitySwitches, identityOf } from '../identity/identity.js';
import {
  type IdentityObjects,
  identityKindFromObjects,
  type StaticKind,
  staticIdentityValidity,
} from '../identity/validity.js';
import { graceDeadlineMs } from './pod.js';

/** The metric label of a reclaim: which rule gave the addresses back. */
export type GcReason =
  | 'pod-gone'
  | 'pod-terminating'
  | 'pod-evicted'
  | 'pod-finished'
  | 'vm-gone'
  | 'statefulset-replica-gone'
  | 'ipamclaim-gone';

export const gcReasons: readonly GcReason[] = [
  'pod-gone',
  'pod-terminating',
  'pod-evicted',
  'pod-finished',
  'vm-gone',
  'statefulset-replica-gone',
  'ipamclaim-gone',
];

export type Verdict =
  | {
      release: false;
      /** Why they stay, in words fit for a log line. */
      reason: string;
      /** A terminating pod: decide again at this time (epoch ms), when its grace period ends. */
      recheckAtMs?: number;
    }
  | {
      release: true;
      reason: string;
      gcReason: GcReason;
      /**
       * The verdict rests on something being absent (the holder pod, a VM, a StatefulSet). A cache can
       * lag behind the API server, so the caller reads those objects again before releasing.
       */
      confirm: boolean;
    };

/** The identity whose records are judged: `<namespace>/<name>` of the records' `pod` field. */
export interface Owner {
  namespace: string;
  name: string;
}

/** What the caller knows about the identity's world, from caches or from fresh reads. */
export interface OwnerFacts extends IdentityObjects {
  /** Finds a pod by UID (undefined: no such pod exists). */
  podByUid: (uid: string) => V1Pod | undefined;
  /** The pod named like the identity, whatever its UID (stateless and StatefulSet identities). */
  named?: V1Pod;
}

export interface GcContext {
  switches: IdentitySwitches;
  nowMs: number;
}

const ownerKey = (o: Owner) => `${o.namespace}/${o.name}`;

/** The owner a record's `pod` field (`<namespace>/<name>`) names; undefined when it names none. */
export function parseOwnerKey(key: string): Owner | undefined {
  const slash = key.indexOf('/');
  if (slash <= 0 || slash === key.length - 1) return undefined;
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * What kind of identity an owner is when its holder pod is not there to say: a same-name pod of the
 * same identity, then what the objects say (identityKindFromObjects).
 */
export function ownerKind(owner: Owner, facts: OwnerFacts, switches: IdentitySwitches): IdentityKind {
  const named = facts.named;
  if (named?.metadata?.uid) {
    try {
      const identity = identityOf(named, switches);
      if (identity.key === ownerKey(owner)) return identity.kind;
    } catch {
      // a pod without the fields an identity needs says nothing
    }
  }
  return identityKindFromObjects(owner.name, facts, switches);
}

const staticWords: Record<StaticKind, { who: string; gcReason: GcReason }> = {
  'kubevirt-vm': { who: 'the VM', gcReason: 'vm-gone' },
  statefulset: { who: 'the StatefulSet replica', gcReason: 'statefulset-replica-gone' },
  ipamclaim: { who: 'the IPAMClaim', gcReason: 'ipamclaim-gone' },
};

/** Whether a verdict released a static identity's addresses because the identity is gone. */
export function identityGone(gcReason: GcReason): boolean {
  return Object.values(staticWords).some((w) => w.gcReason === gcReason);
}

function staticVerdict(kind: StaticKind, podName: string, facts: OwnerFacts): Verdict {
  const v = staticIdentityValidity(kind, podName, facts);
  const { who, gcReason } = staticWords[kind];
  if (v.valid) return { release: false, reason: `${who} keeps its addresses: ${v.reason}` };
  return { release: true, reason: v.reason, gcReason, confirm: true };
}

function finished(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  const restart = pod.spec?.restartPolicy ?? 'Always';
  return (phase === 'Succeeded' && restart !== 'Always') || (phase === 'Failed' && restart === 'Never');
}

function describePod(pod: V1Pod): string {
  return `pod ${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

/** The verdict on the records `owner` holds through the pod with UID `podUid`. */
export function holderVerdict(owner: Owner, podUid: string, facts: OwnerFacts, ctx: GcContext): Verdict {
  const holder = facts.podByUid(podUid);
  if (!holder) {
    const kind = ownerKind(owner, facts, ctx.switches);
    if (kind !== 'stateless') return staticVerdict(kind, owner.name, facts);
    return {
      release: true,
      reason: `pod ${ownerKey(owner)} with UID ${podUid} is gone`,
      gcReason: 'pod-gone',
      confirm: true,
    };
  }

  // The holder's own identity decides, even if the switches changed since its records were written;
  // but a pod holds an IPAMClaim's addresses under the claim's name, which its pod identity is not.
  const own = identityOf(holder, ctx.switches);
  const claim = own.key !== ownerKey(owner) && ownerKind(owner, facts, ctx.switches) === 'ipamclaim';
  const identity = claim ? { kind: 'ipamclaim' as const } : own;
  const evicted = holder.status?.reason === 'Evicted';
  const deadline = graceDeadlineMs(holder);
  const over = finished(holder);
  if (!evicted && !over && deadline === undefined)
    return { release: false, reason: `${describePod(holder)} is alive` };

  if (identity.kind !== 'stateless')
    return staticVerdict(identity.kind, holder.metadata?.name ?? owner.name, facts);
  if (evicted)
    return {
      release: true,
      reason: `${describePod(holder)} was evicted`,
      gcReason: 'pod-evicted',
      confirm: false,
    };
  if (over) {
    const phase = holder.status?.phase?.toLowerCase();
    return {
      release: true,
      reason: `${describePod(holder)} has ${phase}`,
      gcReason: 'pod-finished',
      confirm: false,
    };
  }
  const until = new Date(deadline as number).toISOString();
  if (ctx.nowMs < (deadline as number))
    return {
      release: false,
      reason: `${describePod(holder)} is terminating; its grace period ends at ${until}`,
      recheckAtMs: deadline as number,
    };
  return {
    release: true,
    reason: `${describePod(holder)} is terminating and its grace period ended at ${until}`,
    gcReason: 'pod-terminating',
    confirm: false,
  };
}

/** What becomes of an identity's SpiderEndpoint that is not being deleted. */
export type EndpointVerdict = { delete: false } | { delete: true; reason: string; confirm: boolean };

/**
 * The endpoint goes when its current holder's addresses may go and either that pod is gone or the
 * identity is a static one that is gone (a StatefulSet replica scaled away, a deleted VM). A finished
 * stateless pod's endpoint stays: it goes with its Pod through the ownerReference.
 */
export function endpointVerdict(owner: Owner, facts: OwnerFacts, ctx: GcContext): EndpointVerdict {
  const endpoint = facts.endpoint;
  const uid = endpoint?.status?.current?.uid;
  if (!endpoint || endpoint.metadata.deletionTimestamp || !uid) return { delete: false };
  const verdict = holderVerdict(owner, uid, facts, ctx);
  if (!verdict.release) return { delete: false };
  const holder = facts.podByUid(uid);
  if (holder && !identityGone(verdict.gcReason)) return { delete: false };
  return { delete: true, reason: verdict.reason, confirm: verdict.confirm };
}
