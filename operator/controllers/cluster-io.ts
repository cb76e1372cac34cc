// The operator controllers' API calls beyond finalizers and status of watched objects: pool record
// writes (release, reassign) through the one optimistic read-modify-write loop, endpoint updates
// and deletions guarded by resourceVersion or UID, and fresh reads that confirm what a cache says
// is gone before anything is released because of it. ClusterIO is the OperatorStore the controllers
// depend on (operator-store.ts); it runs over the API server's objects (RestObjects below) or, in unit
// tests, over an in-memory OperatorObjects, with the same guard and the same retries either way.
import type { V1Namespace, V1Node, V1ObjectMeta, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type {
  IPAMClaim,
  SpiderEndpoint,
  SpiderIPPool,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../api/index.js';
import type { PoolStatusUpdate } from '../../ipam/allocation/pool-state.js';
import { BuiltinApi } from '../../kube/builtin.js';
import { isNotFound, isUidConflict, unlessNotFound } from '../../kube/errors.js';
import { IpamClaimApi } from '../../kube/ipamclaim.js';
import { KubeVirtApi } from '../../kube/kubevirt.js';
import { readModifyWrite } from '../../kube/optimistic.js';
import { RestClient } from '../../kube/rest.js';
import { SpiderpoolApi } from '../../kube/spiderpool.js';
import type { OperatorObjects, OperatorStore } from './operator-store.js';

export class ClusterIO implements OperatorStore {
  private readonly objects: OperatorObjects;

  constructor(
    /** The API server (through the REST layer), or any other OperatorObjects. */
    source: RestClient | OperatorObjects,
    /** Throws NotLeaderError when this replica may not write. */
    private readonly guard: (what: string) => void,
  ) {
    this.objects = source instanceof RestClient ? new RestObjects(source) : source;
  }

  /**
   * Reads pool `name` and writes the status `change` makes of it, retrying on conflicts with a fresh
   * read; returns the last decision, or undefined when the pool is gone.
   */
  async changePool<T extends PoolStatusUpdate>(
    name: string,
    what: string,
    change: (pool: SpiderIPPool) => T,
  ): Promise<T | undefined> {
    return readModifyWrite(
      () => this.objects.pool(name),
      (pool: SpiderIPPool | undefined) => {
        if (!pool) return { result: undefined };
        const batch = change(pool);
        return batch.changed
          ? { write: { ...pool, status: batch.status }, result: batch }
          : { result: batch };
      },
      async (next) => {
        // Checked before every attempt: a replica that lost its Lease while retrying stops here.
        this.guard(`${what} in pool ${name}`);
        return next && this.objects.replacePoolStatus(next);
      },
    );
  }

  /** Deletes an endpoint, only the incarnation with this UID; gone already is fine. */
  async deleteEndpoint(namespace: string, name: string, uid: string): Promise<void> {
    this.guard(`delete SpiderEndpoint ${namespace}/${name}`);
    await this.objects.deleteEndpoint(namespace, name, uid);
  }

  /** Read-modify-write of an endpoint (no status subresource: a PUT of the whole object). */
  async changeEndpoint(
    namespace: string,
    name: string,
    what: string,
    change: (endpoint: SpiderEndpoint) => SpiderEndpoint | undefined,
  ): Promise<boolean> {
    return this.changeObject(
      () => this.objects.endpoint(namespace, name),
      change,
      `${what} of SpiderEndpoint ${namespace}/${name}`,
      (next) => this.objects.writeEndpoint(next),
    );
  }

  // Fresh reads, for confirming what a cache says is gone.

  podsIn(namespace: string): Promise<V1Pod[]> {
    return this.objects.podsIn(namespace);
  }

  endpoint(namespace: string, name: string): Promise<SpiderEndpoint | undefined> {
    return this.objects.endpoint(namespace, name);
  }

  /** The VMI (undefined when absent, or when KubeVirt is not installed at all). */
  vmi(namespace: string, name: string): Promise<VirtualMachineInstance | undefined> {
    return this.objects.vmi(namespace, name);
  }

  vm(namespace: string, name: string): Promise<VirtualMachine | undefined> {
    return this.objects.vm(namespace, name);
  }

  statefulSet(namespace: string, name: string): Promise<V1StatefulSet | undefined> {
    return this.objects.statefulSet(namespace, name);
  }

  namespace(name: string): Promise<V1Namespace | undefined> {
    return this.objects.namespace(name);
  }

  node(name: string): Promise<V1Node | undefined> {
    return this.objects.node(name);
  }

  replicaSetMeta(namespace: string, name: string): Promise<V1ObjectMeta | undefined> {
    return this.objects.replicaSetMeta(namespace, name);
  }

  /** An IPAMClaim (undefined when absent, or when its CRD is not installed). */
  ipamClaim(namespace: string, name: string): Promise<IPAMClaim | undefined> {
    return this.objects.ipamClaim(namespace, name);
  }

  /** Read-modify-write of an IPAMClaim's status (its subresource); a claim gone is left alone. */
  async changeClaimStatus(
    namespace: string,
    name: string,
    what: string,
    change: (claim: IPAMClaim) => IPAMClaim | undefined,
  ): Promise<boolean> {
    return this.changeObject(
      () => this.objects.ipamClaim(namespace, name),
      change,
      `${what} in the status of IPAMClaim ${namespace}/${name}`,
      (next) => this.objects.replaceClaimStatus(next),
    );
  }

  /**
   * Read-modify-write of one object that `change` may leave alone (undefined): true when it wrote.
   * An object gone is left alone; the guard is checked before every attempt.
   */
  private changeObject<T>(
    read: () => Promise<T | undefined>,
    change: (current: T) => T | undefined,
    what: string,
    write: (next: T) => Promise<T>,
  ): Promise<boolean> {
    return readModifyWrite(
      read,
      (current: T | undefined) => {
        const next = current ? change(current) : undefined;
        return next ? { write: next, result: true } : { result: false };
      },
      async (next) => {
        this.guard(what);
        return next && write(next);
      },
    );
  }
}

/** The API server's objects, one request each, through kube/'s typed calls. */
class RestObjects implements OperatorObjects {
  private readonly spiderpool: SpiderpoolApi;
  private readonly kubevirt: KubeVirtApi;
  private readonly builtin: BuiltinApi;
  private readonly claims: IpamClaimApi;

  constructor(rest: RestClient) {
    this.spiderpool = new SpiderpoolApi(rest);
    this.kubevirt = new KubeVirtApi(rest);
    this.builtin = new BuiltinApi(rest);
    this.claims = new IpamClaimApi(rest);
  }

  pool(name: string): Promise<SpiderIPPool | undefined> {
    return unlessNotFound(this.spiderpool.getPool(name));
  }

  replacePoolStatus(pool: SpiderIPPool): Promise<SpiderIPPool> {
    return this.spiderpool.replacePoolStatus(pool);
  }

  endpoint(namespace: string, name: string): Promise<SpiderEndpoint | undefined> {
    return unlessNotFound(this.spiderpool.getEndpoint(namespace, name));
  }

  writeEndpoint(endpoint: SpiderEndpoint): Promise<SpiderEndpoint> {
    return this.spiderpool.replaceEndpoint(endpoint);
  }

  async deleteEndpoint(namespace: string, name: string, uid: string): Promise<void> {
    await this.spiderpool.deleteEndpoint(namespace, name, uid).catch((err: unknown) => {
      if (!isNotFound(err) && !isUidConflict(err)) throw err;
    });
  }

  podsIn(namespace: string): Promise<V1Pod[]> {
    return this.builtin.listPods(namespace);
  }

  vmi(namespace: string, name: string): Promise<VirtualMachineInstance | undefined> {
    return this.kubevirt.getVMI(namespace, name);
  }

  vm(namespace: string, name: string): Promise<VirtualMachine | undefined> {
    return this.kubevirt.getVM(namespace, name);
  }

  statefulSet(namespace: string, name: string): Promise<V1StatefulSet | undefined> {
    return this.builtin.getStatefulSet(namespace, name);
  }

  namespace(name: string): Promise<V1Namespace | undefined> {
    return this.builtin.getNamespace(name);
  }

  node(name: string): Promise<V1Node | undefined> {
    return this.builtin.getNode(name);
  }

  async replicaSetMeta(namespace: string, name: string): Promise<V1ObjectMeta | undefined> {
    return (await this.builtin.getReplicaSet(namespace, name))?.metadata;
  }

  ipamClaim(namespace: string, name: string): Promise<IPAMClaim | undefined> {
    return this.claims.getClaim(namespace, name);
  }

  replaceClaimStatus(claim: IPAMClaim): Promise<IPAMClaim> {
    return this.claims.replaceClaimStatus(claim);
  }
}
