// SpiderSubnet: Spiderpool's finalizer, removed on deletion once no pool names the subnet as its
// owner (label ipam.spidernet.io/owner-spider-subnet), and status.totalIPCount from the spec.
import { finalizer, labels, type SpiderIPPool, type SpiderSubnet } from '../../api/index.js';
import { IpamError } from '../../ipam/errors.js';
import { poolSpace, totalIPCount } from '../../ipam/pool/space.js';
import { type ResourceEvent, ResourceEventType } from '../framework/events.js';
import { finalizerAction, withFinalizer } from '../framework/finalizers.js';
import type { Lister } from '../framework/operator.js';
import type { Logger } from '../observability/log.js';
import type { PoolWrites } from './pools.js';

/** |ips − excludeIPs| of a subnet, read with the pool rules (a subnet has the same fields). */
export function subnetTotal(subnet: SpiderSubnet): number | undefined {
  try {
    return totalIPCount(poolSpace({ metadata: subnet.metadata, spec: subnet.spec }));
  } catch (error) {
    if (error instanceof IpamError) return undefined;
    throw error;
  }
}

export class SubnetController {
  constructor(
    private readonly writes: PoolWrites,
    private readonly pools: () => Lister | undefined,
    private readonly log: Logger,
  ) {}

  async reconcile(event: ResourceEvent): Promise<void> {
    if (event.type === ResourceEventType.Deleted) return;
    const subnet = event.object as SpiderSubnet;
    const md = subnet.metadata;
    switch (finalizerAction(md, finalizer)) {
      case 'add':
        await this.writes.setFinalizers(event.meta, withFinalizer(md.finalizers, finalizer, true));
        return;
      case 'finalize': {
        const owned = ((this.pools()?.list() ?? []) as SpiderIPPool[]).filter(
          (p) => p.metadata.labels?.[labels.ownerSpiderSubnet] === md.name,
        );
        if (owned.length > 0) {
          this.log.info('subnet is terminating; it stays while pools name it as their owner', {
            controller: 'subnets',
            object: md.name,
            pools: owned.map((p) => p.metadata.name),
          });
          return;
        }
        await this.writes.setFinalizers(event.meta, withFinalizer(md.finalizers, finalizer, false));
        return;
      }
      case 'deleting':
        return;
      case 'none':
        break;
    }
    const total = subnetTotal(subnet);
    if (total !== undefined && subnet.status?.totalIPCount !== total)
      await this.writes.patchStatus(event.meta, { totalIPCount: total });
  }
}
