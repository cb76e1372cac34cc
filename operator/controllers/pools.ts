// SpiderIPPool: Spiderpool's finalizer on every pool; a deleted pool stays Terminating while any
// record remains and loses the finalizer on the event of its last release; status.totalIPCount from
// the spec and status.allocatedIPCount true to the records (drift is repaired); per-pool gauges.
import { finalizer, type SpiderIPPool, type SpiderReservedIP } from '../../api/index.js';
import { IpamError } from '../../ipam/errors.js';
import { poolFamily, poolSpace, reservedSet, totalIPCount } from '../../ipam/pool/space.js';
import { poolUsage } from '../../ipam/pool/usage.js';
import { decodeRecords } from '../../ipam/records/codec.js';
import { type ResourceEvent, ResourceEventType, type ResourceMeta } from '../framework/events.js';
import { finalizerAction, withFinalizer } from '../framework/finalizers.js';
import type { Lister } from '../framework/operator.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';

export interface PoolWrites {
  setFinalizers(meta: ResourceMeta, finalizers: string[]): Promise<void>;
  patchStatus(meta: ResourceMeta, status: Record<string, unknown>): Promise<unknown>;
}

export interface PoolCounts {
  total: number | undefined;
  allocated: number;
}

/** What the status counters must say; `total` is undefined for a spec that cannot be parsed. */
export function poolCounts(pool: SpiderIPPool): PoolCounts {
  const family = poolFamily(pool);
  const allocated = decodeRecords(pool.metadata.name ?? '', pool.status?.allocatedIPs, family).length;
  let total: number | undefined;
  try {
    total = totalIPCount(poolSpace(pool));
  } catch (error) {
    if (!(error instanceof IpamError)) throw error;
  }
  return { total, allocated };
}

export class PoolController {
  constructor(
    private readonly writes: PoolWrites,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly reservedIPs: () => Lister | undefined,
  ) {}

  async reconcile(event: ResourceEvent): Promise<void> {
    const pool = event.object as SpiderIPPool;
    const name = pool.metadata.name ?? '';
    if (event.type === ResourceEventType.Deleted) {
      for (const gauge of [
        this.metrics.poolTotalIPs,
        this.metrics.poolAllocatedIPs,
        this.metrics.poolFreeIPs,
      ])
        gauge.remove({ pool: name });
      return;
    }
    let counts: PoolCounts;
    try {
      counts = poolCounts(pool);
    } catch (error) {
      if (!(error instanceof IpamError)) throw error;
      // Unreadable records: nothing can be counted, and a deletion must not go ahead blindly.
      this.log.error('pool records cannot be read; the pool is left as it is', {
        controller: 'pools',
        object: name,
        error,
      });
      return;
    }
    const metadata = pool.metadata;
    switch (finalizerAction(metadata, finalizer)) {
      case 'add':
        await this.writes.setFinalizers(event.meta, withFinalizer(metadata.finalizers, finalizer, true));
        return;
      case 'finalize':
        if (counts.allocated > 0) {
          this.log.info('pool is terminating; it stays until its last address is released', {
            controller: 'pools',
            object: name,
            allocated: counts.allocated,
          });
        } else {
          await this.writes.setFinalizers(event.meta, withFinalizer(metadata.finalizers, finalizer, false));
          this.log.info('pool released its last address; finalizer removed', {
            controller: 'pools',
            object: name,
          });
          return;
        }
        break;
      case 'deleting':
        return;
      case 'none':
        break;
    }
    this.observe(pool, counts);
    const status = pool.status ?? {};
    const patch: Record<string, unknown> = {};
    if (counts.total !== undefined && status.totalIPCount !== counts.total) patch.totalIPCount = counts.total;
    if (status.allocatedIPCount !== counts.allocated) patch.allocatedIPCount = counts.allocated;
    if (Object.keys(patch).length === 0) return;
    await this.writes.patchStatus(event.meta, patch);
    this.log.info('pool counters repaired', {
      controller: 'pools',
      object: name,
      was: { totalIPCount: status.totalIPCount, allocatedIPCount: status.allocatedIPCount },
      now: patch,
    });
  }

  private observe(pool: SpiderIPPool, counts: PoolCounts): void {
    const name = pool.metadata.name ?? '';
    this.metrics.poolAllocatedIPs.set({ pool: name }, counts.allocated);
    if (counts.total !== undefined) this.metrics.poolTotalIPs.set({ pool: name }, counts.total);
    try {
      const reserved = (this.reservedIPs()?.list() ?? []) as SpiderReservedIP[];
      const usage = poolUsage(pool, reservedSet(reserved, poolFamily(pool)));
      this.metrics.poolFreeIPs.set({ pool: name }, Number(usage.free));
    } catch (error) {
      if (!(error instanceof IpamError)) throw error;
    }
  }
}
