// KubeVirt's pod interface names (docs/facts.md#kubevirt-interface-names): since v1.0 a secondary Multus network
// of a VMI is attached in the launcher pod as `pod` + the first 11 hex characters of
// sha256(<spec.networks[].name>) (room for a `-nic` suffix within the kernel's 15 characters);
// VMs from before may still use ordinal `net1`, `net2`, ... until restarted or migrated. The pod
// network and the Multus default network are `eth0`. This is the CNI_IFNAME the plugin sees.
import { createHash } from 'node:crypto';
import type { VirtualMachineInstance } from '../../api/index.js';

export function hashedPodInterfaceName(networkName: string): string {
  return `pod${createHash('sha256').update(networkName).digest('hex').slice(0, 11)}`;
}

export type InterfaceNaming = 'hashed' | 'ordinal';

export interface VmiPodInterface {
  /** `spec.networks[].name`. */
  network: string;
  /** The interface in the launcher pod. */
  podInterface: string;
  kind: 'pod-network' | 'multus-default' | 'multus';
  /** The NetworkAttachmentDefinition, for Multus networks (namespace defaults to the VMI's). */
  attachment?: { namespace: string; name: string };
}

interface VmiNetworkSpec {
  name?: unknown;
  pod?: unknown;
  multus?: { networkName?: unknown; default?: unknown };
}

interface VmiInterfaceSpec {
  name?: unknown;
  state?: unknown;
}

/** The pieces of a VMI spec read here; the api types leave `spec` opaque. */
function specOf(vmi: VirtualMachineInstance): { networks: VmiNetworkSpec[]; interfaces: VmiInterfaceSpec[] } {
  const spec = (vmi.spec ?? {}) as {
    networks?: unknown;
    domain?: { devices?: { interfaces?: unknown } };
  };
  const networks = Array.isArray(spec.networks) ? (spec.networks as VmiNetworkSpec[]) : [];
  const interfaces = Array.isArray(spec.domain?.devices?.interfaces)
    ? (spec.domain?.devices?.interfaces as VmiInterfaceSpec[])
    : [];
  return { networks, interfaces };
}

/**
 * The launcher-pod interface of each network of a VMI, in `spec.networks` order. Interfaces marked
 * `state: absent` (hot-unplugged) are left out, as KubeVirt leaves them out of the pod's networks.
 */
export function vmiPodInterfaces(
  vmi: VirtualMachineInstance,
  naming: InterfaceNaming = 'hashed',
): VmiPodInterface[] {
  const { networks, interfaces } = specOf(vmi);
  const absent = new Set(interfaces.filter((i) => i.state === 'absent').map((i) => i.name));
  const namespace = vmi.metadata.namespace ?? '';
  const out: VmiPodInterface[] = [];
  let ordinal = 0;
  for (const net of networks) {
    if (typeof net.name !== 'string' || absent.has(net.name)) continue;
    if (net.pod !== undefined) {
      out.push({ network: net.name, podInterface: 'eth0', kind: 'pod-network' });
      continue;
    }
    const networkName = net.multus?.networkName;
    if (typeof networkName !== 'string') continue;
    const [nsPart, namePart] = networkName.includes('/')
      ? networkName.split('/', 2)
      : [namespace, networkName];
    const attachment = { namespace: nsPart as string, name: namePart as string };
    if (net.multus?.default === true) {
      out.push({ network: net.name, podInterface: 'eth0', kind: 'multus-default', attachment });
      continue;
    }
    ordinal++;
    const podInterface = naming === 'hashed' ? hashedPodInterfaceName(net.name) : `net${ordinal}`;
    out.push({ network: net.name, podInterface, kind: 'multus', attachment });
  }
  return out;
}

/** The VMI network a pod interface (CNI_IFNAME) belongs to, trying hashed then ordinal names. */
export function vmiNetworkOfPodInterface(
  vmi: VirtualMachineInstance,
  podInterface: string,
): VmiPodInterface | undefined {
  const naming: InterfaceNaming = /^net\d+$/.test(podInterface) ? 'ordinal' : 'hashed';
  return vmiPodInterfaces(vmi, naming).find((i) => i.podInterface === podInterface);
}
