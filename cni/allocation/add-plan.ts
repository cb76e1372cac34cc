// What an ADD needs, decided from what the leader read: who holds the addresses (identity), whether
// they come from the SpiderEndpoint (a retry, another NIC of a pod already served, a static identity's
// new pod, a live-migration target) or are newly allocated, and from which pools in which order.
// Pure: objects in, a plan out; errors are CniErrors that say what is wrong with which pod or pool.
import type { V1Namespace, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import type {
  IPAllocationDetail,
  IPAMClaim,
  SpiderEndpoint,
  SpiderIPPool,
  VirtualMachineInstanceMigration,
} from '../../api/index.js';
import type { Family } from '../../ipam/address/ip.js';
import { applicationAffinityLabels } from '../../ipam/autopool/application.js';
import { namesSubnet } from '../../ipam/autopool/request.js';
import { autoPoolCandidates, podApplication } from '../../ipam/autopool/select.js';
import { selectCandidates } from '../../ipam/candidates/candidates.js';
import { claimRequestedAddresses } from '../../ipam/identity/claim-requests.js';
import { type Identity, identityOf } from '../../ipam/identity/identity.js';
import { claimIdentity, claimMismatch, claimValidity } from '../../ipam/identity/ipamclaim.js';
import { migrationMarks } from '../../ipam/identity/migration.js';
import { topController } from '../../ipam/identity/owners.js';
import { podAliveness, type Validity } from '../../ipam/identity/validity.js';
import type { MultusSettings } from '../../ipam/multus/networks.js';
import { buildNicNetworks, type NicNetwork, nicNetworkFromEndpoint } from '../../ipam/network/nic-network.js';
import { type ParsedRoute, podRoutes } from '../../ipam/network/routes.js';
import { planNics } from '../../ipam/selection/choose.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import type { CniResult } from '../protocol/result.js';
import type { AddRequest, IdentitySummary } from './requests.js';
import type { Held, Want } from './wants.js';

export interface AddInput {
  request: AddRequest;
  nodeName: string;
  /** How NICs map to Multus networks (a pool's `multusName`). */
  multus: MultusSettings;
  pod: V1Pod;
  /** The pod's Namespace, read when the pod names no pools or a pool has namespaceAffinity. */
  namespace?: V1Namespace;
  /** The ReplicaSet or Job the pod's controller reference names, when it was read. */
  intermediate?: V1ObjectMeta;
  /** The identity's SpiderEndpoint, if it exists. */
  endpoint?: SpiderEndpoint;
  /** For a KubeVirt VM identity: whether it is still valid (VMI and VM read). */
  vmValidity?: Validity;
  /** The IPAMClaim this attachment's network selection element references (read, it exists). */
  claim?: IPAMClaim;
  /** The pod the claim's `status.ownerPod` names, when that is another pod (read, it exists). */
  claimHolder?: V1Pod;
  /** For a launcher pod carrying migration marks: whether that migration is in progress. */
  activeMigration?: boolean;
  /** Every pool (wildcards, spec.default). */
  pools: readonly SpiderIPPool[];
  nodeLabels?: Record<string, string>;
}

export interface PlannedNic {
  nic: string;
  cleanGateway: boolean;
  /** `ip`: this address only (an IPAMClaim's spec.ipRequests), from the one pool named. */
  families: { family: Family; pools: string[]; ip?: string }[];
  /** The endpoint entry the addresses come from, when served from the endpoint. */
  stored?: IPAllocationDetail;
}

export type AddPlan =
  | { kind: 'migration-source'; identity: Identity; network: NicNetwork }
  | {
      kind: 'allocate';
      identity: Identity;
      source: 'endpoint' | 'allocated';
      /** Every NIC this ADD allocates or confirms (all of an `ipam.spidernet.io/ippools` pod). */
      nics: PlannedNic[];
      podRoutes: ParsedRoute[];
      probe: boolean;
    };

function podName(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

/**
 * Whether a launcher pod is the target of a live migration in progress. KubeVirt marks the target
 * pod with the migration's name (annotation) and UID (label) when it creates it, which is before the
 * VMI's migrationState names it, so the VirtualMachineInstanceMigration itself is what tells: it
 * exists, is the one the label names, and is not finished. A pod that was the target of an earlier,
 * finished migration keeps its marks and is an ordinary launcher pod again.
 */
export function migrationInProgress(
  pod: V1Pod,
  migration: VirtualMachineInstanceMigration | undefined,
): boolean {
  const marks = migrationMarks(pod);
  if (!marks?.migrationJobName || !migration || migration.metadata.deletionTimestamp) return false;
  if (marks.migrationJobUID && migration.metadata.uid !== marks.migrationJobUID) return false;
  const phase = migration.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

export function summary(identity: Identity): IdentitySummary {
  return { key: identity.key, kind: identity.kind, static: identity.static };
}

/** The families of an endpoint entry, each from the pool it names. */
function storedFamilies(entry: IPAllocationDetail): PlannedNic['families'] {
  const out: PlannedNic['families'] = [];
  if (entry.ipv4 && entry.ipv4Pool) out.push({ family: 4, pools: [entry.ipv4Pool] });
  if (entry.ipv6 && entry.ipv6Pool) out.push({ family: 6, pools: [entry.ipv6Pool] });
  return out;
}

/** The endpoint's entries, when the endpoint may serve this pod at all. */
export function servingEntries(
  endpoint: SpiderEndpoint | undefined,
  identity: Identity,
): IPAllocationDetail[] {
  const current = endpoint?.status?.current;
  if (!endpoint || !current || endpoint.metadata.deletionTimestamp) return [];
  // A stateless pod is served only from its own endpoint; one of an earlier pod of the same name is stale.
  if (!identity.static && current.uid !== identity.podUid) return [];
  return current.ips;
}

export function planAdd(input: AddInput): AddPlan {
  const { request, pod } = input;
  const alive = podAliveness(pod);
  if (!alive.valid)
    throw new CniError(ErrorCode.podNotServed, `pod ${podName(pod)}: ${alive.reason}; it gets no address`);
  const uid = pod.metadata?.uid;
  if (request.pod.uid && uid !== request.pod.uid) {
    throw new CniError(
      ErrorCode.podNotServed,
      `pod ${podName(pod)} has UID ${uid}, CNI_ARGS K8S_POD_UID names ${request.pod.uid} (a pod of the same name that is gone)`,
    );
  }
  const claim = input.claim;
  const identity = claim
    ? claimIdentity(pod, claim.metadata.name ?? '')
    : identityOf(pod, request.switches, topController(pod.metadata ?? {}, input.intermediate));
  const routes = podRoutes(pod);
  const entries = servingEntries(input.endpoint, identity);
  const entry = entries.find((e) => e.interface === request.ifname);

  if (claim) {
    const validity = claimValidity(claim);
    if (!validity.valid) {
      throw new CniError(
        ErrorCode.podNotServed,
        `IPAMClaim ${identity.key}: ${validity.reason}; pod ${podName(pod)} gets no address`,
      );
    }
    const mismatch = claimMismatch(claim, request.network, request.ifname);
    if (mismatch) throw new CniError(ErrorCode.invalidNetworkConfig, `pod ${podName(pod)}: ${mismatch}`);
    // A claim in use is not taken by another workload (what upstream added ownerPod for): two running
    // pods with one address would answer for it on the same network. A migration target shares it by
    // design (below); any other pod waits until the holder is gone.
    const holder = input.claimHolder;
    const holderUid = holder?.metadata?.uid;
    if (
      holder &&
      !input.activeMigration &&
      holderUid !== pod.metadata?.uid &&
      input.endpoint?.status?.current?.uid === holderUid &&
      podAliveness(holder).valid
    ) {
      throw new CniError(
        ErrorCode.claimInUse,
        `IPAMClaim ${identity.key} is held by pod ${podName(holder)}, which is alive; pod ${podName(pod)} gets its addresses once that pod is gone`,
      );
    }
  } else if (identity.kind === 'kubevirt-vm') {
    const validity = input.vmValidity;
    if (!validity?.valid) {
      throw new CniError(
        ErrorCode.podNotServed,
        `VM ${identity.key}: ${validity?.reason ?? 'its VMI and VM were not read'}; launcher pod ${podName(pod)} gets no address`,
      );
    }
  }
  // A live-migration target (a VM's, or one whose attachment references an IPAMClaim) shares the
  // addresses the source pod still runs with and takes nothing over: the operator moves the holder
  // when the migration succeeds (docs/kubevirt.md).
  if ((identity.kind === 'kubevirt-vm' || claim) && input.activeMigration) {
    if (!entry) {
      throw new CniError(
        ErrorCode.tryAgainLater,
        `live-migration target ${podName(pod)}: SpiderEndpoint ${identity.key} holds no addresses for ${request.ifname} yet`,
      );
    }
    return { kind: 'migration-source', identity, network: nicNetworkFromEndpoint(entry) };
  }

  const probe = request.switches.enableIPConflictDetection;
  if (entry) {
    const nics = entries.map((e) => ({
      nic: e.interface,
      cleanGateway: e.cleanGateway ?? false,
      families: storedFamilies(e),
      stored: e,
    }));
    return { kind: 'allocate', identity, source: 'endpoint', nics, podRoutes: routes, probe };
  }

  // Spiderpool's first rule: a pod that names a SpiderSubnet takes its application's auto-pool.
  const top = topController(pod.metadata ?? {}, input.intermediate);
  const app = podApplication(pod.metadata?.namespace ?? '', top);
  const candidates = namesSubnet(pod.metadata?.annotations)
    ? autoPoolCandidates({
        ifName: request.ifname,
        pod,
        app,
        autoPools: request.switches.autoPools ?? false,
        enableIPv4: request.switches.enableIPv4,
        enableIPv6: request.switches.enableIPv6,
        cleanGateway: request.cleanGateway,
        pools: input.pools,
      })
    : selectCandidates({
        ifName: request.ifname,
        pod,
        ...(input.namespace ? { namespace: input.namespace } : {}),
        cniConfig: {
          defaultIPv4IPPool: request.defaultIPv4Pools,
          defaultIPv6IPPool: request.defaultIPv6Pools,
          cleanGateway: request.cleanGateway,
        },
        enableIPv4: request.switches.enableIPv4,
        enableIPv6: request.switches.enableIPv6,
        pools: input.pools,
      });
  // NICs the endpoint already holds for this pod keep what they have (served by their own ADDs); a
  // claim holds the addresses of its own attachment only.
  const held = new Set(entries.map((e) => e.interface));
  const planned = planNics(
    candidates.nics.filter((n) => n.nic === request.ifname || (!claim && !held.has(n.nic))),
    input.pools,
    {
      pod,
      nodeName: input.nodeName,
      ...(input.nodeLabels ? { nodeLabels: input.nodeLabels } : {}),
      ...(input.namespace ? { namespaceLabels: input.namespace.metadata?.labels ?? {} } : {}),
      multus: input.multus,
      ...(app ? { applicationLabels: applicationAffinityLabels(app) } : {}),
    },
  );
  const requested = claim?.spec.ipRequests?.length
    ? claimRequestedAddresses(
        claim,
        planned.find((p) => p.nic === request.ifname)?.families ?? [],
        identity.key,
      )
    : undefined;
  if (requested && !requested.ok) {
    const code = requested.kind === 'held' ? ErrorCode.addressConflict : ErrorCode.invalidNetworkConfig;
    throw new CniError(code, `pod ${podName(pod)}: ${requested.message}`);
  }
  const nics = planned.map((p) => ({
    nic: p.nic,
    cleanGateway: p.cleanGateway,
    families: p.families.map((f) => {
      const asked =
        p.nic === request.ifname ? requested?.addresses.find((a) => a.family === f.family) : undefined;
      return asked
        ? { family: f.family, pools: [asked.pool], ip: asked.ip }
        : { family: f.family, pools: f.pools.map((pool) => pool.metadata.name ?? '') };
    }),
  }));
  return { kind: 'allocate', identity, source: 'allocated', nics, podRoutes: routes, probe };
}

/** One want per NIC and family of a plan. */
export function wantsOf(request: number, plan: Extract<AddPlan, { kind: 'allocate' }>): Want[] {
  return plan.nics.flatMap((nic) =>
    nic.families.map((f) => ({
      request,
      nic: nic.nic,
      family: f.family,
      pools: f.pools,
      owner: plan.identity.key,
      podUid: plan.identity.podUid,
      takeOver: plan.identity.static,
      ...(f.ip !== undefined ? { ip: f.ip } : {}),
    })),
  );
}

function bare(address: string | undefined): string | undefined {
  return address?.split('/')[0];
}

/**
 * Every planned NIC's settings once its addresses are held. A NIC whose addresses are still those of
 * its endpoint entry keeps the entry's gateway and routes (a pool's later route changes reach only
 * new allocations, as in Spiderpool); any other NIC is built from its pools and the pod's routes.
 */
export function networksOf(
  plan: Extract<AddPlan, { kind: 'allocate' }>,
  held: (nic: string, family: Family) => Held | undefined,
  pools: ReadonlyMap<string, SpiderIPPool>,
): { networks: NicNetwork[]; unmatchedRoutes: ParsedRoute[] } {
  const kept = new Map<string, NicNetwork>();
  const fresh: { nic: string; cleanGateway: boolean; addresses: { pool: SpiderIPPool; ip: string }[] }[] = [];
  for (const nic of plan.nics) {
    const outcomes = nic.families.map((f) => held(nic.nic, f.family));
    const stored = nic.stored;
    const same =
      stored !== undefined &&
      outcomes.every((o) => o && bare(o.family === 4 ? stored.ipv4 : stored.ipv6) === o.ip);
    if (stored && same) {
      kept.set(nic.nic, nicNetworkFromEndpoint(stored));
      continue;
    }
    const addresses = outcomes.flatMap((o) => {
      const pool = o ? pools.get(o.pool) : undefined;
      return o && pool ? [{ pool, ip: o.ip }] : [];
    });
    fresh.push({ nic: nic.nic, cleanGateway: nic.cleanGateway, addresses });
  }
  const built = buildNicNetworks(fresh, plan.podRoutes);
  const byNic = new Map(built.nics.map((n) => [n.nic, n]));
  const networks = plan.nics.flatMap((n) => {
    const network = kept.get(n.nic) ?? byNic.get(n.nic);
    return network ? [network] : [];
  });
  return { networks, unmatchedRoutes: built.unmatchedRoutes };
}

/** The CNI result of one NIC. */
export function resultOf(network: NicNetwork): CniResult {
  return {
    ips: network.ips.map((ip) => ({ address: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}) })),
    routes: network.routes.map((r) => ({ dst: r.dst, gw: r.gw })),
  };
}
