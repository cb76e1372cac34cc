// The API calls of SpiderSubnet auto-pools (auto-pools.ts): pools created, resized and deleted, the
// subnet's status accounting (`controlledIPPools`) written through the one optimistic
// read-modify-write loop, and third-party applications read (their kind found by API discovery). Every write is refused when this replica does not lead. Apart from ClusterIO
// (the identity GC's store) because these calls change pool specs and subnets, which nothing else in
// the operator writes.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { SpiderIPPool, SpiderSubnet } from '../../api/index.js';
import type { Application } from '../../ipam/autopool/application.js';
import { isNotFound, isUidConflict, unlessNotFound } from '../../kube/errors.js';
import { readModifyWrite } from '../../kube/optimistic.js';
import { resourcePath } from '../../kube/resource.js';
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
  /**
   * A third-party application object, read through API discovery (its kind's resource); undefined
   * when it, its kind or its API is gone.
   */
  application(app: Omit<Application, 'uid'>): Promise<KubernetesObject | undefined>;
}

interface ApiResourceList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
}

export class AutoPoolIO implements AutoPoolStore {
  private readonly spiderpool: SpiderpoolApi;

  constructor(
    private readonly rest: RestClient,
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

  /** apiVersion → kind → plural, as discovery answered (a kind not found is asked again next time). */
  private readonly plurals = new Map<string, Map<string, string>>();

  private async pluralOf(apiVersion: string, kind: string): Promise<string | undefined> {
    const known = this.plurals.get(apiVersion)?.get(kind);
    if (known) return known;
    const list = await unlessNotFound(this.rest.request<ApiResourceList>('GET', `/apis/${apiVersion}`));
    const kinds = new Map(
      (list?.resources ?? [])
        .filter((r) => r.namespaced && !r.name.includes('/'))
        .map((r) => [r.kind, r.name] as const),
    );
    this.plurals.set(apiVersion, kinds);
    return kinds.get(kind);
  }

  async application(app: Omit<Application, 'uid'>): Promise<KubernetesObject | undefined> {
    const plural = await this.pluralOf(app.apiVersion, app.kind);
    if (!plural) return undefined;
    const [group = '', version = ''] = app.apiVersion.split('/');
    return unlessNotFound(
      this.rest.request<KubernetesObject>(
        'GET',
        resourcePath({ group, version, plural, namespace: app.namespace }, app.name),
      ),
    );
  }

  async deletePool(name: string, uid: string): Promise<void> {
    this.guard(`delete SpiderIPPool ${name}`);
    await this.spiderpool.deletePool(name, uid).catch((err: unknown) => {
      if (!isNotFound(err) && !isUidConflict(err)) throw err;
    });
  }
}
