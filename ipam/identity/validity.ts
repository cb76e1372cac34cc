// When a static identity is gone and its addresses may be released. These are decisions on objects
// the caller has read (or found absent); the reads, and what to do on an API error, are theirs.
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { IPAMClaim, SpiderEndpoint, VirtualMachine, VirtualMachineInstance } from '../../api/index.js';
import type { IdentityKind, IdentitySwitches } from './identity.js';
import { claimOwnerType, claimValidity } from './ipamclaim.js';
import { controllerOf, isKubeVirtVMRef } from './owners.js';

export interface Validity {
  valid: boolean;
  /** Why, in words fit for a log line or an Event. */
  reason: string;
}

/**
 * Spiderpool's IsValidVMPod: a VM identity keeps its addresses while its VMI exists and is not
 * terminating; a terminating VMI without a VM owner lets them go; otherwise (no VMI, or a
 * terminating VMI owned by a VM) the VM decides: absent or terminating lets go, present keeps them,
 * so a stopped VM keeps its addresses.
 */
export function vmIdentityValidity(
  vmi: VirtualMachineInstance | undefined,
  vm: VirtualMachine | undefined,
): Validity {
  if (vmi && !vmi.metadata.deletionTimestamp) return { valid: true, reason: 'the VMI exists' };
  if (vmi && !isKubeVirtVMRef(controllerOf(vmi.metadata))) {
    return { valid: false, reason: 'the VMI is terminating and no VM owns it' };
  }
  const why = vmi ? 'the VMI is terminating' : 'the VMI is gone';
  if (!vm) return { valid: false, reason: `${why} and the VM is gone` };
  if (vm.metadata.deletionTimestamp) return { valid: false, reason: `${why} and the VM is terminating` };
  return { valid: true, reason: `${why} but the VM exists` };
}

/** `<statefulset>-<ordinal>` split at the last dash; undefined when the name has no ordinal. */
export function statefulSetOrdinal(podName: string): { statefulSet: string; ordinal: number } | undefined {
  const m = /^(.+)-(0|[1-9]\d*)$/.exec(podName);
  if (!m) return undefined;
  const ordinal = Number(m[2]);
  return Number.isSafeInteger(ordinal) ? { statefulSet: m[1] as string, ordinal } : undefined;
}

/**
 * A StatefulSet pod keeps its addresses while its StatefulSet exists (and is not being deleted) and
 * its ordinal is within [start, start + replicas), `spec.ordinals.start` honoured.
 */
export function statefulSetPodValidity(podName: string, statefulSet: V1StatefulSet | undefined): Validity {
  const parsed = statefulSetOrdinal(podName);
  const stsName = statefulSet?.metadata?.name;
  if (!statefulSet || !stsName) return { valid: false, reason: 'the StatefulSet is gone' };
  if (statefulSet.metadata?.deletionTimestamp)
    return { valid: false, reason: 'the StatefulSet is terminating' };
  if (!parsed || parsed.statefulSet !== stsName) {
    return { valid: false, reason: `pod ${podName} is not a replica of StatefulSet ${stsName}` };
  }
  const start = statefulSet.spec?.ordinals?.start ?? 0;
  const replicas = statefulSet.spec?.replicas ?? 1;
  if (parsed.ordinal < start || parsed.ordinal >= start + replicas) {
    return {
      valid: false,
      reason: `ordinal ${parsed.ordinal} is outside [${start}, ${start + replicas}) of StatefulSet ${stsName}`,
    };
  }
  return { valid: true, reason: `ordinal ${parsed.ordinal} is within the StatefulSet's replicas` };
}

/**
 * Spiderpool's IsPodAlive: a pod that is being deleted, evicted, or finished for good (Succeeded
 * without restartPolicy Always, Failed with restartPolicy Never) is not alive.
 */
export function podAliveness(pod: V1Pod): Validity {
  if (pod.metadata?.deletionTimestamp) return { valid: false, reason: 'the pod is being deleted' };
  if (pod.status?.reason === 'Evicted') return { valid: false, reason: 'the pod was evicted' };
  const phase = pod.status?.phase;
  const restart = pod.spec?.restartPolicy ?? 'Always';
  if (phase === 'Succeeded' && restart !== 'Always') return { valid: false, reason: 'the pod has succeeded' };
  if (phase === 'Failed' && restart === 'Never') return { valid: false, reason: 'the pod has failed' };
  return { valid: true, reason: 'the pod is alive' };
}

/** The objects that tell whether a static identity is still there, as the caller read them. */
export interface IdentityObjects {
  /** The identity's SpiderEndpoint. */
  endpoint?: SpiderEndpoint;
  /** The VMI and VM named like the identity. */
  vmi?: VirtualMachineInstance;
  vm?: VirtualMachine;
  /** The StatefulSet the identity's pod name points at, when that could be one. */
  statefulSet?: V1StatefulSet;
  /** The IPAMClaim named like the identity (read only where IPAMClaim support is on). */
  claim?: IPAMClaim;
}

export type StaticKind = Exclude<IdentityKind, 'stateless'>;

/**
 * The one rule for whether a static identity still holds its addresses, used by the plugin's
 * release plan and the operator's GC alike: a VM identity by its VMI and VM, a StatefulSet pod by
 * its StatefulSet and ordinal.
 */
export function staticIdentityValidity(
  kind: StaticKind,
  podName: string,
  objects: IdentityObjects,
): Validity {
  if (kind === 'ipamclaim') return claimValidity(objects.claim);
  return kind === 'kubevirt-vm'
    ? vmIdentityValidity(objects.vmi, objects.vm)
    : statefulSetPodValidity(podName, objects.statefulSet);
}

/**
 * What kind of identity `name` (the records' identity name) is when no pod of it is there to say:
 * the endpoint's owner type, then the KubeVirt objects, then a StatefulSet whose replica the name
 * would be. The switches that are off make the identity stateless, as identityOf does.
 */
export function identityKindFromObjects(
  name: string,
  objects: IdentityObjects,
  switches: IdentitySwitches,
): IdentityKind {
  const type = objects.endpoint?.status?.ownerControllerType;
  // A claim's addresses stay a claim's whatever the switches say: only the claim's deletion frees them.
  if (type === claimOwnerType) return 'ipamclaim';
  if (type === 'VirtualMachineInstance') return switches.enableKubevirtStaticIP ? 'kubevirt-vm' : 'stateless';
  if (type === 'StatefulSet') return switches.enableStatefulSet ? 'statefulset' : 'stateless';
  if (type !== undefined) return 'stateless';
  if (objects.claim) return 'ipamclaim';
  if (switches.enableKubevirtStaticIP && (objects.vmi || objects.vm)) return 'kubevirt-vm';
  const sts = objects.statefulSet;
  if (
    switches.enableStatefulSet &&
    sts?.metadata?.name !== undefined &&
    statefulSetOrdinal(name)?.statefulSet === sts.metadata.name
  )
    return 'statefulset';
  return 'stateless';
}
