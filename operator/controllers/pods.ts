// Pods: every event of a pod that holds records (or whose identity has an endpoint) has its
// identities judged by the GC rules; a terminating pod is judged again when its grace period ends.
// A launcher pod's event also re-checks its VMI's migration (the target pod may show up in the
// cache after the migration's own events). Bound pods without addresses are explained.
import type { V1Pod } from '@kubernetes/client-node';
import { identityOf } from '../../ipam/identity/identity.js';
import { controllerOf, isKubeVirtVMIRef } from '../../ipam/identity/owners.js';
import type { IpamSettings } from '../config/index.js';
import { type ResourceEvent, ResourceEventType } from '../framework/events.js';
import { type IdentityGc, parseOwnerKey } from './identity-gc.js';
import type { NoAddressExplainer } from './no-address.js';
import type { RecordIndex } from './record-index.js';

export interface PodControllerDeps {
  gc: IdentityGc;
  index: () => RecordIndex;
  explainer: NoAddressExplainer;
  settings: IpamSettings;
  /** Re-checks the migration of a VMI (KubeVirt static IPs on). */
  migration?: (namespace: string, vmiName: string) => Promise<void>;
}

export class PodController {
  constructor(private readonly deps: PodControllerDeps) {}

  async reconcile(event: ResourceEvent): Promise<void> {
    const pod = event.object as V1Pod;
    const md = pod.metadata ?? {};
    const uid = md.uid;
    if (!uid || !md.namespace || !md.name || pod.spec?.hostNetwork) return;
    const owners = new Set(
      this.deps
        .index()
        .byPodUid(uid)
        .map((r) => r.pod),
    );
    owners.add(identityOf(pod, this.deps.settings).key);
    if (this.deps.settings.gcEnabled)
      for (const key of owners) {
        const owner = parseOwnerKey(key);
        if (owner) await this.deps.gc.reconcileOwner(owner, `pod ${md.namespace}/${md.name} ${event.type}`);
      }
    const vmi = controllerOf(md);
    if (this.deps.migration && vmi && isKubeVirtVMIRef(vmi))
      await this.deps.migration(md.namespace, vmi.name);
    if (event.type === ResourceEventType.Deleted) this.deps.explainer.forget(uid);
    else await this.deps.explainer.check(pod);
  }
}
