// KubeVirt's live-migratability rule for a VMI's network (virt-handler writes it as the VMI's
// LiveMigratable condition; virt-api's migration admission refuses a VMI whose condition is False).
// Only the interface on the pod network is checked (KubeVirt v1.6.0 pkg/network/vmispec/interface.go
// VerifyVMIMigratable; facts in docs/testbed.md):
// - no interfaces, no pod network, or no interface on it: migratable;
// - masquerade migrates, and so does the core passtBinding of later releases (v1.8+);
// - bridge migrates only with the VMI annotation kubevirt.io/allow-pod-bridge-network-live-migration;
// - a binding plugin migrates when the KubeVirt CR gives it a `migration` method;
// - anything else (the discontinued `passt: {}`, sriov, ...) does not: InterfaceNotLiveMigratable.
// Interfaces on secondary (Multus) networks are not checked.
import { kubevirtAnnotations, type VirtualMachineInstance } from '../../../api/index.js';

export interface Condition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

export const interfaceNotLiveMigratable = 'InterfaceNotLiveMigratable';

/** KubeVirt's message for the refusal (pkg/network/vmispec VerifyVMIMigratable). */
export const notMigratableMessage =
  'cannot migrate VMI which does not use masquerade, bridge with kubevirt.io/allow-pod-bridge-network-live-migration VM annotation or a migratable plugin to connect to the pod network';

interface VmiNetworkSpec {
  name?: string;
  pod?: unknown;
}

interface VmiInterfaceSpec {
  name?: string;
  masquerade?: unknown;
  bridge?: unknown;
  passtBinding?: unknown;
  binding?: { name?: string };
}

/** `spec.configuration.network.binding` of the KubeVirt CR: plugin name -> its settings. */
export type BindingPlugins = Record<string, { migration?: unknown }>;

export function liveMigratableCondition(
  vmi: VirtualMachineInstance,
  plugins: BindingPlugins = {},
): Condition {
  const spec = (vmi.spec ?? {}) as {
    networks?: VmiNetworkSpec[];
    domain?: { devices?: { interfaces?: VmiInterfaceSpec[] } };
  };
  const interfaces = spec.domain?.devices?.interfaces ?? [];
  const podNetwork = (spec.networks ?? []).find((n) => n.pod !== undefined && n.pod !== null);
  const iface = podNetwork ? interfaces.find((i) => i.name === podNetwork.name) : undefined;
  const migratable =
    !iface ||
    iface.masquerade !== undefined ||
    iface.passtBinding !== undefined ||
    (iface.bridge !== undefined &&
      vmi.metadata.annotations?.[kubevirtAnnotations.allowPodBridgeNetworkLiveMigration] !== undefined) ||
    (iface.binding?.name !== undefined && plugins[iface.binding.name]?.migration !== undefined);
  return migratable
    ? { type: 'LiveMigratable', status: 'True' }
    : {
        type: 'LiveMigratable',
        status: 'False',
        reason: interfaceNotLiveMigratable,
        message: notMigratableMessage,
      };
}
