// Who holds a VM's addresses once a live migration has ended (docs/facts.md#kubevirt-migration). During the
// migration the plugin gives the target pod the source's addresses and leaves the source as the
// holder. When it succeeds, the target becomes the holder (records' podUid, endpoint current.uid
// and node); when it fails or is aborted, the source stays the holder and no record may name the
// dead target (Spiderpool moves records to the target at its ADD and never moves them back).
import type { V1Pod } from '@kubernetes/client-node';
import type {
  KubeVirtMigrationState,
  VirtualMachineInstance,
  VirtualMachineInstanceMigration,
} from '../../api/index.js';
import { migrationMarks } from '../identity/migration.js';
import { podAliveness } from '../identity/validity.js';

export type MigrationOutcome = 'succeeded' | 'failed' | 'running';

export interface MigrationView {
  /** The migration's UID, as the VMI's migrationState.migrationUid and the target pod's label. */
  uid?: string;
  outcome: MigrationOutcome;
  state?: KubeVirtMigrationState;
}

/**
 * How a migration ended, from the VMIM (its phase, or its deletion before it finished) and the
 * VMI's migrationState when that one is about the same migration: `completed` without `failed` is
 * success; `failed` or an abort that succeeded is failure.
 */
export function migrationView(
  vmi: VirtualMachineInstance | undefined,
  vmim: VirtualMachineInstanceMigration | undefined,
): MigrationView | undefined {
  const vmiState = vmi?.status?.migrationState;
  const uid = vmim?.metadata.uid ?? vmiState?.migrationUid;
  if (uid === undefined) return undefined;
  const sameOnVmi = vmiState?.migrationUid === uid ? vmiState : undefined;
  const state = sameOnVmi ?? vmim?.status?.migrationState;
  const phase = vmim?.status?.phase;
  let outcome: MigrationOutcome = 'running';
  if (state?.completed && state.failed) outcome = 'failed';
  // An abort that succeeded ends the migration like a failure (api/kubevirt.ts does not type it).
  else if ((state as { abortStatus?: string } | undefined)?.abortStatus === 'Succeeded') outcome = 'failed';
  else if (state?.completed) outcome = 'succeeded';
  else if (phase === 'Succeeded') outcome = 'succeeded';
  else if (phase === 'Failed') outcome = 'failed';
  // A migration deleted before it finished is cancelled: KubeVirt deletes its target pod.
  else if (vmim?.metadata.deletionTimestamp) outcome = 'failed';
  const view: MigrationView = { uid, outcome };
  if (state) view.state = state;
  return view;
}

export type Handover =
  | { move: false; reason: string }
  | {
      move: true;
      /** The pod that must hold the addresses now. */
      to: { uid: string; name: string; node: string };
      /** Records and endpoint entries naming these pod UIDs move to `to` (all others are left alone). */
      from: 'any' | string[];
      reason: string;
    };

function launcherPodNamed(pods: readonly V1Pod[], name: string | undefined): V1Pod | undefined {
  return name ? pods.find((p) => p.metadata?.name === name) : undefined;
}

const uidOf = (p: V1Pod) => p.metadata?.uid ?? '';
const podRef = (p: V1Pod) => ({ uid: uidOf(p), name: p.metadata?.name ?? '', node: p.spec?.nodeName ?? '' });

export interface HandoverInput {
  vmi: VirtualMachineInstance;
  view: MigrationView;
  /** The launcher pods of the VMI (controller ownerReference to it). */
  pods: readonly V1Pod[];
  /** Pod UIDs the identity's records and endpoint name now. */
  holderUids: readonly string[];
}

/**
 * What to do about the holder once a migration ended. Acts only on the VMI's newest migration (an
 * older VMIM kept for history must not move the holder back) and only towards a pod that is alive.
 */
export function migrationHandover({ vmi, view, pods, holderUids }: HandoverInput): Handover {
  if (view.outcome === 'running') return { move: false, reason: 'the migration is still running' };
  const latest = vmi.status?.migrationState?.migrationUid;
  if (latest !== undefined && latest !== view.uid)
    return { move: false, reason: `migration ${view.uid} is not the VMI's latest (${latest})` };
  const target =
    launcherPodNamed(pods, view.state?.targetPod) ??
    pods.find((p) => migrationMarks(p)?.migrationJobUID === view.uid);

  if (view.outcome === 'succeeded') {
    if (!target) return { move: false, reason: 'the target pod is gone' };
    if (!podAliveness(target).valid) return { move: false, reason: 'the target pod is not alive' };
    if (holderUids.length > 0 && holderUids.every((u) => u === uidOf(target)))
      return { move: false, reason: 'the target pod holds the addresses already' };
    return {
      move: true,
      to: podRef(target),
      from: 'any',
      reason: `migration ${view.uid} succeeded: target pod ${target.metadata?.name} holds the addresses`,
    };
  }

  // Failed or aborted: the source keeps them. Records naming the target, or any pod that is gone
  // or dead (a target already deleted), go back to it.
  const targetUid = target ? uidOf(target) : undefined;
  const source =
    launcherPodNamed(pods, view.state?.sourcePod) ??
    pods.find((p) => uidOf(p) !== targetUid && podAliveness(p).valid);
  if (!source || uidOf(source) === targetUid || !podAliveness(source).valid)
    return { move: false, reason: 'the source pod is not alive; the VM lifecycle rules decide' };
  const alive = new Set(pods.filter((p) => podAliveness(p).valid).map(uidOf));
  const stale = [...new Set(holderUids)].filter(
    (u) => u !== uidOf(source) && (u === targetUid || !alive.has(u)),
  );
  if (stale.length === 0) return { move: false, reason: 'the source pod holds the addresses' };
  return {
    move: true,
    to: podRef(source),
    from: stale,
    reason: `migration ${view.uid} failed: source pod ${source.metadata?.name} keeps the addresses`,
  };
}
