// The periodic full scan (leader only; at the start of each term, then every gc.intervalSeconds, and
// at once after the pod or pool watch re-listed):
// every identity that holds a record in any pool, or has an endpoint, is judged by the same rules
// as the event handlers. It repairs what events missed: a record written by a plugin killed between
// its pool write and its endpoint write whose pod is gone, deletions that happened while no replica
// led, pools written while a watch was down. Verdicts that rest on something being gone are
// confirmed with fresh reads, so a live holder never loses an address to a stale cache.
import type { SpiderEndpoint } from '../../api/index.js';
import type { Logger } from '../observability/log.js';
import type { Caches } from './facts.js';
import { type IdentityGc, parseOwnerKey } from './identity-gc.js';
import type { RecordIndex } from './record-index.js';

export interface ScanResult {
  identities: number;
  released: number;
  endpointsDeleted: number;
  failed: number;
}

export class FullScan {
  constructor(
    private readonly gc: IdentityGc,
    private readonly index: () => RecordIndex,
    private readonly caches: () => Caches,
    private readonly log: Logger,
    /** Re-handles every cached pool (counters, finalizers) after the scan. */
    private readonly resyncPools: () => void,
  ) {}

  async run(): Promise<ScanResult> {
    const started = performance.now();
    const index = this.index();
    const keys = new Set(index.owners());
    for (const object of this.caches().endpoints?.list() ?? []) {
      const ep = object as SpiderEndpoint;
      keys.add(`${ep.metadata.namespace}/${ep.metadata.name}`);
    }
    const result: ScanResult = { identities: keys.size, released: 0, endpointsDeleted: 0, failed: 0 };
    for (const key of keys) {
      const owner = parseOwnerKey(key);
      if (!owner) continue;
      try {
        const out = await this.gc.reconcileOwner(owner, 'scan');
        result.released += out.released;
        if (out.endpointDeleted) result.endpointsDeleted++;
      } catch (error) {
        result.failed++;
        this.log.error('scan: an identity could not be collected; the next scan tries again', {
          controller: 'scan',
          object: key,
          error,
        });
      }
    }
    for (const { pool, error } of index.unreadable())
      this.log.warn('scan: pool records cannot be read; its addresses are not collected', {
        controller: 'scan',
        object: pool,
        error,
      });
    this.resyncPools();
    this.log.info('full scan done', {
      controller: 'scan',
      ...result,
      ms: Math.round(performance.now() - started),
    });
    if (result.failed > 0) throw new Error(`${result.failed} of ${result.identities} identities failed`);
    return result;
  }
}
