// Who holds an address (docs/architecture.md "Identities"). A KubeVirt launcher pod holds its VM's
// addresses (keyed by the VMI name, which is the VM name), a StatefulSet pod its own stable ones;
// both are static: their records survive pod UIDs changing. Every other pod is stateless.
import type { V1Pod } from '@kubernetes/client-node';
import { IpamError } from '../errors.js';
import {
  type ControllerRef,
  controllerOf,
  isKubeVirtVMIRef,
  isStatefulSetRef,
  topController,
} from './owners.js';

/** `ipamclaim`: an attachment keyed to an IPAMClaim (ipam/identity/ipamclaim.ts, claimIdentity). */
export type IdentityKind = 'kubevirt-vm' | 'statefulset' | 'ipamclaim' | 'stateless';

export interface IdentitySwitches {
  /** Spiderpool's `enableKubevirtStaticIP`. */
  enableKubevirtStaticIP: boolean;
  /** Spiderpool's `enableStatefulSet`. */
  enableStatefulSet: boolean;
}

export interface Identity {
  namespace: string;
  /** The VMI (= VM) name for a KubeVirt VM, else the pod name. Also the SpiderEndpoint's name. */
  name: string;
  /** `<namespace>/<name>`: the `pod` field of pool records. */
  key: string;
  /** Addresses survive the pod: taken over by the next pod of the identity, released only when it is gone. */
  static: boolean;
  kind: IdentityKind;
  /** The SpiderEndpoint's `ownerControllerType`: Deployment, StatefulSet, VirtualMachineInstance, Pod, ... */
  ownerControllerType: string;
  ownerControllerName: string;
  podName: string;
  podUid: string;
  /** Whether the SpiderEndpoint gets an ownerReference to the Pod (stateless identities only). */
  endpointOwnedByPod: boolean;
}

function required(value: string | undefined, field: string): string {
  if (!value) throw new IpamError('InvalidInput', 'missing', { field, value });
  return value;
}

/**
 * The identity of a pod. `top` is the pod's resolved top controller (see topController: a
 * Deployment needs its ReplicaSet read first); without it the pod's own controller stands in. It
 * only decides ownerControllerType/Name of stateless identities.
 */
export function identityOf(pod: V1Pod, switches: IdentitySwitches, top?: ControllerRef): Identity {
  const meta = pod.metadata;
  const namespace = required(meta?.namespace, 'pod.metadata.namespace');
  const podName = required(meta?.name, 'pod.metadata.name');
  const podUid = required(meta?.uid, 'pod.metadata.uid');
  const controller = controllerOf(meta);
  const owner = top ?? topController(meta ?? {});
  const base = {
    namespace,
    podName,
    podUid,
    ownerControllerType: owner.kind,
    ownerControllerName: owner.name,
  };

  // A static identity's endpoint names its own controller (Spiderpool takes a third-party or
  // StatefulSet controller as the top one without climbing further).
  const vm = switches.enableKubevirtStaticIP && isKubeVirtVMIRef(controller);
  const sts = switches.enableStatefulSet && isStatefulSetRef(controller);
  if (controller && (vm || sts)) {
    const name = vm ? controller.name : podName;
    return {
      ...base,
      name,
      key: `${namespace}/${name}`,
      static: true,
      kind: vm ? 'kubevirt-vm' : 'statefulset',
      ownerControllerType: controller.kind,
      ownerControllerName: controller.name,
      endpointOwnedByPod: false,
    };
  }
  return {
    ...base,
    name: podName,
    key: `${namespace}/${podName}`,
    static: false,
    kind: 'stateless',
    endpointOwnedByPod: true,
  };
}
