// One in-memory store for the unit tests of both executables' storage interfaces: the plugin's
// PluginStore (cni/allocation/reads.ts, the node leader's batch) and the operator's OperatorObjects
// (operator/controllers/operator-store.ts, beneath ClusterIO). It keeps objects in maps, checks
// resourceVersions on guarded writes like the API server (a stale one is a 409), honours finalizers
// on delete, records every write that took effect, and fails the next writes on cue.
import {
  ApiException,
  type KubernetesObject,
  type V1Namespace,
  type V1Node,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type {
  IPAMClaim,
  SpiderEndpoint,
  SpiderIPPool,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../api/index.js';
import type { PluginStore } from '../../cni/allocation/reads.js';
import type { Logger } from '../../kube/log.js';
import type { OperatorObjects } from '../../operator/controllers/operator-store.js';
import type { Lister } from '../../operator/framework/operator.js';

const clone = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

export const conflict = () => new ApiException(409, 'Conflict', JSON.stringify({ reason: 'Conflict' }), {});

/**
 * A fault for the next pool status write: 'conflict' (another writer got there first), a function
 * (another writer got there first with this change to the stored pool), or an error to throw.
 */
export type PoolWriteFault = 'conflict' | ((stored: SpiderIPPool) => void) | Error;

/** Objects keyed `<namespace>/<name>` (cluster-scoped ones by name). */
type Objects<T> = Map<string, T>;

export class MemoryStore implements PluginStore, OperatorObjects {
  readonly pods: Objects<V1Pod> = new Map();
  readonly namespaces: Objects<V1Namespace> = new Map();
  readonly nodes: Objects<V1Node> = new Map();
  readonly statefulSets: Objects<V1StatefulSet> = new Map();
  readonly vms: Objects<VirtualMachine> = new Map();
  readonly vmis: Objects<VirtualMachineInstance> = new Map();
  readonly pools: Objects<SpiderIPPool> = new Map();
  readonly endpoints: Objects<SpiderEndpoint> = new Map();
  readonly claims: Objects<IPAMClaim> = new Map();
  /** Faults to inject into the next writes, in order. */
  readonly failPoolWrites: PoolWriteFault[] = [];
  readonly failEndpointWrites: Error[] = [];
  readonly failEndpointDeletes: Error[] = [];
  /** The writes that took effect, in order: `pool <name>`, `endpoint <key>`, `delete endpoint <key>`. */
  readonly writes: string[] = [];
  private version = 1;

  private nextVersion(): string {
    this.version += 1;
    return String(this.version);
  }

  async pod(namespace: string, name: string) {
    return clone(this.pods.get(`${namespace}/${name}`));
  }
  async podsIn(namespace: string) {
    return [...this.pods.values()].filter((p) => p.metadata?.namespace === namespace).map(clone);
  }
  async namespace(name: string) {
    return clone(this.namespaces.get(name));
  }
  async node(name: string) {
    return clone(this.nodes.get(name));
  }
  async nodeLabels(name: string) {
    return this.nodes.get(name)?.metadata?.labels ?? {};
  }
  async replicaSet() {
    return undefined;
  }
  async replicaSetMeta() {
    return undefined;
  }
  async job() {
    return undefined;
  }
  async statefulSet(namespace: string, name: string) {
    return clone(this.statefulSets.get(`${namespace}/${name}`));
  }
  async poolNames() {
    return [...this.pools.keys()];
  }
  async defaultPools() {
    return [...this.pools.values()].filter((p) => p.spec.default).map(clone);
  }
  /** Pools carrying every `key=value` of a label selector (the plugin's auto-pool lookup). */
  async labelledPools(selector: string) {
    const wanted = selector.split(',').map((kv) => kv.split('=') as [string, string]);
    return [...this.pools.values()]
      .filter((p) => wanted.every(([k, v]) => p.metadata.labels?.[k] === v))
      .map(clone);
  }
  async pool(name: string) {
    return clone(this.pools.get(name));
  }
  async replacePoolStatus(pool: SpiderIPPool) {
    const name = pool.metadata.name ?? '';
    const fault = this.failPoolWrites.shift();
    if (fault instanceof Error) throw fault;
    if (fault) {
      // Another writer got there first: the stored pool moves on, this write is refused.
      const stored = this.pools.get(name) as SpiderIPPool;
      if (typeof fault === 'function') fault(stored);
      stored.metadata.resourceVersion = this.nextVersion();
      throw conflict();
    }
    const stored = this.pools.get(name);
    if (!stored || stored.metadata.resourceVersion !== pool.metadata.resourceVersion) throw conflict();
    const written = clone({ ...stored, status: pool.status });
    written.metadata.resourceVersion = this.nextVersion();
    this.pools.set(name, written);
    this.writes.push(`pool ${name}`);
    return clone(written);
  }
  async reservedIPs() {
    return [];
  }
  async endpoint(namespace: string, name: string) {
    return clone(this.endpoints.get(`${namespace}/${name}`));
  }
  /** Creates (no resourceVersion) or replaces (guarded by it) an endpoint. */
  async writeEndpoint(endpoint: SpiderEndpoint) {
    const key = `${endpoint.metadata.namespace}/${endpoint.metadata.name}`;
    const fault = this.failEndpointWrites.shift();
    if (fault) throw fault;
    const stored = this.endpoints.get(key);
    if ((stored?.metadata.resourceVersion ?? undefined) !== endpoint.metadata.resourceVersion)
      throw conflict();
    const written = clone(endpoint);
    written.metadata.resourceVersion = this.nextVersion();
    written.metadata.uid ??= `uid-${key}`;
    this.endpoints.set(key, written);
    this.writes.push(`endpoint ${key}`);
    return clone(written);
  }
  /** Only the incarnation with `uid`; one with finalizers is marked deleted, as the API server does. */
  async deleteEndpoint(namespace: string, name: string, uid: string) {
    const key = `${namespace}/${name}`;
    const fault = this.failEndpointDeletes.shift();
    if (fault) throw fault;
    const stored = this.endpoints.get(key);
    if (stored?.metadata.uid !== uid) return;
    if (stored.metadata.deletionTimestamp) return;
    if (stored.metadata.finalizers?.length) {
      stored.metadata.deletionTimestamp = new Date();
      stored.metadata.resourceVersion = this.nextVersion();
    } else this.endpoints.delete(key);
    this.writes.push(`delete endpoint ${key}`);
  }
  async vmi(namespace: string, name: string) {
    return clone(this.vmis.get(`${namespace}/${name}`));
  }
  async vm(namespace: string, name: string) {
    return clone(this.vms.get(`${namespace}/${name}`));
  }
  async migration() {
    return undefined;
  }
  async ipamClaim(namespace: string, name: string) {
    return clone(this.claims.get(`${namespace}/${name}`));
  }
  /** Writes the claim's status, guarded by its resourceVersion. */
  async replaceClaimStatus(claim: IPAMClaim) {
    const key = `${claim.metadata.namespace}/${claim.metadata.name}`;
    const stored = this.claims.get(key);
    if (!stored) throw new ApiException(404, 'Not Found', JSON.stringify({ reason: 'NotFound' }), {});
    if (stored.metadata.resourceVersion !== claim.metadata.resourceVersion) throw conflict();
    const written = { ...clone(stored), status: clone(claim.status) };
    written.metadata.resourceVersion = this.nextVersion();
    this.claims.set(key, written);
    this.writes.push(`claim ${key}`);
    return clone(written);
  }
}

/** A watch cache's lookups over one of the store's maps, always in step with it. */
export function lister(objects: Objects<KubernetesObject>): Lister {
  return {
    get: (key) => objects.get(key),
    getByUid: (uid) => [...objects.values()].find((o) => o.metadata?.uid === uid),
    list: () => [...objects.values()],
  };
}

/** A logger that drops every line. */
export const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => quiet,
};
