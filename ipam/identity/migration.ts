// KubeVirt live migration: the target launcher pod runs next to the source pod on another node and
// must come up with the same addresses (docs/kubevirt.md). KubeVirt marks the target pod when it
// creates it; the plugin (cni/allocation/add-plan.ts) and the operator (ipam/gc/migration.ts) read
// the marks from here.
import type { V1Pod } from '@kubernetes/client-node';
import { kubevirtAnnotations, kubevirtLabels } from '../../api/index.js';

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
