// The facts ipam/gc's verdicts need about one identity, gathered either from the watch caches (fast,
// possibly a moment behind) or from fresh API reads (used to confirm a verdict that rests on
// something being gone before anything is released because of it).
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { IPAMClaim, SpiderEndpoint, VirtualMachine, VirtualMachineInstance } from '../../api/index.js';
import type { Owner, OwnerFacts } from '../../ipam/gc/verdict.js';
import { controllerOf, isStatefulSetRef } from '../../ipam/identity/owners.js';
import { statefulSetOrdinal } from '../../ipam/identity/validity.js';
import type { Lister } from '../framework/operator.js';
import type { FreshReads } from './operator-store.js';

export interface Caches {
  pods?: Lister;
  endpoints?: Lister;
  /** Absent when KubeVirt static IPs are off, or while KubeVirt's resources are not listed. */
  vmis?: Lister;
  vms?: Lister;
  statefulSets?: Lister;
  /** Absent when IPAMClaim support is off, or while the claims are not listed. */
  claims?: Lister;
}

export interface FactSwitches {
  enableKubevirtStaticIP: boolean;
  enableStatefulSet: boolean;
  enableIPAMClaim?: boolean;
}

const key = (o: Owner, name = o.name) => `${o.namespace}/${name}`;

/** The StatefulSet that decides about `owner`: its pods' controller, else the one its name points at. */
function statefulSetName(owner: Owner, pods: readonly (V1Pod | undefined)[]): string | undefined {
  for (const pod of pods) {
    const ref = controllerOf(pod?.metadata);
    if (ref && isStatefulSetRef(ref)) return ref.name;
  }
  return statefulSetOrdinal(owner.name)?.statefulSet;
}

export class FactSource {
  constructor(
    private readonly caches: () => Caches,
    private readonly io: FreshReads,
    private readonly switches: FactSwitches,
  ) {}

  /** From the caches; `uids` are the holder pod UIDs the verdicts will ask about. */
  cached(owner: Owner, uids: readonly string[]): OwnerFacts {
    const c = this.caches();
    const podByUid = (uid: string) => c.pods?.getByUid(uid) as V1Pod | undefined;
    const named = c.pods?.get(key(owner)) as V1Pod | undefined;
    const facts: OwnerFacts = { podByUid };
    if (named) facts.named = named;
    const endpoint = c.endpoints?.get(key(owner)) as SpiderEndpoint | undefined;
    if (endpoint) facts.endpoint = endpoint;
    if (this.switches.enableKubevirtStaticIP) {
      const vmi = c.vmis?.get(key(owner)) as VirtualMachineInstance | undefined;
      const vm = c.vms?.get(key(owner)) as VirtualMachine | undefined;
      if (vmi) facts.vmi = vmi;
      if (vm) facts.vm = vm;
    }
    const claim = c.claims?.get(key(owner)) as IPAMClaim | undefined;
    if (claim) facts.claim = claim;
    if (this.switches.enableStatefulSet) {
      const sts = statefulSetName(owner, [named, ...uids.map(podByUid)]);
      const found = sts ? (c.statefulSets?.get(key(owner, sts)) as V1StatefulSet | undefined) : undefined;
      if (found) facts.statefulSet = found;
    }
    return facts;
  }

  /** From fresh reads of the API server. */
  async live(owner: Owner): Promise<OwnerFacts> {
    const pods = await this.io.podsIn(owner.namespace);
    const byUid = new Map(pods.map((p) => [p.metadata?.uid ?? '', p]));
    const named = pods.find((p) => p.metadata?.name === owner.name);
    const facts: OwnerFacts = { podByUid: (uid) => byUid.get(uid) };
    if (named) facts.named = named;
    const [endpoint, vmi, vm, claim] = await Promise.all([
      this.io.endpoint(owner.namespace, owner.name),
      this.switches.enableKubevirtStaticIP ? this.io.vmi(owner.namespace, owner.name) : undefined,
      this.switches.enableKubevirtStaticIP ? this.io.vm(owner.namespace, owner.name) : undefined,
      this.switches.enableIPAMClaim ? this.io.ipamClaim(owner.namespace, owner.name) : undefined,
    ]);
    if (endpoint) facts.endpoint = endpoint;
    if (claim) facts.claim = claim;
    if (vmi) facts.vmi = vmi;
    if (vm) facts.vm = vm;
    if (this.switches.enableStatefulSet) {
      const holders = endpoint?.status?.current?.uid ? [byUid.get(endpoint.status.current.uid)] : [];
      const sts = statefulSetName(owner, [named, ...holders]);
      const found = sts ? await this.io.statefulSet(owner.namespace, sts) : undefined;
      if (found) facts.statefulSet = found;
    }
    return facts;
  }
}
