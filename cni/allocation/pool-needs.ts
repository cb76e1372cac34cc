// Which SpiderIPPools a request needs read, decided before reading any: a pool's status holds one
// record per allocated address, so listing every pool on every ADD or DEL would move megabytes that
// the request never looks at. Pure: the pod, its namespace, its endpoint and the request in; pool
// names, wildcard patterns and whether Spiderpool's rule 5 (pools with spec.default) applies out.
// The rules mirror ipam's selectCandidates, which still decides with the pools it is given; a list
// that cannot be parsed needs no pools here, because selectCandidates fails on it before it looks
// at any pool (with the same message as ever).
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { annotations, type SpiderEndpoint } from '../../api/index.js';
import {
  parseIPPoolAnnotation,
  parseIPPoolsAnnotation,
  parseNamespaceDefaultPools,
} from '../../ipam/candidates/annotations.js';
import { compileWildcard, hasWildcard } from '../../ipam/candidates/wildcard.js';
import type { Identity } from '../../ipam/identity/identity.js';
import { servingEntries } from './add-plan.js';
import type { AddRequest, ReleaseRequest } from './requests.js';

export interface PoolNeeds {
  /** Pools named outright: one GET each. */
  names: string[];
  /** Wildcard patterns: the pool names are listed (metadata only) and the matches read. */
  patterns: string[];
  /** Spiderpool's rule 5 applies: the pools with spec.default, read with a field selector. */
  defaults: boolean;
}

export const noPools: PoolNeeds = { names: [], patterns: [], defaults: false };

interface FamilyLists {
  ipv4?: readonly string[];
  ipv6?: readonly string[];
}

/** The entries of the enabled families' lists, split into names and patterns, each once. */
function needsOf(lists: readonly FamilyLists[], enableIPv4: boolean, enableIPv6: boolean): PoolNeeds {
  const names = new Set<string>();
  const patterns = new Set<string>();
  for (const list of lists) {
    const entries = [...(enableIPv4 ? (list.ipv4 ?? []) : []), ...(enableIPv6 ? (list.ipv6 ?? []) : [])];
    for (const entry of entries) {
      if (typeof entry !== 'string' || entry === '') continue;
      (hasWildcard(entry) ? patterns : names).add(entry);
    }
  }
  return { names: [...names], patterns: [...patterns], defaults: false };
}

/** Merges needs, each name and pattern once. */
export function mergeNeeds(...all: readonly PoolNeeds[]): PoolNeeds {
  return {
    names: [...new Set(all.flatMap((n) => n.names))],
    patterns: [...new Set(all.flatMap((n) => n.patterns))],
    defaults: all.some((n) => n.defaults),
  };
}

/** The pools an endpoint's entries name (every NIC, both families). */
export function endpointPools(endpoint: SpiderEndpoint | undefined): string[] {
  const names = new Set<string>();
  for (const entry of endpoint?.status?.current?.ips ?? []) {
    if (entry.ipv4Pool) names.add(entry.ipv4Pool);
    if (entry.ipv6Pool) names.add(entry.ipv6Pool);
  }
  return [...names];
}

export interface SelectionInput {
  pod: V1Pod;
  /** The pod's Namespace, when it was read (selection needs it only when the pod names no pools). */
  namespace?: V1Namespace;
  defaultIPv4Pools: readonly string[];
  defaultIPv6Pools: readonly string[];
  enableIPv4: boolean;
  enableIPv6: boolean;
}

/**
 * The pools candidate selection may look at, by the first of Spiderpool's rules that says anything:
 * pod `ipam.spidernet.io/ippools` (every item, every NIC), pod `ipam.spidernet.io/ippool`, namespace
 * defaults, the CNI configuration's defaults, else the pools with spec.default.
 */
export function selectionNeeds(input: SelectionInput): PoolNeeds {
  const { enableIPv4, enableIPv6 } = input;
  const podAnnotations = input.pod.metadata?.annotations ?? {};
  const ippools = podAnnotations[annotations.ippools];
  const ippool = podAnnotations[annotations.ippool];
  try {
    if (ippools !== undefined) return needsOf(parseIPPoolsAnnotation(ippools), enableIPv4, enableIPv6);
    if (ippool !== undefined) return needsOf([parseIPPoolAnnotation(ippool)], enableIPv4, enableIPv6);
    if (!input.namespace) return noPools;
    const nsAnnotations = input.namespace.metadata?.annotations ?? {};
    const nsV4 = nsAnnotations[annotations.defaultIPv4Pool];
    const nsV6 = nsAnnotations[annotations.defaultIPv6Pool];
    const ns: FamilyLists = {
      ...(nsV4 !== undefined ? { ipv4: parseNamespaceDefaultPools(annotations.defaultIPv4Pool, nsV4) } : {}),
      ...(nsV6 !== undefined ? { ipv6: parseNamespaceDefaultPools(annotations.defaultIPv6Pool, nsV6) } : {}),
    };
    if ((ns.ipv4?.length ?? 0) + (ns.ipv6?.length ?? 0) > 0) return needsOf([ns], enableIPv4, enableIPv6);
  } catch {
    return noPools;
  }
  return clusterDefaultNeeds(input);
}

export type DefaultsInput = Omit<SelectionInput, 'pod' | 'namespace'>;

/**
 * Rules 4 and 5 alone, what a pod that names no pools in a namespace without defaults gets (and what
 * STATUS judges): the CNI configuration's default pools, else the pools with spec.default.
 */
export function clusterDefaultNeeds(input: DefaultsInput): PoolNeeds {
  const cni: FamilyLists = { ipv4: input.defaultIPv4Pools, ipv6: input.defaultIPv6Pools };
  if (input.defaultIPv4Pools.length + input.defaultIPv6Pools.length > 0)
    return needsOf([cni], input.enableIPv4, input.enableIPv6);
  return { ...noPools, defaults: true };
}

export interface AddNeedsInput {
  request: AddRequest;
  pod: V1Pod;
  identity: Identity;
  namespace?: V1Namespace;
  endpoint?: SpiderEndpoint;
}

/**
 * An ADD reads the pools its identity's endpoint names (a retry, a static identity's new pod, another
 * NIC of the pod) and, unless that endpoint serves this interface, the pools selection may choose.
 */
export function addNeeds(input: AddNeedsInput): PoolNeeds {
  const { request, endpoint } = input;
  const stored: PoolNeeds = { ...noPools, names: endpointPools(endpoint) };
  const served = servingEntries(endpoint, input.identity).some((e) => e.interface === request.ifname);
  if (served) return stored;
  const selection = selectionNeeds({
    pod: input.pod,
    ...(input.namespace ? { namespace: input.namespace } : {}),
    defaultIPv4Pools: request.defaultIPv4Pools,
    defaultIPv6Pools: request.defaultIPv6Pools,
    enableIPv4: request.switches.enableIPv4,
    enableIPv6: request.switches.enableIPv6,
  });
  return mergeNeeds(stored, selection);
}

/**
 * The names among `all` that match any of `patterns`, in name order. A malformed pattern matches
 * nothing here; selection reports it, naming where it was written.
 */
export function poolsMatching(patterns: readonly string[], all: readonly string[]): string[] {
  const compiled = patterns.flatMap((p) => {
    try {
      return [compileWildcard(p)];
    } catch {
      return [];
    }
  });
  return [...new Set(all)].filter((name) => compiled.some((re) => re.test(name))).sort();
}

/**
 * Where the records a release looks for are. Known when the node's attachment record names the
 * pools of the ADD it answered, or when an endpoint held by the released pod has an entry for the
 * interface of the call; the pools every endpoint read names are read too (a static identity's new
 * pod holds the endpoint, the old pod's records of other NICs are in those pools). Otherwise (a
 * leader killed between its pool write and its endpoint write, and no answered attachment record)
 * the records may be in any pool: `scan`.
 */
export type ReleasePools = { kind: 'named'; names: string[] } | { kind: 'scan'; reason: string };

export function releasePools(
  request: ReleaseRequest,
  podUid: string,
  endpoints: readonly (SpiderEndpoint | undefined)[],
): ReleasePools {
  const names = new Set(request.pools ?? []);
  let known = names.size > 0;
  for (const endpoint of endpoints) {
    for (const name of endpointPools(endpoint)) names.add(name);
    const current = endpoint?.status?.current;
    if (current?.uid !== podUid) continue;
    const ifname = request.ifname ?? request.nic;
    if (ifname === undefined ? current.ips.length > 0 : current.ips.some((e) => e.interface === ifname))
      known = true;
  }
  if (known) return { kind: 'named', names: [...names] };
  return {
    kind: 'scan',
    reason: `neither a SpiderEndpoint nor this node's attachment record says which pools hold the addresses of pod UID ${podUid}`,
  };
}
