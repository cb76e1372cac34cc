// The operator controllers' API calls beyond finalizers and status of watched objects: pool record
// writes (release, reassign) through the one optimistic read-modify-write loop, endpoint updates
// and deletions guarded by resourceVersion or UID, and fresh reads that confirm what a cache says
// is gone before anything is released because of it.
import type {
  V1Namespace,
  V1Node,
  V1ObjectMeta,
  V1Pod,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import {
  apiVersion,
  group,
  kinds,
  kubevirtGroup,
  kubevirtKinds,
  kubevirtVersion,
  type SpiderEndpoint,
  type SpiderIPPool,
  type SpiderSubnet,
  type VirtualMachine,
  type VirtualMachineInstance,
  version,
} from '../../api/index.js';
import type { PoolStatusUpdate } from '../../ipam/allocation/pool-state.js';
import { isNotFound } from '../../kube/errors.js';
import { readModifyWrite } from '../../kube/optimistic.js';
import { resourcePath } from '../../kube/resource.js';
import type { RestClient } from '../../kube/rest.js';

const pools = { group, version, plural: kinds.ippool.plural };
const subnets = { group, version, plural: kinds.subnet.plural };
const endpoints = (namespace: string) => ({ group, version, plural: kinds.endpoint.plural, namespace });

async function orUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export class ClusterIO {
  constructor(
    private readonly rest: RestClient,
    /** Throws NotLeaderError when this replica may not write. */
    private readonly guard: (what: string) => void,
  ) {}

  /**
   * Reads pool `name` and writes the status `change` makes of it, retrying on conflicts with a fresh
   * read; returns the last decision, or undefined when the pool is gone.
   */
  async changePool<T extends PoolStatusUpdate>(
    name: string,
    what: string,
    change: (pool: SpiderIPPool) => T,
  ): Promise<T | undefined> {
    const path = resourcePath(pools, name);
    return readModifyWrite(
      () => orUndefined(this.rest.get<SpiderIPPool>(path)),
      (pool: SpiderIPPool | undefined) => {
        if (!pool) return { result: undefined };
        const batch = change(pool);
        return batch.changed
          ? { write: { ...pool, status: batch.status }, result: batch }
          : { result: batch };
      },
      async (next) => {
        this.guard(`${what} in pool ${name}`);
        await this.rest.request('PUT', resourcePath(pools, name, 'status'), {
          body: { apiVersion, kind: kinds.ippool.kind, metadata: next?.metadata, status: next?.status },
        });
        return next;
      },
    );
  }

  /** Deletes an endpoint, only the incarnation with this UID; gone already is fine. */
  async deleteEndpoint(namespace: string, name: string, uid: string): Promise<void> {
    this.guard(`delete SpiderEndpoint ${namespace}/${name}`);
    await this.rest
      .request('DELETE', resourcePath(endpoints(namespace), name), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } },
      })
      .catch((err: unknown) => {
        if (!isNotFound(err) && !isUidConflict(err)) throw err;
      });
  }

  /** Read-modify-write of an endpoint (no status subresource: a PUT of the whole object). */
  async changeEndpoint(
    namespace: string,
    name: string,
    what: string,
    change: (endpoint: SpiderEndpoint) => SpiderEndpoint | undefined,
  ): Promise<boolean> {
    const path = resourcePath(endpoints(namespace), name);
    return readModifyWrite(
      () => orUndefined(this.rest.get<SpiderEndpoint>(path)),
      (endpoint: SpiderEndpoint | undefined) => {
        const next = endpoint ? change(endpoint) : undefined;
        return next ? { write: next, result: true } : { result: false };
      },
      async (next) => {
        this.guard(`${what} of SpiderEndpoint ${namespace}/${name}`);
        return this.rest.request<SpiderEndpoint>('PUT', path, { body: next });
      },
    );
  }

  // Fresh reads, for confirming what a cache says is gone.

  async podsIn(namespace: string): Promise<V1Pod[]> {
    const list = await this.rest.get<{ items?: V1Pod[] }>(
      resourcePath({ group: '', version: 'v1', plural: 'pods', namespace }),
    );
    return list.items ?? [];
  }

  endpoint(namespace: string, name: string): Promise<SpiderEndpoint | undefined> {
    return orUndefined(this.rest.get<SpiderEndpoint>(resourcePath(endpoints(namespace), name)));
  }

  /** The VMI (undefined when absent, or when KubeVirt is not installed at all). */
  vmi(namespace: string, name: string): Promise<VirtualMachineInstance | undefined> {
    return this.kubevirtObject(kubevirtKinds.vmi.plural, namespace, name);
  }

  vm(namespace: string, name: string): Promise<VirtualMachine | undefined> {
    return this.kubevirtObject(kubevirtKinds.vm.plural, namespace, name);
  }

  private kubevirtObject<T>(plural: string, namespace: string, name: string): Promise<T | undefined> {
    const ref = { group: kubevirtGroup, version: kubevirtVersion, plural, namespace };
    return orUndefined(this.rest.get<T>(resourcePath(ref, name)));
  }

  statefulSet(namespace: string, name: string): Promise<V1StatefulSet | undefined> {
    const ref = { group: 'apps', version: 'v1', plural: 'statefulsets', namespace };
    return orUndefined(this.rest.get<V1StatefulSet>(resourcePath(ref, name)));
  }

  namespace(name: string): Promise<V1Namespace | undefined> {
    return orUndefined(
      this.rest.get<V1Namespace>(resourcePath({ group: '', version: 'v1', plural: 'namespaces' }, name)),
    );
  }

  node(name: string): Promise<V1Node | undefined> {
    return orUndefined(
      this.rest.get<V1Node>(resourcePath({ group: '', version: 'v1', plural: 'nodes' }, name)),
    );
  }

  // SpiderSubnet auto-pools (controllers/auto-pools.ts).

  pool(name: string): Promise<SpiderIPPool | undefined> {
    return orUndefined(this.rest.get<SpiderIPPool>(resourcePath(pools, name)));
  }

  subnet(name: string): Promise<SpiderSubnet | undefined> {
    return orUndefined(this.rest.get<SpiderSubnet>(resourcePath(subnets, name)));
  }

  /**
   * Reads subnet `name` and writes the status `change` makes of it (undefined: no write), retrying
   * on conflicts with a fresh read; returns what `change` returned last, undefined when the subnet is gone.
   */
  async changeSubnetStatus<R>(
    name: string,
    what: string,
    change: (subnet: SpiderSubnet) => { status?: SpiderSubnet['status']; result: R },
  ): Promise<R | undefined> {
    const path = resourcePath(subnets, name);
    return readModifyWrite(
      () => orUndefined(this.rest.get<SpiderSubnet>(path)),
      (subnet: SpiderSubnet | undefined) => {
        if (!subnet) return { result: undefined };
        const next = change(subnet);
        return next.status
          ? { write: { ...subnet, status: next.status }, result: next.result }
          : { result: next.result };
      },
      async (next) => {
        this.guard(`${what} in SpiderSubnet ${name}`);
        await this.rest.request('PUT', resourcePath(subnets, name, 'status'), {
          body: { apiVersion, kind: kinds.subnet.kind, metadata: next?.metadata, status: next?.status },
        });
        return next;
      },
    );
  }

  async createPool(pool: SpiderIPPool): Promise<SpiderIPPool> {
    this.guard(`create SpiderIPPool ${pool.metadata.name}`);
    return this.rest.request<SpiderIPPool>('POST', resourcePath(pools), {
      body: { apiVersion, kind: kinds.ippool.kind, ...pool },
    });
  }

  /** PUT of a whole pool, guarded by its resourceVersion (a 409 is the caller's). */
  async replacePool(pool: SpiderIPPool): Promise<SpiderIPPool> {
    this.guard(`update SpiderIPPool ${pool.metadata.name}`);
    return this.rest.request<SpiderIPPool>('PUT', resourcePath(pools, pool.metadata.name ?? ''), {
      body: { apiVersion, kind: kinds.ippool.kind, ...pool },
    });
  }

  /** A ReplicaSet's metadata (its Deployment), undefined when absent. */
  async replicaSetMeta(namespace: string, name: string): Promise<V1ObjectMeta | undefined> {
    const ref = { group: 'apps', version: 'v1', plural: 'replicasets', namespace };
    return (await orUndefined(this.rest.get<V1ReplicaSet>(resourcePath(ref, name))))?.metadata;
  }

  /** Deletes a pool, only the incarnation with this UID; gone already is fine. */
  async deletePool(name: string, uid: string): Promise<void> {
    this.guard(`delete SpiderIPPool ${name}`);
    await this.rest
      .request('DELETE', resourcePath(pools, name), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } },
      })
      .catch((err: unknown) => {
        if (!isNotFound(err) && !isUidConflict(err)) throw err;
      });
  }
}

/** A UID precondition that failed: the name is held by another object now (a successor). */
function isUidConflict(err: unknown): boolean {
  const body = (err as { body?: unknown }).body;
  return (
    (err as { code?: number }).code === 409 &&
    typeof body === 'string' &&
    body.includes('Precondition failed')
  );
}
