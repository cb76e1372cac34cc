// What the operator's controllers read and write, as interfaces, so that their release decisions can
// be driven without a control plane (test/unit/operator/controllers/release.test.ts). Two levels:
// - OperatorStore: what the controllers and the CLI call. Pool and endpoint writes are guarded
//   read-modify-writes (decided afresh on every 409, refused when this replica may not write),
//   and the reads are fresh reads that confirm what a cache says is gone.
// - OperatorObjects: one API call each, no guard, no retry. ClusterIO (cluster-io.ts) implements
//   OperatorStore over any OperatorObjects: the API server's (RestObjects there) or an in-memory one.
// They live here beside the controllers, not in kube/, because they are shaped by what the controllers
// decide with (ipam/'s pool status updates, which kube/ must not import: kube/ sits on api/ only),
// as the plugin's PluginStore lives beside its batch (cni/allocation/reads.ts). kube/ keeps what both
// sides share: the REST layer, the typed resource calls, the read-modify-write loop and the errors.
import type { V1Namespace, V1Node, V1ObjectMeta, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type {
  IPAMClaim,
  SpiderEndpoint,
  SpiderIPPool,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../api/index.js';
import type { PoolStatusUpdate } from '../../ipam/allocation/pool-state.js';

/** Fresh reads of one identity's world; undefined when the object is absent. */
export interface FreshReads {
  podsIn(namespace: string): Promise<V1Pod[]>;
  endpoint(namespace: string, name: string): Promise<SpiderEndpoint | undefined>;
  /** Also undefined when KubeVirt is not installed at all. */
  vmi(namespace: string, name: string): Promise<VirtualMachineInstance | undefined>;
  vm(namespace: string, name: string): Promise<VirtualMachine | undefined>;
  statefulSet(namespace: string, name: string): Promise<V1StatefulSet | undefined>;
  namespace(name: string): Promise<V1Namespace | undefined>;
  node(name: string): Promise<V1Node | undefined>;
  /** A ReplicaSet's metadata (its owner names the Deployment). */
  replicaSetMeta(namespace: string, name: string): Promise<V1ObjectMeta | undefined>;
  /** Also undefined when the IPAMClaim CRD is not installed. */
  ipamClaim(namespace: string, name: string): Promise<IPAMClaim | undefined>;
}

/** The operator's storage: guarded writes and fresh reads. */
export interface OperatorStore extends FreshReads {
  /**
   * Reads pool `name` and writes the status `change` makes of it, deciding again on every conflict;
   * returns the last decision, or undefined when the pool is gone. `what` names the write for the
   * not-leader refusal.
   */
  changePool<T extends PoolStatusUpdate>(
    name: string,
    what: string,
    change: (pool: SpiderIPPool) => T,
  ): Promise<T | undefined>;
  /** Read-modify-write of an endpoint; `change` returns undefined for "no write". True when written. */
  changeEndpoint(
    namespace: string,
    name: string,
    what: string,
    change: (endpoint: SpiderEndpoint) => SpiderEndpoint | undefined,
  ): Promise<boolean>;
  /** Deletes an endpoint, only the incarnation with this UID; gone already is fine. */
  deleteEndpoint(namespace: string, name: string, uid: string): Promise<void>;
  /** Read-modify-write of an IPAMClaim's status; `change` returns undefined for "no write". */
  changeClaimStatus(
    namespace: string,
    name: string,
    what: string,
    change: (claim: IPAMClaim) => IPAMClaim | undefined,
  ): Promise<boolean>;
}

/**
 * Single calls beneath OperatorStore. Guarded writes fail with the API's 409 (an ApiException, which
 * kube/errors.ts reads) when the resourceVersion they carry is stale.
 */
export interface OperatorObjects extends FreshReads {
  pool(name: string): Promise<SpiderIPPool | undefined>;
  /** Writes `pool.status`, guarded by `pool.metadata.resourceVersion`. */
  replacePoolStatus(pool: SpiderIPPool): Promise<SpiderIPPool>;
  /** Replaces the endpoint, guarded by `endpoint.metadata.resourceVersion`. */
  writeEndpoint(endpoint: SpiderEndpoint): Promise<SpiderEndpoint>;
  /** Deletes the endpoint with this UID only; gone, or held by a successor, is fine. */
  deleteEndpoint(namespace: string, name: string, uid: string): Promise<void>;
  /** Writes `claim.status`, guarded by `claim.metadata.resourceVersion`. */
  replaceClaimStatus(claim: IPAMClaim): Promise<IPAMClaim>;
}
