// The node-local leader's batch: every request of the plugin processes waiting on this node (ADDs and
// releases) is served with one set of reads, one guarded write per pool and round, and one write per
// SpiderEndpoint. The order is what keeps a process killed at any point harmless:
//   1. reads (pods, their owners, namespaces, endpoints, the pools the requests need by name, reserved
//      IPs, KubeVirt objects; see pool-needs.ts for which pools);
//   2. decisions by ipam/ (identity, reuse from the endpoint, candidates, filters, order);
//   3. pool writes in rounds, each pool once per round with readModifyWrite (a 409 reads that pool
//      again and decides again for the requests it concerns); a want whose pool is exhausted moves
//      to its next pool in the next round; a request that fails gives back what it got;
//   4. endpoint writes (finalizer, ownerReference to the Pod for stateless identities), then the
//      status of each IPAMClaim an attachment is keyed to (its addresses and the pod they went to);
//   5. answers.
// Every record carries its pod's UID before any endpoint mentions it, so a leader killed between 3
// and 4 leaves records that a retried ADD reuses (same owner, UID and NIC), that a DEL finds by UID,
// and that the operator can attribute to a pod.
import type { V1Pod } from '@kubernetes/client-node';
import {
  type IPAMClaim,
  ipamClaimReferenceKey,
  labels,
  type SpiderEndpoint,
  type SpiderIPPool,
} from '../../api/index.js';
import type { Family } from '../../ipam/address/ip.js';
import type { AllocationOutcome } from '../../ipam/allocation/allocate.js';
import type { ReleaseRequest as PoolReleaseRequest } from '../../ipam/allocation/release.js';
import { applicationOfPool } from '../../ipam/autopool/application.js';
import { namesSubnet } from '../../ipam/autopool/request.js';
import { podNamesPools } from '../../ipam/candidates/candidates.js';
import { IpamError } from '../../ipam/errors.js';
import { filterInputsNeeded } from '../../ipam/filter/filters.js';
import { claimConditionReasons, claimStatusAfterFailure } from '../../ipam/identity/claim-condition.js';
import { identityOf } from '../../ipam/identity/identity.js';
import { claimIdentity, claimReferenceOf, claimStatusAfter } from '../../ipam/identity/ipamclaim.js';
import { migrationMarks } from '../../ipam/identity/migration.js';
import { topControllerLookup } from '../../ipam/identity/owners.js';
import { vmIdentityValidity } from '../../ipam/identity/validity.js';
import type { MultusSettings } from '../../ipam/multus/networks.js';
import type { NicNetwork } from '../../ipam/network/nic-network.js';
import { poolFamily, reservedSet } from '../../ipam/pool/space.js';
import type { IntervalSet } from '../../ipam/ranges/intervals.js';
import { decodeRecords, type PoolRecord } from '../../ipam/records/codec.js';
import { isConflict, isNotFound } from '../../kube/errors.js';
import { readModifyWrite } from '../../kube/optimistic.js';
import { RestClient } from '../../kube/rest.js';
import type { Answer, BatchHandler } from '../coordination/coordinate.js';
import { pluginKubeConfig } from '../kube-access.js';
import type { Logger } from '../log/logger.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import {
  type AddInput,
  type AddPlan,
  migrationInProgress,
  networksOf,
  planAdd,
  resultOf,
  summary,
  wantsOf,
} from './add-plan.js';
import { claimFailureReason, writeClaimStatus } from './claim-status.js';
import { type EndpointChange, endpointAfterAdd, endpointAfterRelease } from './endpoint-plan.js';
import { asCniError } from './errors.js';
import { decidePool } from './pool-decision.js';
import { addNeeds, noPools, releasePools } from './pool-needs.js';
import { BatchReads, callTimeoutMs, PluginApi, type PluginStore } from './reads.js';
import {
  planRelease,
  type ReleasePlan,
  releaseSubject,
  type SubjectReads,
  subjectNeedsRecords,
} from './release-plan.js';
import type {
  AddAnswer,
  AddRequest,
  PluginAnswer,
  PluginRequest,
  ReleaseAnswer,
  ReleaseRequest,
} from './requests.js';
import { type Held, WantTracker } from './wants.js';

/** User + system CPU milliseconds of this process since `start`. */
function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return Math.round((used.user + used.system) / 100) / 10;
}

/** Points of a batch a test may stop a leader at (see observeStages). */
export type Stage = 'before-pool-write' | 'after-pool-write' | 'after-endpoint-write';

let stageObserver: ((stage: Stage, batchSize: number) => void) | undefined;

/** Lets a test binary act at the stages of every batch (e.g. SIGKILL itself); production sets none. */
export function observeStages(observer: (stage: Stage, batchSize: number) => void): void {
  stageObserver = observer;
}

export interface LeaderOptions {
  kubeconfigPath: string;
  nodeName: string;
  /** Multus's namespace and cluster default network, from the node configuration. */
  multus: MultusSettings;
  log: Logger;
  /** How long the writes of one batch may keep retrying conflicts. */
  writeDeadlineMs?: number;
  /** The most records a pool may hold (conf.yml ippoolMaxAllocatedIPs); the core's default without it. */
  maxAllocatedIPs?: number;
}

export const defaultWriteDeadlineMs = 20_000;

/** A leader's batches: the handler for coordinate(), and a way to open its API connection ahead. */
export interface Leader {
  handleBatch: BatchHandler<PluginRequest, PluginAnswer>;
  /** Loads the kubeconfig and opens the connection to the API server before the first batch. */
  warm(): Promise<void>;
}

/**
 * The batches of one leading process: the API client is made on the first batch (or warm()), and the
 * pools each batch read or wrote are carried to the next one (see CarriedPools).
 */
export function leader(opts: LeaderOptions): Leader {
  let api: PluginApi | undefined;
  const carried: CarriedPools = new Map();
  const connect = (): PluginApi => {
    if (!api) {
      const started = performance.now();
      api = new PluginApi(new RestClient(pluginKubeConfig(opts.kubeconfigPath), callTimeoutMs));
      opts.log.debug('api client', { setupMs: Math.round(performance.now() - started) });
    }
    return api;
  };
  return {
    handleBatch: async (requests) => {
      let store: PluginApi;
      try {
        store = connect();
      } catch (err) {
        const error = new CniError(ErrorCode.tryAgainLater, (err as Error).message);
        return requests.map(() => ({ ok: false, error: { message: error.message, code: error.code } }));
      }
      return runBatch(store, opts, requests, carried);
    },
    warm: async () => connect().warm(),
  };
}

/** The batch handler for coordinate(): loads the API client on the first batch this process leads. */
export function batchHandler(opts: LeaderOptions): BatchHandler<PluginRequest, PluginAnswer> {
  return leader(opts).handleBatch;
}

export type BatchOptions = Omit<LeaderOptions, 'kubeconfigPath'>;

/**
 * Pools as the previous batches of this leader last saw them (read, or as their guarded write
 * returned them), by name. A batch of ADDs takes a carried pool instead of reading it again; since
 * the leader writes every pool it allocates from guarded by the resourceVersion it saw, a pool that
 * someone else changed meanwhile answers that write with a 409 and is read again (see writePool).
 * A batch with a release reads every pool afresh: which pools hold a pod's records is read from them.
 */
export type CarriedPools = Map<string, SpiderIPPool>;

/** Serves one batch of requests against `store` (the API server's, or a test's in-memory one). */
export function runBatch(
  store: PluginStore,
  opts: BatchOptions,
  requests: PluginRequest[],
  carried?: CarriedPools,
): Promise<Answer<PluginAnswer>[]> {
  return new Batch(store, opts, requests, carried).run();
}

interface PreparedAdd {
  kind: 'add';
  request: AddRequest;
  input: AddInput;
  plan: AddPlan;
}

interface PreparedRelease {
  kind: 'release';
  request: ReleaseRequest;
  plan: ReleasePlan;
}

type Prepared = PreparedAdd | PreparedRelease;

interface PoolWork {
  releases: { request: number; req: PoolReleaseRequest }[];
  wants: number[];
}

class PoolGone extends Error {}

/** A pool whose spec changed since it was carried or listed: the requests were planned on the old one. */
class PoolSpecChanged extends CniError {
  constructor(name: string) {
    super(
      ErrorCode.tryAgainLater,
      `pool ${name} was changed (its spec) since this node's leader read it; the retry decides on the new one`,
    );
  }
}

class Batch {
  private readonly reads: BatchReads;
  private readonly answers: (Answer<PluginAnswer> | undefined)[];
  private readonly prepared: (Prepared | undefined)[];
  private readonly released: string[][];
  private readonly deadline: number;
  private snapshots = new Map<string, SpiderIPPool>();
  private reservedByFamily = new Map<Family, IntervalSet>();
  private tracker = new WantTracker([]);
  private readonly stats = { rounds: 0, poolWrites: 0, conflicts: 0, endpointWrites: 0 };
  /** Pools whose last write or read failed: not carried to the next batch. */
  private readonly uncarried = new Set<string>();

  constructor(
    private readonly api: PluginStore,
    private readonly opts: BatchOptions,
    private readonly requests: PluginRequest[],
    private readonly carried?: CarriedPools,
  ) {
    const releases = requests.some((r) => r.verb !== 'ADD');
    this.reads = new BatchReads(api, releases ? undefined : carried);
    this.answers = requests.map(() => undefined);
    this.prepared = requests.map(() => undefined);
    this.released = requests.map(() => []);
    this.deadline = Date.now() + (opts.writeDeadlineMs ?? defaultWriteDeadlineMs);
  }

  private fail(index: number, err: unknown, what: string): void {
    if (this.answers[index]) return;
    const error = asCniError(err, what);
    this.answers[index] = { ok: false, error: { message: error.message, code: error.code } };
    if (error.code === ErrorCode.internal)
      this.opts.log.error('request failed', { error: error.message, stack: (err as Error)?.stack });
  }

  private describe(index: number): string {
    const r = this.requests[index] as PluginRequest;
    return `${r.verb === 'ADD' ? 'ADD' : r.reason} of pod ${r.pod.namespace}/${r.pod.name}`;
  }

  /**
   * Starts the reads every request is likely to need, all at once, so a batch waits for one round
   * trip instead of a chain: the reserved IPs, and per request its pod, its namespace, the endpoint
   * named after it (the identity's name unless the pod is a VM's launcher) and the pools its
   * attachment record names. Which other pools a request needs is known once its pod, namespace and
   * endpoint are. Each read is memoized, so the requests' own reads pick these up; a failed prefetch
   * fails only the requests that need it, there.
   */
  private prefetch(): void {
    const quiet = (read: Promise<unknown>) => {
      read.catch(() => undefined);
    };
    if (this.requests.some((r) => r.verb === 'ADD')) quiet(this.reads.reservedIPs());
    for (const request of this.requests) {
      const { pod, verb } = request;
      quiet(this.reads.pod(pod.namespace, pod.name));
      quiet(this.reads.endpoint(pod.namespace, pod.name));
      if (verb === 'ADD') quiet(this.reads.namespace(pod.namespace));
      else for (const name of request.pools ?? []) quiet(this.reads.pool(name));
    }
  }

  async run(): Promise<Answer<PluginAnswer>[]> {
    const started = performance.now();
    const cpu = process.cpuUsage();
    this.prefetch();
    await Promise.all(
      this.requests.map(async (request, i) => {
        try {
          this.prepared[i] =
            request.verb === 'ADD' ? await this.prepareAdd(request) : await this.prepareRelease(request);
        } catch (err) {
          this.fail(i, err, this.describe(i));
        }
      }),
    );
    try {
      await this.loadPoolContext();
      await this.writePools();
      const networks = this.networks();
      await this.rollBackFailed();
      await this.writeEndpoints(networks);
      await this.writeClaims(networks);
      this.answerAll(networks);
    } catch (err) {
      this.requests.forEach((_, i) => {
        this.fail(i, err, this.describe(i));
      });
    }
    await this.reportClaimFailures();
    this.carryPools();
    this.opts.log.info('batch', {
      size: this.requests.length,
      failed: this.answers.filter((a) => a && !a.ok).length,
      ...this.stats,
      poolsRead: [...this.reads.pools().keys()].sort(),
      poolReads: this.reads.poolStats,
      ms: Math.round(performance.now() - started),
      // The leading process's CPU while the batch ran (its sockets' work for other followers too).
      cpuMs: cpuMsSince(cpu),
    });
    return this.answers.map(
      (a) => a ?? { ok: false, error: { message: 'no answer', code: ErrorCode.internal } },
    );
  }

  /** Hands the pools as this batch last saw them to the next batch of this leader. */
  private carryPools(): void {
    if (!this.carried) return;
    for (const [name, pool] of this.snapshots)
      if (this.uncarried.has(name)) this.carried.delete(name);
      else this.carried.set(name, pool);
  }

  // ---- 1 and 2: reads and decisions ----

  private async prepareAdd(request: AddRequest): Promise<PreparedAdd> {
    const { namespace, name } = request.pod;
    const pod = await this.reads.pod(namespace, name);
    if (!pod) throw new CniError(ErrorCode.podNotServed, `pod ${namespace}/${name} not found`);
    const claim = await this.claimOf(request, pod);
    const identity = claim
      ? claimIdentity(pod, claim.metadata.name ?? '')
      : identityOf(pod, request.switches);
    const lookup = topControllerLookup(pod.metadata ?? {});
    const marks = migrationMarks(pod);
    const vm = identity.kind === 'kubevirt-vm';
    const namesPools = podNamesPools(pod);
    // The pools depend on the endpoint and the namespace (both usually prefetched); the identity's
    // other reads go on meanwhile.
    const intermediateRead =
      !identity.static && lookup
        ? lookup.kind === 'ReplicaSet'
          ? this.reads.replicaSet(namespace, lookup.name)
          : this.reads.job(namespace, lookup.name)
        : undefined;
    // A pod that names a SpiderSubnet takes its application's auto-pools: its application is
    // known once the ReplicaSet or Job its controller reference names is read.
    const namesSubnetPools = namesSubnet(pod.metadata?.annotations);
    const poolsRead = Promise.all([
      this.reads.endpoint(namespace, identity.name),
      namesPools ? undefined : this.reads.namespace(namespace),
      namesSubnetPools ? intermediateRead : undefined,
    ]).then(([endpoint, ns, intermediate]) =>
      this.reads.poolsFor(
        addNeeds({
          request,
          pod,
          identity,
          ...(ns ? { namespace: ns } : {}),
          ...(endpoint ? { endpoint } : {}),
          ...(intermediate ? { intermediate } : {}),
        }),
      ),
    );
    // The pod a claim's status names as its holder, when that is another pod: it may still run.
    const holder = claim?.status?.ownerPod;
    const [pools, intermediate, endpoint, vmi, migration, claimHolder] = await Promise.all([
      poolsRead,
      intermediateRead,
      this.reads.endpoint(namespace, identity.name),
      vm ? this.reads.vmi(namespace, identity.name) : undefined,
      (vm || claim) && marks?.migrationJobName
        ? this.reads.migration(namespace, marks.migrationJobName)
        : undefined,
      holder && holder !== name ? this.reads.pod(namespace, holder) : undefined,
    ]);
    const needs = filterInputsNeeded(pools);
    const [ns, nodeLabels] = await Promise.all([
      !namesPools || needs.namespaceLabels ? this.reads.namespace(namespace) : undefined,
      needs.nodeLabels ? this.reads.nodeLabels(this.opts.nodeName) : undefined,
    ]);
    const input: AddInput = { request, nodeName: this.opts.nodeName, multus: this.opts.multus, pod, pools };
    if (intermediate) input.intermediate = intermediate;
    if (ns) input.namespace = ns;
    if (nodeLabels) input.nodeLabels = nodeLabels;
    if (endpoint) input.endpoint = endpoint;
    if (claim) {
      input.claim = claim;
      input.activeMigration = migrationInProgress(pod, migration);
      if (claimHolder) input.claimHolder = claimHolder;
    }
    if (vm) {
      const vmObject =
        !vmi || vmi.metadata.deletionTimestamp ? await this.reads.vm(namespace, identity.name) : undefined;
      input.vmValidity = vmIdentityValidity(vmi, vmObject);
      input.activeMigration = migrationInProgress(pod, migration);
    }
    return { kind: 'add', request, input, plan: planAdd(input) };
  }

  /**
   * The IPAMClaim the attachment's network selection element references, read. A reference with the
   * feature off is a configuration error; a claim not there (yet) is "try again later", since
   * kubevirt-ipam-controller may create it just after the pod.
   */
  private async claimOf(request: AddRequest, pod: V1Pod): Promise<IPAMClaim | undefined> {
    const name = claimReferenceOf(pod, request.ifname, this.opts.multus);
    if (!name) return undefined;
    const { namespace, name: podName } = request.pod;
    const where = `${ipamClaimReferenceKey} ${JSON.stringify(name)} in the network selection element of ${request.ifname} of pod ${namespace}/${podName}`;
    if (!request.switches.enableIPAMClaim) {
      throw new CniError(
        ErrorCode.invalidNetworkConfig,
        `${where}: IPAMClaim support is off (conf.yml enableIPAMClaim, values ipam.enableIPAMClaim)`,
      );
    }
    const claim = await this.reads.ipamClaim(namespace, name);
    if (!claim)
      throw new CniError(ErrorCode.tryAgainLater, `IPAMClaim ${namespace}/${name} not found (${where})`);
    return claim;
  }

  private async prepareRelease(request: ReleaseRequest): Promise<PreparedRelease> {
    const { namespace, name } = request.pod;
    const [pod, podEndpoint] = await Promise.all([
      this.reads.pod(namespace, name),
      this.reads.endpoint(namespace, name),
    ]);
    const podUid = request.pod.uid ?? pod?.metadata?.uid;
    // A gone pod's identity may have to be told from its records, before its endpoint is known.
    const early =
      podUid && subjectNeedsRecords(request, pod)
        ? await this.releasePoolsRead(request, podUid, [podEndpoint])
        : undefined;
    const recordsOf = (uid: string) => this.recordsOf(early?.pools ?? [], uid);
    let decision = releaseSubject(request, pod, recordsOf);
    // Records under another name than the pod's are a VM's, unless a pod of that name holds the UID:
    // then the request's pod name was not that pod's (inconsistent arguments), and the pod that does
    // hold the records decides, alive or not.
    const holderName = 'subject' in decision && decision.subject.name;
    if (holderName && holderName !== name && !request.identity) {
      const holder = await this.reads.pod(namespace, holderName);
      if (holder?.metadata?.uid === podUid)
        decision = releaseSubject(
          { ...request, pod: { ...request.pod, name: holderName } },
          holder,
          recordsOf,
        );
    }
    if ('keep' in decision) return { kind: 'release', request, plan: { kind: 'keep', ...decision.keep } };
    const subject = decision.subject;
    const vm = subject.kind === 'kubevirt-vm';
    const sts = subject.statefulSet;
    const [endpoint, vmi, statefulSet] = await Promise.all([
      this.reads.endpoint(namespace, subject.name),
      vm ? this.reads.vmi(namespace, subject.name) : undefined,
      sts && subject.kind !== 'stateless' && subject.kind !== 'kubevirt-vm'
        ? this.reads.statefulSet(namespace, sts)
        : undefined,
    ]);
    // The pools that hold the records: a scan above found them all; otherwise those the endpoints
    // and the attachment record name (or a scan when they say nothing).
    if (!early?.scanned) await this.releasePoolsRead(request, subject.podUid, [podEndpoint, endpoint]);
    const reads: SubjectReads = {};
    if (endpoint) reads.endpoint = endpoint;
    if (statefulSet) reads.statefulSet = statefulSet;
    if (vmi) reads.vmi = vmi;
    if (vm && (!vmi || vmi.metadata.deletionTimestamp)) {
      const vmObject = await this.reads.vm(namespace, subject.name);
      if (vmObject) reads.vm = vmObject;
    }
    return { kind: 'release', request, plan: planRelease(request, subject, reads) };
  }

  /** Reads the pools a release's records may be in (see releasePools); a scan keeps only those naming the UID. */
  private async releasePoolsRead(
    request: ReleaseRequest,
    podUid: string,
    endpoints: (SpiderEndpoint | undefined)[],
  ): Promise<{ pools: SpiderIPPool[]; scanned: boolean }> {
    const where = releasePools(request, podUid, endpoints);
    if (where.kind === 'named')
      return { pools: await this.reads.poolsFor({ ...noPools, names: where.names }), scanned: false };
    this.opts.log.info('reading every pool for a release', {
      pod: `${request.pod.namespace}/${request.pod.name}`,
      why: where.reason,
    });
    // The records are JSON naming the UID, so a pool without the UID's text holds none of its records.
    const pools = await this.reads.scanPools((pool) => pool.status?.allocatedIPs?.includes(podUid) ?? false);
    return { pools, scanned: true };
  }

  private recordsCache = new Map<string, PoolRecord[]>();

  /** The records a pod UID holds in the pools as listed (undecodable pools are left out). */
  private recordsOf(pools: readonly SpiderIPPool[], podUid: string): PoolRecord[] {
    const out: PoolRecord[] = [];
    for (const pool of pools) {
      const name = pool.metadata.name ?? '';
      let records = this.recordsCache.get(name);
      if (!records) {
        try {
          records = decodeRecords(name, pool.status?.allocatedIPs, poolFamily(pool));
        } catch {
          records = [];
        }
        this.recordsCache.set(name, records);
      }
      for (const r of records) if (r.podUid === podUid) out.push(r);
    }
    return out;
  }

  // ---- 3: pool writes ----

  private async loadPoolContext(): Promise<void> {
    const busy = this.prepared.some((p) => p && (p.kind === 'release' || p.plan.kind === 'allocate'));
    if (!busy) return;
    const reserved = await this.reads.reservedIPs();
    this.snapshots = new Map(this.reads.pools());
    for (const family of [4, 6] as const) this.reservedByFamily.set(family, reservedSet(reserved, family));
  }

  private reservedFor(pool: SpiderIPPool): IntervalSet | undefined {
    try {
      return this.reservedByFamily.get(poolFamily(pool));
    } catch {
      return undefined;
    }
  }

  private async writePools(): Promise<void> {
    const wants = this.prepared.flatMap((p, i) =>
      p?.kind === 'add' && p.plan.kind === 'allocate' && !this.answers[i] ? wantsOf(i, p.plan) : [],
    );
    this.tracker = new WantTracker(wants);
    const releases = new Map<string, PoolWork['releases']>();
    this.prepared.forEach((p, i) => {
      if (p?.kind !== 'release' || p.plan.kind !== 'release' || this.answers[i]) return;
      for (const [name, pool] of this.snapshots) {
        const uid = p.plan.requests[0]?.podUid;
        if (!uid || !this.recordsOf([pool], uid).some((r) => r.pod === (p.plan as { owner: string }).owner))
          continue;
        const list = releases.get(name) ?? [];
        for (const req of p.plan.requests) list.push({ request: i, req });
        releases.set(name, list);
      }
    });
    let first = true;
    for (;;) {
      const work = new Map<string, PoolWork>();
      for (const [name, indexes] of this.tracker.pending()) work.set(name, { releases: [], wants: indexes });
      if (first) {
        for (const [name, list] of releases) {
          const entry = work.get(name) ?? { releases: [], wants: [] };
          entry.releases = list;
          work.set(name, entry);
        }
      }
      first = false;
      if (work.size === 0) break;
      await this.round(work);
    }
  }

  private async round(work: Map<string, PoolWork>): Promise<void> {
    this.stats.rounds++;
    stageObserver?.('before-pool-write', this.requests.length);
    await Promise.all([...work].map(([name, w]) => this.writePool(name, w)));
    stageObserver?.('after-pool-write', this.requests.length);
  }

  private async writePool(name: string, work: PoolWork): Promise<void> {
    let useSnapshot = this.snapshots.has(name);
    const allocations = this.tracker.requests(work.wants);
    const releases = work.releases.map((x) => x.req);
    const decide = (pool: SpiderIPPool) => {
      const reserved = this.reservedFor(pool);
      return decidePool(pool, releases, allocations, {
        ...(reserved ? { reserved } : {}),
        ...(this.opts.maxAllocatedIPs ? { maxAllocatedIPs: this.opts.maxAllocatedIPs } : {}),
      });
    };
    // A pool taken without a consistent read (carried, or listed from the cache) is only as good
    // as the write that checks it: a decision on it that writes nothing (an address already held,
    // the pool full) is taken again on the pool read afresh.
    const unverified = useSnapshot ? this.reads.unverifiedPool(name) : undefined;
    if (unverified && this.snapshots.get(name) === unverified) {
      try {
        if (!decide(unverified).changed) useSnapshot = false;
      } catch {
        useSnapshot = false;
      }
    }
    let outcome: { released: PoolRecord[][]; outcomes: AllocationOutcome[] } = { released: [], outcomes: [] };
    try {
      await readModifyWrite(
        async () => {
          if (useSnapshot) {
            useSnapshot = false;
            return this.snapshots.get(name) as SpiderIPPool;
          }
          const fresh = await this.api.pool(name);
          if (!fresh) throw new PoolGone(`pool ${name} not found`);
          this.snapshots.set(name, fresh);
          // The requests chose this pool by the spec they were given (selection, filters): a new
          // spec sends them back to choose again.
          if (unverified && fresh.metadata.generation !== unverified.metadata.generation)
            throw new PoolSpecChanged(name);
          return fresh;
        },
        (pool: SpiderIPPool) => {
          const decision = decide(pool);
          outcome = { released: decision.released, outcomes: decision.outcomes };
          return decision.changed ? { write: decision.pool, result: undefined } : { result: undefined };
        },
        async (next) => {
          const written = await this.api.replacePoolStatus(next);
          this.stats.poolWrites++;
          this.snapshots.set(name, written);
          return written;
        },
        {
          deadlineMs: Math.max(0, this.deadline - Date.now()),
          onConflict: () => {
            this.stats.conflicts++;
          },
        },
      );
    } catch (err) {
      // A pool that is gone or unreadable is skipped like an exhausted one; an API failure fails the
      // requests that needed this pool.
      this.uncarried.add(name);
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof PoolGone) {
        for (const i of work.wants) this.tracker.skipPool(i, message);
        return;
      }
      for (const i of work.wants) {
        if (err instanceof IpamError) {
          this.tracker.skipPool(i, message);
        } else {
          this.fail(this.tracker.wants[i]?.request ?? -1, err, `writing pool ${name}`);
          this.tracker.abandon(i, message);
        }
      }
      for (const { request } of work.releases) this.fail(request, err, `releasing from pool ${name}`);
      return;
    }
    work.wants.forEach((i, k) => {
      const o = outcome.outcomes[k];
      if (o) this.tracker.record(i, o);
    });
    work.releases.forEach(({ request }, k) => {
      for (const record of outcome.released[k] ?? []) this.released[request]?.push(record.ip);
    });
  }

  /** Requests that failed after some of their wants got new addresses give those back. */
  private async rollBackFailed(): Promise<void> {
    const failed = this.tracker.failedRequests();
    this.answers.forEach((a, i) => {
      if (a && !a.ok) failed.add(i);
    });
    const work = new Map<string, PoolWork>();
    this.tracker.wants.forEach((want, i) => {
      const held = this.tracker.held(i);
      if (!failed.has(want.request) || held?.kind !== 'allocated') return;
      const entry = work.get(held.pool) ?? { releases: [], wants: [] };
      entry.releases.push({
        request: want.request,
        req: { owner: want.owner, podUid: want.podUid, nic: want.nic, ip: held.ip },
      });
      work.set(held.pool, entry);
    });
    if (work.size === 0) return;
    try {
      await this.round(work);
    } catch (err) {
      this.opts.log.warn('giving back the addresses of failed requests failed', { error: String(err) });
    }
    this.answerFailedWants();
  }

  private answerFailedWants(): void {
    this.tracker.wants.forEach((want, i) => {
      const failure = this.tracker.failure(i);
      if (!failure || this.answers[want.request]) return;
      const auto = failure.kind === 'exhausted' ? this.autoPoolOf(want.pools) : undefined;
      if (auto) {
        // The operator grows an auto-pool as its application scales: the runtime's retry gets it.
        const app = `${auto.app.kind} ${auto.app.namespace}/${auto.app.name}`;
        this.fail(
          want.request,
          new CniError(
            ErrorCode.tryAgainLater,
            `IPv${want.family} for ${want.nic}: auto-pool ${auto.pool} of ${app} from SpiderSubnet ${auto.subnet} has no free address yet (the operator grows it with the application): ${failure.reasons.join('; ')}`,
          ),
          this.describe(want.request),
        );
        return;
      }
      const code = failure.kind === 'exhausted' ? ErrorCode.poolExhausted : ErrorCode.noPoolSelected;
      const what = failure.kind === 'exhausted' ? 'every pool is exhausted' : 'no pool is usable';
      this.fail(
        want.request,
        new CniError(code, `IPv${want.family} for ${want.nic}: ${what}: ${failure.reasons.join('; ')}`),
        this.describe(want.request),
      );
    });
  }

  /** The auto-pool a want's only pool is, with its application and subnet (rule 1 names one pool). */
  private autoPoolOf(pools: readonly string[]) {
    const name = pools.length === 1 ? pools[0] : undefined;
    const pool = name === undefined ? undefined : this.snapshots.get(name);
    const app = applicationOfPool(pool?.metadata.labels);
    if (!name || !app) return undefined;
    return { pool: name, app, subnet: pool?.metadata.labels?.[labels.ownerSpiderSubnet] ?? '' };
  }

  // ---- 4: endpoints ----

  private heldOf(request: number): (nic: string, family: Family) => Held | undefined {
    const indexes = this.tracker.ofRequest(request);
    return (nic, family) => {
      for (const i of indexes) {
        const w = this.tracker.wants[i];
        if (w?.nic === nic && w.family === family) return this.tracker.held(i);
      }
      return undefined;
    };
  }

  /** Each successful ADD's NIC settings, or its failure. */
  private networks(): Map<number, NicNetwork[]> {
    this.answerFailedWants();
    const out = new Map<number, NicNetwork[]>();
    this.prepared.forEach((p, i) => {
      if (p?.kind !== 'add' || this.answers[i]) return;
      if (p.plan.kind === 'migration-source') {
        out.set(i, [p.plan.network]);
        return;
      }
      try {
        const built = networksOf(p.plan, this.heldOf(i), this.snapshots);
        if (built.unmatchedRoutes.length) {
          this.opts.log.warn('pod routes match no interface of the pod and are left out', {
            pod: `${p.request.pod.namespace}/${p.request.pod.name}`,
            routes: built.unmatchedRoutes.map((r) => `${r.dst} via ${r.gw}`),
          });
        }
        out.set(i, built.networks);
      } catch (err) {
        this.fail(i, err, this.describe(i));
      }
    });
    return out;
  }

  private async writeEndpoints(networks: Map<number, NicNetwork[]>): Promise<void> {
    type Decide = (existing: SpiderEndpoint | undefined) => EndpointChange;
    const groups = new Map<string, { namespace: string; name: string; steps: [number, Decide][] }>();
    const add = (namespace: string, name: string, request: number, decide: Decide) => {
      const key = `${namespace}/${name}`;
      const group = groups.get(key) ?? { namespace, name, steps: [] };
      group.steps.push([request, decide]);
      groups.set(key, group);
    };
    this.prepared.forEach((p, i) => {
      if (!p || this.answers[i]) return;
      if (p.kind === 'release') {
        if (p.plan.kind !== 'release') return;
        const [namespace = '', name = ''] = p.plan.owner.split('/');
        const released = p.plan.endpoint;
        add(namespace, name, i, (existing) => endpointAfterRelease(existing, released));
        return;
      }
      if (p.plan.kind !== 'allocate') return;
      const identity = p.plan.identity;
      const nets = networks.get(i) ?? [];
      add(identity.namespace, identity.name, i, (existing) =>
        endpointAfterAdd(existing, identity, this.opts.nodeName, nets),
      );
    });
    await Promise.all(
      [...groups.values()].map(async ({ namespace, name, steps }) => {
        // Steps of one endpoint run in batch order, each deciding on what the previous one wrote.
        for (const [request, decide] of steps) {
          try {
            await this.writeEndpoint(namespace, name, decide);
          } catch (err) {
            this.fail(request, err, `writing spiderendpoint ${namespace}/${name}`);
          }
        }
      }),
    );
    stageObserver?.('after-endpoint-write', this.requests.length);
  }

  /** Endpoints as this batch last saw them; `stale` after a write was tried (it may have lost a race). */
  private readonly endpoints = new Map<string, { value: SpiderEndpoint | undefined; stale: boolean }>();

  private async writeEndpoint(
    namespace: string,
    name: string,
    decide: (existing: SpiderEndpoint | undefined) => EndpointChange,
  ): Promise<void> {
    const key = `${namespace}/${name}`;
    interface Step {
      existing: SpiderEndpoint | undefined;
      change?: EndpointChange;
    }
    await readModifyWrite(
      async (): Promise<Step> => {
        const known = this.endpoints.get(key);
        if (known && !known.stale) return { existing: known.value };
        const value = known
          ? await this.api.endpoint(namespace, name)
          : await this.reads.endpoint(namespace, name);
        this.endpoints.set(key, { value, stale: false });
        return { existing: value };
      },
      (step) => {
        const change = decide(step.existing);
        return change.kind === 'none'
          ? { result: undefined }
          : { write: { ...step, change }, result: undefined };
      },
      async (step) => {
        const { existing, change } = step;
        this.endpoints.set(key, { value: existing, stale: true });
        if (!change || change.kind === 'none') return step;
        const next = change.endpoint;
        let now: SpiderEndpoint | undefined = existing;
        const finalizersChanged =
          JSON.stringify(existing?.metadata.finalizers ?? []) !==
          JSON.stringify(next.metadata.finalizers ?? []);
        if (change.kind === 'write' || finalizersChanged) now = await this.api.writeEndpoint(next);
        if (change.kind === 'delete' && next.metadata.uid) {
          await this.api.deleteEndpoint(namespace, name, next.metadata.uid);
          now = undefined;
        }
        this.stats.endpointWrites++;
        this.endpoints.set(key, { value: now, stale: false });
        return { existing: now };
      },
      {
        deadlineMs: Math.max(0, this.deadline - Date.now()),
        // 404: the operator deleted the endpoint since it was read; reading again decides on its
        // absence (a release has nothing left to do, an ADD creates it anew).
        retryOn: (err) => isConflict(err) || isNotFound(err),
      },
    );
  }

  /**
   * The status of each IPAMClaim an ADD allocated or confirmed addresses for: `ips` (CIDR strings) and
   * `ownerPod`, as upstream's CRD has them. A live-migration target writes nothing (the source still
   * holds the claim). A failed write fails the ADD; its retry finds the addresses on the endpoint.
   */
  private async writeClaims(networks: Map<number, NicNetwork[]>): Promise<void> {
    await Promise.all(
      this.prepared.map(async (p, i) => {
        if (p?.kind !== 'add' || this.answers[i] || p.plan.kind !== 'allocate' || !p.input.claim) return;
        const network = networks.get(i)?.find((n) => n.nic === p.request.ifname);
        if (!network) return;
        const ips = network.ips.map((ip) => ip.address);
        const claim = p.input.claim;
        const podName = p.plan.identity.podName;
        try {
          await writeClaimStatus(
            this.api,
            claim,
            (current) => claimStatusAfter(current, ips, podName),
            Math.max(0, this.deadline - Date.now()),
          );
        } catch (err) {
          const { namespace, name } = claim.metadata;
          this.fail(i, err, `writing the status of ipamclaim ${namespace}/${name}`);
        }
      }),
    );
  }

  /**
   * The `IPsAllocated` condition False, with the reason and message, on the claim of each failed ADD
   * whose attachment references one (read again here when the failure came before the ADD's plan),
   * except a "try again" or a refusal for a claim in use while the claim has addresses. Only a report:
   * a failure to write it is logged and changes no answer.
   */
  private async reportClaimFailures(): Promise<void> {
    await Promise.all(
      this.requests.map(async (request, i) => {
        const answer = this.answers[i];
        if (request.verb !== 'ADD' || !request.switches.enableIPAMClaim || !answer || answer.ok) return;
        try {
          const claim = await this.failedClaim(request, i);
          const code = answer.error.code ?? ErrorCode.internal;
          const reason = claimFailureReason(code);
          // A retry is coming (a live-migration target before its source's ADD, say), or the claim is
          // another live pod's: a claim whose addresses are allocated keeps saying so.
          const allocated = (claim?.status?.ips.length ?? 0) > 0;
          if (
            !claim ||
            (allocated && (reason === claimConditionReasons.pending || code === ErrorCode.claimInUse))
          )
            return;
          const message = `pod ${request.pod.namespace}/${request.pod.name}, ${request.ifname}: ${answer.error.message}`;
          await writeClaimStatus(
            this.api,
            claim,
            (current) => claimStatusAfterFailure(current, reason, message, new Date()),
            Math.max(0, this.deadline - Date.now()),
          );
        } catch (err) {
          this.opts.log.warn('could not write the failure condition of an IPAMClaim', {
            pod: `${request.pod.namespace}/${request.pod.name}`,
            error: (err as Error).message,
          });
        }
      }),
    );
  }

  private async failedClaim(request: AddRequest, i: number): Promise<IPAMClaim | undefined> {
    const p = this.prepared[i];
    if (p?.kind === 'add') return p.input.claim;
    const pod = await this.reads.pod(request.pod.namespace, request.pod.name);
    const name = pod && claimReferenceOf(pod, request.ifname, this.opts.multus);
    return name ? this.reads.ipamClaim(request.pod.namespace, name) : undefined;
  }

  // ---- 5: answers ----

  private answerAll(networks: Map<number, NicNetwork[]>): void {
    this.prepared.forEach((p, i) => {
      if (!p || this.answers[i]) return;
      if (p.kind === 'release') {
        const answer: ReleaseAnswer = { released: this.released[i] ?? [] };
        if (p.plan.kind === 'keep') answer.kept = { because: p.plan.because, reason: p.plan.reason };
        this.answers[i] = { ok: true, value: answer };
        return;
      }
      const network = networks.get(i)?.find((n) => n.nic === p.request.ifname);
      if (!network || network.ips.length === 0) {
        this.fail(
          i,
          new CniError(ErrorCode.noPoolSelected, `no address was planned for interface ${p.request.ifname}`),
          this.describe(i),
        );
        return;
      }
      const plan = p.plan;
      const fresh = new Set<string>();
      for (const w of this.tracker.ofRequest(i)) {
        const held = this.tracker.held(w);
        if (held?.kind === 'allocated' && this.tracker.wants[w]?.nic === p.request.ifname) fresh.add(held.ip);
      }
      const answer: AddAnswer = {
        identity: summary(plan.identity),
        podUid: plan.identity.podUid,
        result: resultOf(network),
        source: plan.kind === 'migration-source' ? 'migration-source' : plan.source,
        probe: plan.kind === 'allocate' && plan.probe,
        releasable: network.ips.map((ip) => ip.ip).filter((ip) => !plan.identity.static || fresh.has(ip)),
        pools: [...new Set((networks.get(i) ?? []).flatMap((n) => n.ips.map((ip) => ip.pool)))],
      };
      this.answers[i] = { ok: true, value: answer };
    });
  }
}
