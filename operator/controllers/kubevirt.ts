// KubeVirt (with enableKubevirtStaticIP): a VM deleted (running or stopped) or a standalone VMI
// deleted frees the identity's addresses and endpoint at once, from the VM's and VMI's own events
// rather than at the next scan; a VMI deleted while its VM lives keeps them (the GC rules decide).
// Live migration: once it succeeds the target pod becomes the holder (records' podUid, endpoint
// current.uid and node) by a release-free rewrite; once it fails or is aborted, records naming the
// dead target go back to the source. The same holds for the addresses the VMI's pods hold for
// IPAMClaims (docs/ipamclaim.md): each claim is handed over like the VM's own identity.
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import {
  kubevirtApiVersion,
  kubevirtKinds,
  type SpiderEndpoint,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
} from '../../api/index.js';
import { reassign } from '../../ipam/allocation/reassign.js';
import { type Handover, migrationHandover, migrationView } from '../../ipam/gc/migration.js';
import { claimOwnerType } from '../../ipam/identity/ipamclaim.js';
import { controllerOf } from '../../ipam/identity/owners.js';
import type { EventSink } from '../events/recorder.js';
import type { ResourceEvent } from '../framework/events.js';
import type { Lister } from '../framework/operator.js';
import type { Logger } from '../observability/log.js';
import type { Caches } from './facts.js';
import { type IdentityGc, ownerKeyOf } from './identity-gc.js';
import type { OperatorStore } from './operator-store.js';
import type { RecordIndex } from './record-index.js';

export interface KubeVirtControllerDeps {
  gc: IdentityGc;
  io: OperatorStore;
  index: () => RecordIndex;
  caches: () => Caches & { migrations?: Lister };
  recorder: EventSink;
  log: Logger;
  gcEnabled: boolean;
}

export class KubeVirtController {
  constructor(private readonly deps: KubeVirtControllerDeps) {}

  /** VirtualMachine events: the identity of the same name is judged. */
  async reconcileVM(event: ResourceEvent): Promise<void> {
    const vm = event.object as VirtualMachine;
    await this.judge(vm.metadata.namespace ?? '', vm.metadata.name ?? '', `VM ${event.type}`);
  }

  /** VirtualMachineInstance events: the identity is judged and its migration state looked at. */
  async reconcileVMI(event: ResourceEvent): Promise<void> {
    const vmi = event.object as VirtualMachineInstance;
    const namespace = vmi.metadata.namespace ?? '';
    const name = vmi.metadata.name ?? '';
    await this.judge(namespace, name, `VMI ${event.type}`);
    if (vmi.status?.migrationState) await this.migration(namespace, name);
  }

  /** VirtualMachineInstanceMigration events. */
  async reconcileMigration(event: ResourceEvent): Promise<void> {
    const vmim = event.object as VirtualMachineInstanceMigration;
    const vmiName = vmim.spec?.vmiName;
    if (vmiName) await this.migration(vmim.metadata.namespace ?? '', vmiName, vmim);
  }

  private async judge(namespace: string, name: string, cause: string): Promise<void> {
    if (!this.deps.gcEnabled || !namespace || !name) return;
    await this.deps.gc.reconcileOwner({ namespace, name }, cause);
  }

  /** Hands the addresses over if the VMI's migration has ended: the VM's, then each claim's. */
  async migration(namespace: string, vmiName: string, vmim?: VirtualMachineInstanceMigration): Promise<void> {
    await this.migrateOwner(namespace, vmiName, vmiName, vmim);
    for (const claim of this.claimsOfVMI(namespace, vmiName))
      await this.migrateOwner(namespace, vmiName, claim, vmim);
  }

  /** The IPAMClaims whose addresses a pod of the VMI holds (records of another owner, a claim's endpoint). */
  private claimsOfVMI(namespace: string, vmiName: string): string[] {
    const caches = this.deps.caches();
    const vmi = caches.vmis?.get(`${namespace}/${vmiName}`) as VirtualMachineInstance | undefined;
    if (!vmi) return [];
    const uids = ((caches.pods?.list() ?? []) as V1Pod[])
      .filter(
        (p) => p.metadata?.namespace === namespace && controllerOf(p.metadata)?.uid === vmi.metadata.uid,
      )
      .map((p) => p.metadata?.uid ?? '');
    const keys = new Set(
      uids.flatMap((uid) =>
        this.deps
          .index()
          .byPodUid(uid)
          .map((r) => r.pod),
      ),
    );
    return [...keys].flatMap((key) => {
      const endpoint = caches.endpoints?.get(key) as SpiderEndpoint | undefined;
      const name = key.slice(namespace.length + 1);
      return key.startsWith(`${namespace}/`) && endpoint?.status?.ownerControllerType === claimOwnerType
        ? [name]
        : [];
    });
  }

  /** Hands over the addresses `ownerName` (the VM's identity, or a claim) holds through the VMI's pods. */
  private migrateOwner(
    namespace: string,
    vmiName: string,
    ownerName: string,
    vmim?: VirtualMachineInstanceMigration,
  ): Promise<void> {
    const owner = { namespace, name: ownerName };
    return this.deps.gc.withOwner(owner, async () => {
      const caches = this.deps.caches();
      const key = ownerKeyOf(owner);
      const vmi = caches.vmis?.get(`${namespace}/${vmiName}`) as VirtualMachineInstance | undefined;
      if (!vmi) return;
      const migrationUid = vmi.status?.migrationState?.migrationUid;
      const found =
        vmim ??
        ((caches.migrations?.list() ?? []) as VirtualMachineInstanceMigration[]).find(
          (m) => m.metadata.namespace === namespace && m.metadata.uid === migrationUid,
        );
      const view = migrationView(vmi, found);
      if (!view || view.outcome === 'running') return;
      const pods = ((caches.pods?.list() ?? []) as V1Pod[]).filter(
        (p) => p.metadata?.namespace === namespace && controllerOf(p.metadata)?.uid === vmi.metadata.uid,
      );
      const records = this.deps.index().byOwner(key);
      const endpoint = caches.endpoints?.get(key) as SpiderEndpoint | undefined;
      const holderUids = [
        ...new Set(
          [...records.map((r) => r.podUid), endpoint?.status?.current?.uid].filter((u): u is string => !!u),
        ),
      ];
      const handover = migrationHandover({ vmi, view, pods, holderUids });
      if (!handover.move) {
        this.deps.log.debug('migration: nothing to hand over', {
          controller: 'kubevirt',
          object: key,
          reason: handover.reason,
        });
        return;
      }
      await this.handOver(namespace, ownerName, [...new Set(records.map((r) => r.pool))], handover, endpoint);
      const target = pods.find((p) => p.metadata?.uid === handover.to.uid);
      const targetName = target?.metadata?.name;
      if (ownerName !== vmiName && targetName)
        await this.deps.io.changeClaimStatus(namespace, ownerName, 'hand over', (claim) =>
          claim.status && claim.status.ownerPod !== targetName
            ? { ...claim, status: { ...claim.status, ownerPod: targetName } }
            : undefined,
        );
      const vm = caches.vms?.get(`${namespace}/${vmiName}`) as VirtualMachine | undefined;
      const message = `${handover.reason} (on ${handover.to.node})`;
      const targets: KubernetesObject[] = [];
      if (target) targets.push({ apiVersion: 'v1', kind: 'Pod', metadata: target.metadata });
      targets.push(
        vm
          ? { apiVersion: kubevirtApiVersion, kind: kubevirtKinds.vm.kind, metadata: vm.metadata }
          : { apiVersion: kubevirtApiVersion, kind: kubevirtKinds.vmi.kind, metadata: vmi.metadata },
      );
      for (const t of targets) void this.deps.recorder.record(t, 'Normal', 'MigrationHandover', message);
    });
  }

  private async handOver(
    namespace: string,
    name: string,
    pools: string[],
    handover: Extract<Handover, { move: true }>,
    endpoint: SpiderEndpoint | undefined,
  ): Promise<void> {
    const owner = `${namespace}/${name}`;
    const from = handover.from === 'any' ? undefined : handover.from;
    const moved: string[] = [];
    for (const pool of pools) {
      const batch = await this.deps.io.changePool(pool, `hand over ${owner}`, (p) =>
        reassign(p, { owner, toPodUid: handover.to.uid, ...(from ? { fromPodUids: from } : {}) }),
      );
      for (const r of batch?.moved ?? []) moved.push(`${r.ip} (pool ${pool})`);
    }
    let endpointMoved = false;
    if (endpoint)
      endpointMoved = await this.deps.io.changeEndpoint(namespace, name, 'hand over', (ep) => {
        const current = ep.status?.current;
        if (!ep.status || !current || ep.metadata.deletionTimestamp) return undefined;
        if (from && !from.includes(current.uid)) return undefined;
        if (current.uid === handover.to.uid && current.node === handover.to.node) return undefined;
        return {
          ...ep,
          status: { ...ep.status, current: { ...current, uid: handover.to.uid, node: handover.to.node } },
        };
      });
    this.deps.log.info('addresses handed over after a live migration', {
      controller: 'kubevirt',
      object: owner,
      to: handover.to,
      reason: handover.reason,
      records: moved,
      endpoint: endpointMoved,
    });
  }
}
