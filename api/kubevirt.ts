// What this project reads of KubeVirt's API (kubevirt.io/v1): names, keys and the fields used.
// Facts from KubeVirt's own types; only the fields the plugin and the operator look at are typed.
import type { V1ObjectMeta } from '@kubernetes/client-node';

export const kubevirtGroup = 'kubevirt.io';
export const kubevirtVersion = 'v1';
export const kubevirtApiVersion = `${kubevirtGroup}/${kubevirtVersion}`;

export const kubevirtKinds = {
  vm: { kind: 'VirtualMachine', plural: 'virtualmachines' },
  vmi: { kind: 'VirtualMachineInstance', plural: 'virtualmachineinstances' },
  vmim: { kind: 'VirtualMachineInstanceMigration', plural: 'virtualmachineinstancemigrations' },
} as const;

export const kubevirtLabels = {
  /** On launcher pods: `virt-launcher`. */
  app: 'kubevirt.io',
  /** On launcher pods: the VMI's UID. */
  createdBy: 'kubevirt.io/created-by',
  /** On migration target pods: the VirtualMachineInstanceMigration's UID. */
  migrationJobUID: 'kubevirt.io/migrationJobUID',
  /** On VMIMs: the VMI being migrated. */
  vmiName: 'kubevirt.io/vmi-name',
} as const;

export const kubevirtAnnotations = {
  /** On migration target pods: the VirtualMachineInstanceMigration's name. */
  migrationJobName: 'kubevirt.io/migrationJobName',
  /** On launcher pods: the VMI name. */
  domain: 'kubevirt.io/domain',
  allowPodBridgeNetworkLiveMigration: 'kubevirt.io/allow-pod-bridge-network-live-migration',
} as const;

export interface KubeVirtMigrationState {
  sourcePod?: string;
  targetPod?: string;
  sourceNode?: string;
  targetNode?: string;
  migrationUid?: string;
  completed?: boolean;
  failed?: boolean;
  startTimestamp?: string;
  endTimestamp?: string;
}

export interface VirtualMachine {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: { runStrategy?: string; running?: boolean; template?: { metadata?: V1ObjectMeta; spec?: unknown } };
  status?: { printableStatus?: string; created?: boolean; ready?: boolean };
}

export interface VirtualMachineInstance {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: unknown;
  status?: {
    phase?: string;
    nodeName?: string;
    activePods?: Record<string, string>;
    migrationState?: KubeVirtMigrationState;
  };
}

export interface VirtualMachineInstanceMigration {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: { vmiName?: string };
  status?: { phase?: string; migrationState?: KubeVirtMigrationState };
}
