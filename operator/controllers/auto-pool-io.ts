// The API calls of SpiderSubnet auto-pools (auto-pools.ts): pools created, resized and deleted, and
// the subnet's status accounting (`controlledIPPools`) written through the one optimistic
// read-modify-write loop. Every write is refused when this replica does not lead. Apart from ClusterIO
// (the identity GC's store) because these calls change pool specs and subnets, which nothing else in
// the operator writes.
import type { SpiderIPPool, SpiderSubnet } from '../../api/index.js';
import { isNotFound, isUidConflict, unlessNotFound } from '../../kube/errors.js';
import { readModifyWrite } from '../../kube/optimistic.js';
import type { RestClient } from '../../kube/rest.js';
import { SpiderpoolApi } from '../../kube/spiderpool.js';

/** What the auto-pool controller reads and writes. */
export interface AutoPoolStore {
  pool(name: string): Promise<SpiderIPPool | undefined>;
  subnet(name: string): Promise<SpiderSubnet | undefined>;
  /**
   * Reads subnet `name` and writes the status `change` makes of it (no status: no write), deciding
   * again on every conflict; returns what `change` returned last, undefined when the subnet is gone.
   */
  changeSubnetStatus<R>(
    name: string,
    what: string,
    change: (subnet: SpiderSubnet) => { status?: SpiderSubnet['status']; result: R },
  ): Promise<R | undefined>;
  createPool(pool: SpiderIPPool): Promise<SpiderIPPool>;
  /** PUT of a whole pool, guarded by its resourceVersion (a 409 is the caller's). */
  replacePool(pool: SpiderIPPool): Promise<SpiderIPPool>;
  /** Deletes a pool, only the incarnation with this UID; gone already is fine. */
  deletePool(name: string, uid: string): Promise<void>;
}

export class AutoPoolIO implements AutoPoolStore {
  private readonly spiderpool: SpiderpoolApi;

  constructor(
    rest: RestClient,
    /** Throws NotLeaderError when this replica may not write. */
    private readonly guard: (what: string) => void,
  ) {
    this.spiderpool = new SpiderpoolApi(rest);
  }

  pool(name: string): Promise<SpiderIPPool | undefined> {
    return unlessNotFound(this.spiderpool.getPool(name));
  }

  subnet(name: string): Promise<SpiderSubnet | undefined> {
    return unlessNotFound(this.spiderpool.getSubnet(name));
  }

  async changeSubnetStatus<R>(
    name: string,
    what: string,
    change: (subnet: SpiderSubnet) => { status?: SpiderSubnet['status']; result: R },
  ): Promise<R | undefined> {
    return readModifyWrite(
      () => this.subnet(name),
      (subnet: SpiderSubnet | undefined) => {
        if (!subnet) return { result: undefined };
        const next = change(subnet);
        return next.status
          ? { write: { ...subnet, status: next.status }, result: next.result }
          : { result: next.result };
      },
      async (next) => {
        this.guard(`${what} in SpiderSubnet ${name}`);
        return next && this.spiderpool.replaceSubnetStatus(next);
      },
    );
  }

  createPool(pool: SpiderIPPool): Promise<SpiderIPPool> {
    this.guard(`create SpiderIPPool ${pool.metadata.name}`);
    return this.spiderpool.createPool(pool);
  }

  replacePool(pool: SpiderIPPool): Promise<SpiderIPPool> {
    this.guard(`update SpiderIPPool ${pool.metadata.name}`);
    return this.spiderpool.replacePool(pool);
  }

  async deletePool(name: string, uid: string): Promise<void> {
    this.guard(`delete SpiderIPPool ${name}`);
    await this.spiderpool.deletePool(name, uid).catch((err: unknown) => {
      if (!isNotFound(err) && !isUidConflict(err)) throw err;
    });
  }
}
