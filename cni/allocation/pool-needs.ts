// Which SpiderIPPools a request needs read, decided before reading any: a pool's status holds one
// record per allocated address, so listing every pool on every ADD or DEL would move megabytes that
// the request never looks at. Pure: the pod, its namespace, its endpoint and the request in; pool
// names, wildcard patterns and whether Spiderpool's rule 5 (pools with spec.default) applies out.
// Which rule applies and what it names is ipam's selectionRule, the first half of selectCandidates;
// a rule that cannot be decided (a malformed annotation) needs no pools here, because
// selectCandidates fails on it before it looks at any pool.
import type { V1Namespace, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import type { SpiderEndpoint } from '../../api/index.js';
import { namesSubnet } from '../../ipam/autopool/request.js';
import { applicationLabelSelector, podApplication } from '../../ipam/autopool/select.js';
import {
  enabledLists,
  type FamilyLists,
  type SelectionRule,
  selectionRule,
} from '../../ipam/candidates/candidates.js';
import { compileWildcard, hasWildcard } from '../../ipam/candidates/wildcard.js';
import type { Identity } from '../../ipam/identity/identity.js';
import { topController } from '../../ipam/identity/owners.js';
import { servingEntries } from './add-plan.js';
import type { AddRequest, ReleaseRequest } from './requests.js';

export interface PoolNeeds {
  /** Pools named outright: one GET each. */
  names: string[];
  /** Wildcard patterns: the pool names are listed (metadata only) and the matches read. */
  patterns: string[];
  /** Spiderpool's rule 5 applies: the pools with spec.default, read with a field selector. */
  defaults: boolean;
  /** Label selectors (an application's SpiderSubnet auto-pools, rule 1): the pools listed with each. */
  selectors?: string[];
}

export const noPools: PoolNeeds = { names: [], patterns: [], defaults: false };

type Switches = { enableIPv4: boolean; enableIPv6: boolean };

/** The entries of the enabled families' lists, split into names and patterns, each once. */
function needsOf(lists: readonly FamilyLists[], enabled: Switches): PoolNeeds {
  const names = new Set<string>();
  const patterns = new Set<string>();
  for (const list of lists) {
    for (const [, , entries] of enabledLists(list, enabled)) {
      for (const entry of entries) {
        if (typeof entry !== 'string' || entry === '') continue;
        (hasWildcard(entry) ? patterns : names).add(entry);
      }
    }
  }
  return { names: [...names], patterns: [...patterns], defaults: false };
}

/** The pools a rule may choose from: those its lists name, or the spec.default ones under rule 5. */
function ruleNeeds(rule: SelectionRule, enabled: Switches): PoolNeeds {
  if (rule.source === 'cluster-default') return { ...noPools, defaults: true };
  return needsOf(
    rule.nics.map((n) => n.lists),
    enabled,
  );
}

/** Merges needs, each name and pattern once. */
export function mergeNeeds(...all: readonly PoolNeeds[]): PoolNeeds {
  const merged: PoolNeeds = {
    names: [...new Set(all.flatMap((n) => n.names))],
    patterns: [...new Set(all.flatMap((n) => n.patterns))],
    defaults: all.some((n) => n.defaults),
  };
  const selectors = [...new Set(all.flatMap((n) => n.selectors ?? []))];
  return selectors.length > 0 ? { ...merged, selectors } : merged;
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
  /** CNI_IFNAME of the request. */
  ifName: string;
  pod: V1Pod;
  /** The pod's Namespace, when it was read (selection needs it only when the pod names no pools). */
  namespace?: V1Namespace;
  defaultIPv4Pools: readonly string[];
  defaultIPv6Pools: readonly string[];
  enableIPv4: boolean;
  enableIPv6: boolean;
}

/** The pools candidate selection may look at: those the applying rule of selectionRule names. */
export function selectionNeeds(input: SelectionInput): PoolNeeds {
  let rule: SelectionRule;
  try {
    rule = selectionRule({
      ifName: input.ifName,
      pod: input.pod,
      ...(input.namespace ? { namespace: input.namespace } : {}),
      cniConfig: {
        defaultIPv4IPPool: [...input.defaultIPv4Pools],
        defaultIPv6IPPool: [...input.defaultIPv6Pools],
      },
    });
  } catch {
    return noPools;
  }
  return ruleNeeds(rule, input);
}

export type DefaultsInput = Omit<SelectionInput, 'ifName' | 'pod' | 'namespace'>;

/**
 * Rules 4 and 5 alone, what a pod that names no pools in a namespace without defaults gets (and what
 * STATUS judges): the CNI configuration's default pools, else the pools with spec.default.
 */
export function clusterDefaultNeeds(input: DefaultsInput): PoolNeeds {
  const bare: V1Pod = { metadata: {} };
  return selectionNeeds({ ...input, ifName: 'eth0', pod: bare, namespace: { metadata: {} } });
}

export interface AddNeedsInput {
  request: AddRequest;
  pod: V1Pod;
  identity: Identity;
  namespace?: V1Namespace;
  endpoint?: SpiderEndpoint;
  /** The ReplicaSet or Job the pod's controller reference names, when read (its application). */
  intermediate?: V1ObjectMeta;
}

/** A pod that names a SpiderSubnet: its application's auto-pools, found by their labels. */
function autoPoolNeeds(pod: V1Pod, intermediate: V1ObjectMeta | undefined): PoolNeeds {
  const app = podApplication(pod.metadata?.namespace ?? '', topController(pod.metadata ?? {}, intermediate));
  return app ? { ...noPools, selectors: [applicationLabelSelector(app)] } : noPools;
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
  if (namesSubnet(input.pod.metadata?.annotations))
    return mergeNeeds(stored, autoPoolNeeds(input.pod, input.intermediate));
  const selection = selectionNeeds({
    ifName: request.ifname,
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
