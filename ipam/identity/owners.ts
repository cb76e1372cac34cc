// Controllers of pods, from ownerReferences. Only plain data: the one API read a caller may need (a
// ReplicaSet's Deployment, a Job's CronJob) is theirs to make; `topControllerLookup` says which.
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { kubevirtApiVersion, kubevirtKinds } from '../../api/index.js';

export interface ControllerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
}

/** The controller ownerReference (`controller: true`) of an object, if any. */
export function controllerOf(meta: V1ObjectMeta | undefined): V1OwnerReference | undefined {
  return meta?.ownerReferences?.find((ref) => ref.controller === true);
}

function toRef(ref: V1OwnerReference): ControllerRef {
  const out: ControllerRef = { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name };
  if (ref.uid) out.uid = ref.uid;
  return out;
}

export function isKubeVirtVMIRef(ref: { apiVersion?: string; kind?: string } | undefined): boolean {
  return ref?.apiVersion === kubevirtApiVersion && ref.kind === kubevirtKinds.vmi.kind;
}

export function isKubeVirtVMRef(ref: { apiVersion?: string; kind?: string } | undefined): boolean {
  return ref?.apiVersion === kubevirtApiVersion && ref.kind === kubevirtKinds.vm.kind;
}

export function isStatefulSetRef(ref: { apiVersion?: string; kind?: string } | undefined): boolean {
  return ref?.apiVersion === 'apps/v1' && ref.kind === 'StatefulSet';
}

/**
 * The object whose controller is the pod's top controller and must be read to know it: the
 * ReplicaSet of a Deployment's pod, the Job of a CronJob's pod. Undefined when the pod's own
 * controller is already the top (StatefulSet, DaemonSet, VMI, a third-party kind, or none).
 */
export function topControllerLookup(podMeta: V1ObjectMeta): ControllerRef | undefined {
  const ref = controllerOf(podMeta);
  if (!ref) return undefined;
  if (ref.apiVersion === 'apps/v1' && ref.kind === 'ReplicaSet') return toRef(ref);
  if (ref.apiVersion === 'batch/v1' && ref.kind === 'Job') return toRef(ref);
  return undefined;
}

/**
 * The top controller of a pod, as Spiderpool resolves it: Pod → ReplicaSet → Deployment, Pod → Job
 * → CronJob, otherwise the pod's own controller, otherwise the Pod itself. `intermediate` is the
 * metadata of the object `topControllerLookup` named, when the caller read it; without it the
 * intermediate controller (ReplicaSet, Job) is the answer.
 */
export function topController(podMeta: V1ObjectMeta, intermediate?: V1ObjectMeta): ControllerRef {
  const ref = controllerOf(podMeta);
  if (!ref) {
    const self: ControllerRef = { apiVersion: 'v1', kind: 'Pod', name: podMeta.name ?? '' };
    if (podMeta.uid) self.uid = podMeta.uid;
    return self;
  }
  const lookup = topControllerLookup(podMeta);
  if (lookup && intermediate && intermediate.name === lookup.name) {
    const above = controllerOf(intermediate);
    const wanted = lookup.kind === 'ReplicaSet' ? ['apps/v1', 'Deployment'] : ['batch/v1', 'CronJob'];
    if (above && above.apiVersion === wanted[0] && above.kind === wanted[1]) return toRef(above);
  }
  return toRef(ref);
}
