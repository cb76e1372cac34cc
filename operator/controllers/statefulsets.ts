// StatefulSets (with enableStatefulSet): a scale-down or a deletion can make replicas' identities
// invalid while their pods are long gone, so the StatefulSet's own events judge every identity that
// belongs to it: records named `<statefulset>-<ordinal>` and endpoints it owns.
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { SpiderEndpoint } from '../../api/index.js';
import { statefulSetOrdinal } from '../../ipam/identity/validity.js';
import type { ResourceEvent } from '../framework/events.js';
import type { Caches } from './facts.js';
import { type IdentityGc, parseOwnerKey } from './identity-gc.js';
import type { RecordIndex } from './record-index.js';

export class StatefulSetController {
  constructor(
    private readonly gc: IdentityGc,
    private readonly index: () => RecordIndex,
    private readonly caches: () => Caches,
  ) {}

  async reconcile(event: ResourceEvent): Promise<void> {
    const sts = event.object as V1StatefulSet;
    const namespace = sts.metadata?.namespace ?? '';
    const name = sts.metadata?.name ?? '';
    const owners = new Set<string>();
    for (const key of this.index().owners()) {
      const owner = parseOwnerKey(key);
      if (owner?.namespace === namespace && statefulSetOrdinal(owner.name)?.statefulSet === name)
        owners.add(key);
    }
    for (const object of this.caches().endpoints?.list() ?? []) {
      const ep = object as SpiderEndpoint;
      if (
        ep.metadata.namespace === namespace &&
        ep.status?.ownerControllerType === 'StatefulSet' &&
        ep.status.ownerControllerName === name
      )
        owners.add(`${namespace}/${ep.metadata.name}`);
    }
    for (const key of owners) {
      const owner = parseOwnerKey(key);
      if (owner) await this.gc.reconcileOwner(owner, `StatefulSet ${namespace}/${name} ${event.type}`);
    }
  }
}
