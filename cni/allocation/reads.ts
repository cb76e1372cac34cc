// Every API call the leader makes, with a deadline each (a hung API server must not hang the node's
// pods) and brief retries of answers that mean "not now" (429, 503; kube/transient.ts), and the reads
// of one batch memoized: ten pods of one namespace read it once, a pool is read once however many
// requests need it, and the reserved IPs are listed once per batch. Pools are read by name (GET),
// never listed whole: their statuses hold one record per allocated address. Wildcards list the
// names only (a metadata-only list), Spiderpool's rule 5 lists the pools with spec.default through
// the CRD's selectable field. All through kube/rest.ts, the REST layer the operator uses too. Only the
// leader loads this module, so only it pays for @kubernetes/client-node (the kubeconfig).
import type { V1Namespace, V1ObjectMeta, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type {
  IPAMClaim,
  SpiderEndpoint,
  SpiderIPPool,
  SpiderReservedIP,
  VirtualMachine,
  VirtualMachineInstance,
  VirtualMachineInstanceMigration,
} from '../../api/index.js';
import { BuiltinApi } from '../../kube/builtin.js';
import { apiStatus, describeApiError, isConflict, isNotFound } from '../../kube/errors.js';
import { IpamClaimApi } from '../../kube/ipamclaim.js';
import { KubeVirtApi } from '../../kube/kubevirt.js';
import type { RestClient } from '../../kube/rest.js';
import { SpiderpoolApi } from '../../kube/spiderpool.js';
import { retryTransient } from '../../kube/transient.js';
import { withDeadline } from '../kube-access.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import { fromApiError } from './errors.js';
import { type PoolNeeds, poolsMatching } from './pool-needs.js';

/** Each API call's own limit. */
export const callTimeoutMs = 10_000;

/**
 * The plugin's RBAC is installed with it, so a 403 is first taken for an API server that has just
 * started and not yet synced its RBAC cache, and retried for a few seconds (kube/transient.ts); a 403
 * that lasts is code 105, and STATUS reports it.
 */
const retry = { forbidden: true };

/** Spiderpool's rule 5: the pools with spec.default (a selectable field of the CRD since 1.32). */
export const defaultPoolSelector = 'spec.default=true';

/** The message of a field selector the API server refused: the CRD predates selectableFields. */
export function unselectable(what: string, err: unknown): string {
  return `${what}: ${describeApiError(err)}: the SpiderIPPool CRD must declare spec.default a selectable field (this project's crds/, Kubernetes 1.32 or newer)`;
}

async function call<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline(retryTransient(work, retry), callTimeoutMs, what);
  } catch (err) {
    throw fromApiError(err, what);
  }
}

async function orUndefined<T>(what: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await withDeadline(retryTransient(work, retry), callTimeoutMs, what);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw fromApiError(err, what);
  }
}

/**
 * A write whose 409 (or whatever else `passOn` accepts) is left as the API's for readModifyWrite;
 * other failures are CniErrors naming the call.
 */
async function guardedWrite<T>(
  what: string,
  work: () => Promise<T>,
  passOn: (err: unknown) => boolean = isConflict,
): Promise<T> {
  try {
    return await withDeadline(retryTransient(work, retry), callTimeoutMs, what);
  } catch (err) {
    if (passOn(err)) throw err;
    throw fromApiError(err, what);
  }
}

/**
 * What a batch reads and writes, by what it is for: PluginApi against the API server, or an in-memory
 * store in unit tests. Errors are CniErrors naming the call, except a 409 of a guarded write
 * (replacePoolStatus, writeEndpoint), which is left as the API's for readModifyWrite.
 */
export type PluginStore = Omit<PluginApi, 'server' | 'warm' | ClaimCalls> &
  Partial<Pick<PluginApi, ClaimCalls>>;

/** A store may lack IPAMClaims (an in-memory one that serves none); the API server's has them. */
type ClaimCalls = 'ipamClaim' | 'replaceClaimStatus';

/** The plugin's API calls, by what they are for. Errors are CniErrors naming the call. */
export class PluginApi {
  readonly server: string;
  private readonly spiderpool: SpiderpoolApi;
  private readonly kubevirt: KubeVirtApi;
  private readonly builtin: BuiltinApi;
  private readonly claims: IpamClaimApi;

  constructor(private readonly rest: RestClient) {
    this.server = rest.server;
    this.spiderpool = new SpiderpoolApi(rest);
    this.kubevirt = new KubeVirtApi(rest);
    this.builtin = new BuiltinApi(rest);
    this.claims = new IpamClaimApi(rest);
  }

  /** Opens the connection (TLS) ahead of the first batch with the cheapest request there is. */
  async warm(): Promise<void> {
    await withDeadline(this.rest.get('/version'), callTimeoutMs, 'reading /version');
  }

  pod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return call(`reading pod ${namespace}/${name}`, () => this.builtin.getPod(namespace, name));
  }

  namespace(name: string): Promise<V1Namespace | undefined> {
    return call(`reading namespace ${name}`, () => this.builtin.getNamespace(name));
  }

  async nodeLabels(name: string): Promise<Record<string, string> | undefined> {
    const node = await call(`reading node ${name}`, () => this.builtin.getNode(name));
    return node ? (node.metadata?.labels ?? {}) : undefined;
  }

  async replicaSet(namespace: string, name: string): Promise<V1ObjectMeta | undefined> {
    const what = `reading replicaset ${namespace}/${name}`;
    return (await call(what, () => this.builtin.getReplicaSet(namespace, name)))?.metadata;
  }

  async job(namespace: string, name: string): Promise<V1ObjectMeta | undefined> {
    const what = `reading job ${namespace}/${name}`;
    return (await call(what, () => this.builtin.getJob(namespace, name)))?.metadata;
  }

  statefulSet(namespace: string, name: string): Promise<V1StatefulSet | undefined> {
    const what = `reading statefulset ${namespace}/${name}`;
    return call(what, () => this.builtin.getStatefulSet(namespace, name));
  }

  /** Every pool's name, from a metadata-only list (no spec, no status); `fromCache`: see ListOptions. */
  async poolNames({ fromCache = false } = {}): Promise<string[]> {
    const list = await call('listing the names of spiderippools', () =>
      this.spiderpool.listPoolMetadata({ fromCache }),
    );
    return list.items.flatMap((item) => (item.metadata.name ? [item.metadata.name] : []));
  }

  /**
   * The pools with spec.default, selected by the API server (the CRD's selectable field), from its
   * watch cache: a batch checks such pools before it trusts them (batch.ts, writePool).
   */
  async defaultPools(): Promise<SpiderIPPool[]> {
    const what = `listing spiderippools with fieldSelector ${defaultPoolSelector}`;
    const list = await call(what, () =>
      this.spiderpool.listPools(undefined, defaultPoolSelector, { fromCache: true }).catch((err: unknown) => {
        // A 400 here means the CRD does not declare the selectable field; say so.
        if (apiStatus(err) === 400) throw new CniError(ErrorCode.apiFailure, unselectable(what, err));
        throw err;
      }),
    );
    return list.items;
  }

  pool(name: string): Promise<SpiderIPPool | undefined> {
    return orUndefined(`reading spiderippool ${name}`, () => this.spiderpool.getPool(name));
  }

  /** The pools with these labels (an application's auto-pools: a few small pools). */
  async labelledPools(labelSelector: string): Promise<SpiderIPPool[]> {
    const what = `listing spiderippools with labelSelector ${labelSelector}`;
    return (await call(what, () => this.spiderpool.listPools(labelSelector))).items;
  }

  /** PUT /status guarded by the pool's resourceVersion; a 409 is left as it is for readModifyWrite. */
  replacePoolStatus(pool: SpiderIPPool): Promise<SpiderIPPool> {
    const what = `writing the status of spiderippool ${pool.metadata.name}`;
    return guardedWrite(what, () => this.spiderpool.replacePoolStatus(pool));
  }

  /**
   * From the API server's watch cache, as Spiderpool's agent reads them from its informer: a
   * consistent list waited up to 100 ms on every ADD at one call at a time (docs/cni.md, "Where an
   * ADD's time goes"), and a reservation is an administrator's, not raced by allocations.
   */
  async reservedIPs(): Promise<SpiderReservedIP[]> {
    const list = await call('listing spiderreservedips', () =>
      this.spiderpool.listReservedIPs({ fromCache: true }),
    );
    return list.items;
  }

  endpoint(namespace: string, name: string): Promise<SpiderEndpoint | undefined> {
    return orUndefined(`reading spiderendpoint ${namespace}/${name}`, () =>
      this.spiderpool.getEndpoint(namespace, name),
    );
  }

  /** Creates, or replaces guarded by its resourceVersion; 409s (and a replace's 404) are left for readModifyWrite. */
  writeEndpoint(endpoint: SpiderEndpoint): Promise<SpiderEndpoint> {
    const { namespace, name, resourceVersion } = endpoint.metadata;
    const what = `writing spiderendpoint ${namespace}/${name}`;
    const work = () =>
      resourceVersion ? this.spiderpool.replaceEndpoint(endpoint) : this.spiderpool.createEndpoint(endpoint);
    // A replaced endpoint that is gone was deleted since it was read: the caller reads it again.
    return guardedWrite(what, work, (err) => isConflict(err) || (!!resourceVersion && isNotFound(err)));
  }

  /**
   * Deletes the endpoint with this UID only. One already gone is fine, and so is a 409 from the UID
   * precondition: the endpoint of that name is another pod's now.
   */
  async deleteEndpoint(namespace: string, name: string, uid: string): Promise<void> {
    const what = `deleting spiderendpoint ${namespace}/${name}`;
    try {
      await withDeadline(
        retryTransient(() => this.spiderpool.deleteEndpoint(namespace, name, uid), retry),
        callTimeoutMs,
        what,
      );
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      throw fromApiError(err, what);
    }
  }

  vmi(namespace: string, name: string): Promise<VirtualMachineInstance | undefined> {
    return call(`reading virtualmachineinstance ${namespace}/${name}`, () =>
      this.kubevirt.getVMI(namespace, name),
    );
  }

  vm(namespace: string, name: string): Promise<VirtualMachine | undefined> {
    return call(`reading virtualmachine ${namespace}/${name}`, () => this.kubevirt.getVM(namespace, name));
  }

  migration(namespace: string, name: string): Promise<VirtualMachineInstanceMigration | undefined> {
    return call(`reading virtualmachineinstancemigration ${namespace}/${name}`, () =>
      this.kubevirt.getMigration(namespace, name),
    );
  }

  /** An IPAMClaim; undefined when it (or its CRD) does not exist. */
  ipamClaim(namespace: string, name: string): Promise<IPAMClaim | undefined> {
    return call(`reading ipamclaim ${namespace}/${name}`, () => this.claims.getClaim(namespace, name));
  }

  /** PUT /status guarded by the claim's resourceVersion; a 409 is left as it is for readModifyWrite. */
  replaceClaimStatus(claim: IPAMClaim): Promise<IPAMClaim> {
    const { namespace = '', name = '' } = claim.metadata;
    const what = `writing the status of ipamclaim ${namespace}/${name}`;
    return guardedWrite(what, () => this.claims.replaceClaimStatus(claim));
  }
}

/** How many pools a scan reads at a time. */
export const scanConcurrency = 4;

/**
 * The reads of one batch, each made once however many requests need it. Pools named in `carried`
 * (as the leader's previous batch left them) are taken from there instead of read, and Spiderpool's
 * rule 5 lists its pools from the API server's cache; the batch checks both before it trusts them
 * (cni/allocation/batch.ts, writePool).
 */
export class BatchReads {
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly unverified = new Map<string, SpiderIPPool>();

  constructor(
    readonly api: PluginStore,
    private readonly carried?: ReadonlyMap<string, SpiderIPPool>,
  ) {}

  /**
   * The object this batch took for pool `name` without a consistent read (carried from the
   * previous batch, or listed from the API server's cache), if it did.
   */
  unverifiedPool(name: string): SpiderIPPool | undefined {
    return this.unverified.get(name);
  }

  private adoptUnverified(pool: SpiderIPPool): SpiderIPPool {
    const adopted = this.adopt(pool);
    if (adopted === pool) this.unverified.set(pool.metadata.name ?? '', pool);
    return adopted;
  }

  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let promise = this.memo.get(key) as Promise<T> | undefined;
    if (!promise) {
      promise = read();
      this.memo.set(key, promise);
    }
    return promise;
  }

  pod(namespace: string, name: string) {
    return this.once(`pod/${namespace}/${name}`, () => this.api.pod(namespace, name));
  }

  namespace(name: string) {
    return this.once(`namespace/${name}`, () => this.api.namespace(name));
  }

  nodeLabels(name: string) {
    return this.once(`node/${name}`, () => this.api.nodeLabels(name));
  }

  replicaSet(namespace: string, name: string) {
    return this.once(`rs/${namespace}/${name}`, () => this.api.replicaSet(namespace, name));
  }

  job(namespace: string, name: string) {
    return this.once(`job/${namespace}/${name}`, () => this.api.job(namespace, name));
  }

  statefulSet(namespace: string, name: string) {
    return this.once(`sts/${namespace}/${name}`, () => this.api.statefulSet(namespace, name));
  }

  /** Each pool object read in this batch, the first one read of each name (so every request sees one). */
  private readonly poolsRead = new Map<string, SpiderIPPool>();
  /** What this batch read of the pools, for its log line. */
  readonly poolStats = { gets: 0, carried: 0, nameLists: 0, defaultLists: 0, scanned: 0 };

  private adopt(pool: SpiderIPPool): SpiderIPPool {
    const name = pool.metadata.name ?? '';
    const known = this.poolsRead.get(name);
    if (known) return known;
    this.poolsRead.set(name, pool);
    return pool;
  }

  /** One pool by name; undefined when it does not exist. */
  pool(name: string): Promise<SpiderIPPool | undefined> {
    return this.once(`pool/${name}`, async () => {
      const kept = this.carried?.get(name);
      if (kept) {
        this.poolStats.carried++;
        return this.adoptUnverified(kept);
      }
      this.poolStats.gets++;
      const pool = await this.api.pool(name);
      return pool ? this.adopt(pool) : undefined;
    });
  }

  /**
   * Every pool's name. For a wildcard from the API server's cache (a pool created a moment ago may be
   * missing, as from an informer); a scan for a release's records lists consistently.
   */
  poolNames({ fromCache = false } = {}): Promise<string[]> {
    return this.once(fromCache ? 'pool-names-cached' : 'pool-names', () => {
      this.poolStats.nameLists++;
      return this.api.poolNames({ fromCache });
    });
  }

  defaultPools(): Promise<SpiderIPPool[]> {
    return this.once('default-pools', async () => {
      this.poolStats.defaultLists++;
      return (await this.api.defaultPools()).map((p) => this.adoptUnverified(p));
    });
  }

  labelledPools(labelSelector: string): Promise<SpiderIPPool[]> {
    return this.once(`pools-labelled/${labelSelector}`, async () =>
      (await this.api.labelledPools(labelSelector)).map((p) => this.adopt(p)),
    );
  }

  /** The pools `needs` names, matches or selects, each once; pools that do not exist are left out. */
  async poolsFor(needs: PoolNeeds): Promise<SpiderIPPool[]> {
    const matched = async () =>
      needs.patterns.length === 0
        ? []
        : Promise.all(
            poolsMatching(needs.patterns, await this.poolNames({ fromCache: true })).map((n) => this.pool(n)),
          );
    const [named, wild, defaults, labelled] = await Promise.all([
      Promise.all(needs.names.map((n) => this.pool(n))),
      matched(),
      needs.defaults ? this.defaultPools() : [],
      Promise.all((needs.selectors ?? []).map((s) => this.labelledPools(s))),
    ]);
    const out = new Map<string, SpiderIPPool>();
    for (const pool of [...named, ...wild, ...defaults, ...labelled.flat()])
      if (pool) out.set(pool.metadata.name ?? '', pool);
    return [...out.values()];
  }

  /**
   * Every pool that `keep` accepts, read one by one (a few at a time) after a metadata-only list:
   * the pools it does not keep are dropped at once, so memory holds a few pools at a time instead of
   * one list of them all. For the rare release that cannot tell where its records are.
   */
  async scanPools(keep: (pool: SpiderIPPool) => boolean): Promise<SpiderIPPool[]> {
    const names = await this.poolNames();
    const kept: SpiderIPPool[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < names.length; i = next++) {
        const name = names[i] as string;
        let pool = this.poolsRead.get(name);
        if (!pool) {
          this.poolStats.scanned++;
          pool = await this.api.pool(name);
        }
        if (pool && keep(pool)) kept.push(this.adopt(pool));
      }
    };
    await Promise.all(Array.from({ length: Math.min(scanConcurrency, names.length) }, worker));
    return kept;
  }

  /** Every pool this batch has read, by name. */
  pools(): ReadonlyMap<string, SpiderIPPool> {
    return this.poolsRead;
  }

  reservedIPs() {
    return this.once('reserved', () => this.api.reservedIPs());
  }

  endpoint(namespace: string, name: string) {
    return this.once(`se/${namespace}/${name}`, () => this.api.endpoint(namespace, name));
  }

  vmi(namespace: string, name: string) {
    return this.once(`vmi/${namespace}/${name}`, () => this.api.vmi(namespace, name));
  }

  vm(namespace: string, name: string) {
    return this.once(`vm/${namespace}/${name}`, () => this.api.vm(namespace, name));
  }

  migration(namespace: string, name: string) {
    return this.once(`vmim/${namespace}/${name}`, () => this.api.migration(namespace, name));
  }

  ipamClaim(namespace: string, name: string) {
    return this.once(`ipamclaim/${namespace}/${name}`, async () => this.api.ipamClaim?.(namespace, name));
  }
}
