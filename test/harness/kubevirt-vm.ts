// VirtualMachine manifests as the demo and the KubeVirt tests apply them: a 64M guest whose NICs are
// the pod network (masquerade unless a binding is given) and Multus networks (bridge-bound).
import type { KubernetesObject } from '@kubernetes/client-node';

export interface VmOptions {
  /** Multus's default network for the launcher pod (`v1.multus-cni.io/default-network`). */
  defaultNetwork?: string;
  /** The pod-network NIC's binding; masquerade when left out. */
  binding?: Record<string, unknown>;
  /** More annotations of the launcher pod. */
  annotations?: Record<string, string>;
  /** Bridge-bound NICs on Multus networks, after the pod network's NIC. */
  multus?: Array<{ name: string; networkName: string }>;
  /** No pod network: the first Multus network is the default one (Multus's `default: true`). */
  noPodNetwork?: boolean;
}

export function vmManifest(namespace: string, name: string, opts: VmOptions = {}): KubernetesObject {
  const annotations = {
    ...(opts.defaultNetwork ? { 'v1.multus-cni.io/default-network': opts.defaultNetwork } : {}),
    ...opts.annotations,
  };
  const multus = (opts.multus ?? []).map((n, i) => ({
    interface: { name: n.name, bridge: {} },
    network: {
      name: n.name,
      multus: { ...(opts.noPodNetwork && i === 0 ? { default: true } : {}), networkName: n.networkName },
    },
  }));
  const pod = opts.noPodNetwork
    ? []
    : [
        {
          interface: { name: 'default', ...(opts.binding ?? { masquerade: {} }) },
          network: { name: 'default', pod: {} },
        },
      ];
  const nics = [...pod, ...multus];
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace },
    spec: {
      runStrategy: 'Always',
      template: {
        ...(Object.keys(annotations).length > 0 ? { metadata: { annotations } } : {}),
        spec: {
          domain: {
            devices: { interfaces: nics.map((n) => n.interface) },
            resources: { requests: { memory: '64M' } },
          },
          networks: nics.map((n) => n.network),
        },
      },
    },
  } as KubernetesObject;
}
