// What the `spiderpool` commands read from the API server, in one go: pools, subnets, reserved IPs,
// endpoints, pods, StatefulSets and KubeVirt's VMs and VMIs, and conf.yml's identity switches from
// the installation's ConfigMap. The verdicts then run over this snapshot through the operator's own
// FactSource (as if it were the operator's watch caches), and a verdict that would change something
// is confirmed with FactSource's fresh reads before `release` writes.
import type { KubernetesObject, V1ConfigMap, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  group,
  type IPAMClaim,
  ipamClaimGroup,
  ipamClaimKind,
  ipamClaimVersion,
  kinds,
  kubevirtGroup,
  kubevirtKinds,
  kubevirtVersion,
  type SpiderEndpoint,
  type SpiderIPPool,
  type SpiderReservedIP,
  type SpiderSubnet,
  type VirtualMachine,
  type VirtualMachineInstance,
  version,
} from '../../api/index.js';
import { confYmlDefaults } from '../../api/install/conf-yml.js';
import { objectNames } from '../../api/install/names.js';
import { readConfYml } from '../../api/install/read-conf-yml.js';
import type { Owner, OwnerFacts } from '../../ipam/gc/verdict.js';
import type { IdentitySwitches } from '../../ipam/identity/identity.js';
import { apiStatus, isNotFound } from '../../kube/errors.js';
import { type ResourceRef, resourcePath } from '../../kube/resource.js';
import type { RestClient } from '../../kube/rest.js';
import { ClusterIO } from '../controllers/cluster-io.js';
import { type Caches, FactSource } from '../controllers/facts.js';
import type { OperatorStore } from '../controllers/operator-store.js';
import type { Lister } from '../framework/operator.js';

const refs = {
  pools: { group, version, plural: kinds.ippool.plural },
  subnets: { group, version, plural: kinds.subnet.plural },
  reservedIPs: { group, version, plural: kinds.reservedip.plural },
  endpoints: { group, version, plural: kinds.endpoint.plural },
  pods: { group: '', version: 'v1', plural: 'pods' },
  statefulSets: { group: 'apps', version: 'v1', plural: 'statefulsets' },
  vms: { group: kubevirtGroup, version: kubevirtVersion, plural: kubevirtKinds.vm.plural },
  vmis: { group: kubevirtGroup, version: kubevirtVersion, plural: kubevirtKinds.vmi.plural },
  claims: { group: ipamClaimGroup, version: ipamClaimVersion, plural: ipamClaimKind.plural },
} satisfies Record<string, ResourceRef>;

export interface Switches extends IdentitySwitches {
  /** conf.yml `enableIPAMClaim`: the claims are read, so a claim's addresses are judged by it. */
  enableIPAMClaim?: boolean;
  /** Where they came from, for the reader. */
  source: string;
}

/** What pools and subnets are, without the world around them (enough for `pools`). */
export interface Books {
  pools: SpiderIPPool[];
  subnets: SpiderSubnet[];
  reservedIPs: SpiderReservedIP[];
}

/** The books and the world they describe (what `ip`, `check` and `release` judge by). */
export interface Snapshot extends Books {
  endpoints: SpiderEndpoint[];
  pods: V1Pod[];
  statefulSets: V1StatefulSet[];
  vms: VirtualMachine[];
  vmis: VirtualMachineInstance[];
  /** IPAMClaims, when conf.yml enables them (docs/ipamclaim.md). */
  claims?: IPAMClaim[];
  switches: Switches;
}

/** A watch cache's lookups over a list read once. */
class ListLister implements Lister {
  private readonly byKey = new Map<string, KubernetesObject>();
  private readonly byUid = new Map<string, KubernetesObject>();

  constructor(private readonly items: readonly KubernetesObject[]) {
    for (const o of items) {
      const md = o.metadata ?? {};
      this.byKey.set(md.namespace ? `${md.namespace}/${md.name}` : (md.name ?? ''), o);
      if (md.uid) this.byUid.set(md.uid, o);
    }
  }

  get(key: string) {
    return this.byKey.get(key);
  }

  getByUid(uid: string) {
    return this.byUid.get(uid);
  }

  list() {
    return [...this.items];
  }
}

export class Cluster {
  readonly io: OperatorStore;

  constructor(
    private readonly rest: RestClient,
    /** Where the installation's ConfigMap `spiderpool-conf` is. */
    private readonly installNamespace: string,
  ) {
    // A person running the command is not a replica that may lose a Lease: nothing to guard.
    this.io = new ClusterIO(rest, () => undefined);
  }

  private async list<T>(ref: ResourceRef, optional = false): Promise<T[]> {
    try {
      return (await this.rest.get<{ items?: T[] }>(resourcePath(ref))).items ?? [];
    } catch (err) {
      // KubeVirt not installed: its resources do not exist, so there are no VMs.
      if (optional && isNotFound(err)) return [];
      throw err;
    }
  }

  async books(): Promise<Books> {
    const [pools, subnets, reservedIPs] = await Promise.all([
      this.list<SpiderIPPool>(refs.pools),
      this.list<SpiderSubnet>(refs.subnets),
      this.list<SpiderReservedIP>(refs.reservedIPs),
    ]);
    return { pools, subnets, reservedIPs };
  }

  async snapshot(): Promise<Snapshot> {
    const [books, endpoints, pods, statefulSets, vms, vmis, switches] = await Promise.all([
      this.books(),
      this.list<SpiderEndpoint>(refs.endpoints),
      this.list<V1Pod>(refs.pods),
      this.list<V1StatefulSet>(refs.statefulSets),
      this.list<VirtualMachine>(refs.vms, true),
      this.list<VirtualMachineInstance>(refs.vmis, true),
      this.switches(),
    ]);
    const claims = switches.enableIPAMClaim ? await this.list<IPAMClaim>(refs.claims, true) : undefined;
    return { ...books, endpoints, pods, statefulSets, vms, vmis, ...(claims ? { claims } : {}), switches };
  }

  /** conf.yml's `enableKubevirtStaticIP` and `enableStatefulSet`, as the operator reads them. */
  async switches(): Promise<Switches> {
    const where = `ConfigMap ${this.installNamespace}/${objectNames.configMap}`;
    const defaults = {
      enableKubevirtStaticIP: confYmlDefaults.enableKubevirtStaticIP,
      enableStatefulSet: confYmlDefaults.enableStatefulSet,
    };
    let map: V1ConfigMap;
    try {
      map = await this.rest.get<V1ConfigMap>(
        resourcePath(
          { group: '', version: 'v1', plural: 'configmaps', namespace: this.installNamespace },
          objectNames.configMap,
        ),
      );
    } catch (err) {
      const status = apiStatus(err);
      if (status === 404 || status === 403)
        return { ...defaults, source: `Spiderpool's defaults (${where}: HTTP ${status})` };
      throw err;
    }
    const text = map.data?.[objectNames.configKey] ?? '';
    const conf = readConfYml(text, `${where} key ${objectNames.configKey}`);
    return {
      enableKubevirtStaticIP: conf.enableKubevirtStaticIP ?? defaults.enableKubevirtStaticIP,
      enableStatefulSet: conf.enableStatefulSet ?? defaults.enableStatefulSet,
      ...(conf.enableIPAMClaim ? { enableIPAMClaim: true } : {}),
      source: where,
    };
  }

  /** The operator's fact gathering over this snapshot (cached) and over fresh reads (live). */
  facts(snapshot: Snapshot): FactSource {
    const caches: Caches = {
      pods: new ListLister(snapshot.pods),
      endpoints: new ListLister(snapshot.endpoints),
      statefulSets: new ListLister(snapshot.statefulSets),
      vms: new ListLister(snapshot.vms),
      vmis: new ListLister(snapshot.vmis),
      ...(snapshot.claims ? { claims: new ListLister(snapshot.claims) } : {}),
    };
    return new FactSource(() => caches, this.io, snapshot.switches);
  }

  /** Fresh reads of one identity's world (what the operator confirms a verdict with). */
  liveFacts(switches: Switches): (owner: Owner) => Promise<OwnerFacts> {
    const source = new FactSource(() => ({}), this.io, switches);
    return (owner) => source.live(owner);
  }
}
