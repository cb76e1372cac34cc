// KubeVirt live migration: the target launcher pod runs next to the source pod on another node and
// must come up with the same addresses (docs/facts.md#kubevirt-migration).
import type { V1Pod } from '@kubernetes/client-node';
import { kubevirtAnnotations, kubevirtLabels, type VirtualMachineInstance } from '../../api/index.js';
import type { Identity } from './identity.js';

export interface MigrationMarks {
  /** Annotation `kubevirt.io/migrationJobName`: the VirtualMachineInstanceMigration's name. */
  migrationJobName?: string;
  /** Label `kubevirt.io/migrationJobUID`: the VirtualMachineInstanceMigration's UID. */
  migrationJobUID?: string;
}

/** The migration marks of a pod, or undefined when it carries none (not a migration target). */
export function migrationMarks(pod: V1Pod): MigrationMarks | undefined {
  const name = pod.metadata?.annotations?.[kubevirtAnnotations.migrationJobName];
  const uid = pod.metadata?.labels?.[kubevirtLabels.migrationJobUID];
  if (!name && !uid) return undefined;
  const marks: MigrationMarks = {};
  if (name) marks.migrationJobName = name;
  if (uid) marks.migrationJobUID = uid;
  return marks;
}

/** True for a pod marked as the target of a live migration (it may be one of an older migration). */
export function isMigrationTarget(pod: V1Pod): boolean {
  return migrationMarks(pod) !== undefined;
}

/**
 * True when the pod is the target of the VMI's current migration. A source pod can still carry the
 * label of an earlier migration it was the target of, so the label's value must match the VMI's
 * `status.migrationState.migrationUid`.
 */
export function isActiveMigrationTarget(pod: V1Pod, vmi: VirtualMachineInstance | undefined): boolean {
  const uid = migrationMarks(pod)?.migrationJobUID;
  const active = vmi?.status?.migrationState;
  return uid !== undefined && active?.migrationUid === uid && active.completed !== true;
}

/**
 * Whether the plugin should probe for an address conflict (ARP / DAD) before handing an address to
 * this pod. A live-migration target of a VM must not: the source pod still answers for the same
 * addresses until the migration completes, as Spiderpool decides for pods with
 * `kubevirt.io/migrationJobName`. This is the hook the KubeVirt rules refine.
 */
export function conflictProbeWanted(enabled: boolean, identity: Identity, pod: V1Pod): ProbeDecision {
  if (!enabled) return { probe: false, reason: 'IP conflict detection is off' };
  if (identity.kind === 'kubevirt-vm' && migrationMarks(pod)?.migrationJobName) {
    return {
      probe: false,
      reason: 'the pod is a live-migration target; the source still holds the addresses',
    };
  }
  return { probe: true, reason: 'IP conflict detection is on' };
}

export interface ProbeDecision {
  probe: boolean;
  reason: string;
}
