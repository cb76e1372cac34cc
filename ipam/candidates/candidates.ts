// Which pools a NIC may take its addresses from, in Spiderpool's order of rules (the first rule
// that says anything wins): pod `ipam.spidernet.io/ippools` > pod `ipam.spidernet.io/ippool` >
// namespace `ipam.spidernet.io/default-ipv4-ippool`/`-ipv6-` > CNI config
// `default_ipv4_ippool`/`default_ipv6_ippool` > pools with `spec.default`. Lists keep the user's
// order with wildcards expanded against the pools of that family.
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { annotations, type SpiderIPPool } from '../../api/index.js';
import type { Family } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { podNetworks, secondaryInterfaceName } from '../multus/networks.js';
import { poolFamily } from '../pool/space.js';
import { parseIPPoolAnnotation, parseIPPoolsAnnotation, parseNamespaceDefaultPools } from './annotations.js';
import { expandPoolList } from './wildcard.js';

export type CandidateSource =
  | 'subnet-auto-pool'
  | 'pod-ippools'
  | 'pod-ippool'
  | 'namespace'
  | 'cni-config'
  | 'cluster-default';

export interface NicCandidates {
  /** The pod interface (CNI_IFNAME). */
  nic: string;
  /** Position in an unnamed `ipam.spidernet.io/ippools` (0 is the default network for Multus matching). */
  position?: number;
  /** Drop the default routes of this NIC. */
  cleanGateway: boolean;
  /** Pool names per family, in the order to try them before sorting; a family absent here is not allocated. */
  ipv4?: string[];
  ipv6?: string[];
}

export interface Candidates {
  source: CandidateSource;
  /** Where the pools came from, for messages: an annotation, a CNI key, or `spec.default`. */
  origin: string;
  /** Every NIC the source plans: all NICs of `ipam.spidernet.io/ippools`, else just the current one. */
  nics: NicCandidates[];
  /** The entry of the NIC of this ADD. */
  current: NicCandidates;
}

export interface CandidateInput {
  /** CNI_IFNAME of this ADD. */
  ifName: string;
  pod: V1Pod;
  /** The pod's Namespace; needed only when the pod names no pools (see podNamesPools). */
  namespace?: V1Namespace;
  /** The IPAM keys of the CNI config. */
  cniConfig?: {
    defaultIPv4IPPool?: readonly string[];
    defaultIPv6IPPool?: readonly string[];
    cleanGateway?: boolean;
  };
  enableIPv4: boolean;
  enableIPv6: boolean;
  /** Every pool: wildcards are matched against their names, and `spec.default` ones are the last rule. */
  pools: readonly SpiderIPPool[];
}

/** True when the pod's own annotations choose its pools, so its Namespace need not be read. */
export function podNamesPools(pod: V1Pod): boolean {
  const a = pod.metadata?.annotations ?? {};
  return a[annotations.ippools] !== undefined || a[annotations.ippool] !== undefined;
}

export interface FamilyLists {
  ipv4?: readonly string[];
  ipv6?: readonly string[];
}

type FamilyKey = 'ipv4' | 'ipv6';

/** One NIC as a rule names it: the lists as written (wildcards not yet expanded). */
export interface RuleNic {
  nic: string;
  position?: number;
  cleanGateway: boolean;
  lists: FamilyLists;
  /** Where each family's list was written, for errors. */
  fieldOf: (key: FamilyKey) => string;
}

/**
 * The first of Spiderpool's rules that says anything, decided without any pool: the NICs and the
 * lists it names, or `cluster-default` (rule 5, which needs the pools to say which are default).
 */
export type SelectionRule =
  | { source: Exclude<CandidateSource, 'cluster-default'>; origin: string; nics: RuleNic[] }
  | { source: 'cluster-default'; origin: string; cleanGateway: boolean };

export type RuleInput = Omit<CandidateInput, 'pools' | 'enableIPv4' | 'enableIPv6'>;

const hasLists = (lists: FamilyLists) => (lists.ipv4?.length ?? 0) + (lists.ipv6?.length ?? 0) > 0;

/** Rule 1: every item of the pod's `ipam.spidernet.io/ippools`, named or by position. */
function ippoolsRule(input: RuleInput, text: string, cleanGateway: boolean): RuleNic[] {
  const items = parseIPPoolsAnnotation(text);
  if (items.length === 0) {
    throw new IpamError('InvalidInput', 'expected at least one item', {
      field: annotations.ippools,
      value: text,
    });
  }
  const named = items[0]?.interface !== undefined && items[0]?.interface !== '';
  const names = new Set<string>();
  const networks = named ? [] : podNetworks(input.pod);
  return items.map((item, i) => {
    const field = `${annotations.ippools}[${i}]`;
    if ((item.interface !== undefined && item.interface !== '') !== named) {
      throw new IpamError('InvalidInput', 'either every item names its interface or none does', { field });
    }
    const nic = named
      ? (item.interface as string)
      : i === 0
        ? 'eth0'
        : secondaryInterfaceName(networks[i - 1] ?? { namespace: '', name: '' }, i - 1);
    if (names.has(nic)) {
      throw new IpamError('InvalidInput', `interface ${nic} is listed twice`, {
        field: `${field}.interface`,
        value: nic,
      });
    }
    names.add(nic);
    const out: RuleNic = {
      nic,
      cleanGateway: item.cleangateway ?? cleanGateway,
      lists: item,
      fieldOf: (key) => `${field}.${key}`,
    };
    if (!named) out.position = i;
    return out;
  });
}

/** Rule 3: the namespace's `ipam.spidernet.io/default-ipv4-ippool`/`-ipv6-` annotations. */
function namespaceLists(namespace: V1Namespace): FamilyLists {
  const nsAnnotations = namespace.metadata?.annotations ?? {};
  const nsV4 = nsAnnotations[annotations.defaultIPv4Pool];
  const nsV6 = nsAnnotations[annotations.defaultIPv6Pool];
  const lists: FamilyLists = {};
  if (nsV4 !== undefined) lists.ipv4 = parseNamespaceDefaultPools(annotations.defaultIPv4Pool, nsV4);
  if (nsV6 !== undefined) lists.ipv6 = parseNamespaceDefaultPools(annotations.defaultIPv6Pool, nsV6);
  return lists;
}

/**
 * Which of Spiderpool's five rules applies and what it names. Pure and pool-free, so the plugin
 * derives from it which pools to read before reading any; selectCandidates expands it against them.
 * A malformed annotation, or a pod that names no pools without its Namespace, is an error.
 */
export function selectionRule(input: RuleInput): SelectionRule {
  const cni = input.cniConfig ?? {};
  const cleanGateway = cni.cleanGateway ?? false;
  const single = (lists: FamilyLists, fieldOf: (key: FamilyKey) => string): RuleNic[] => [
    { nic: input.ifName, cleanGateway, lists, fieldOf },
  ];
  const podAnnotations = input.pod.metadata?.annotations ?? {};
  const ippools = podAnnotations[annotations.ippools];
  if (ippools !== undefined) {
    return {
      source: 'pod-ippools',
      origin: annotations.ippools,
      nics: ippoolsRule(input, ippools, cleanGateway),
    };
  }
  const ippool = podAnnotations[annotations.ippool];
  if (ippool !== undefined) {
    const lists = parseIPPoolAnnotation(ippool);
    return {
      source: 'pod-ippool',
      origin: annotations.ippool,
      nics: single(lists, (key) => `${annotations.ippool}.${key}`),
    };
  }
  if (!input.namespace) {
    throw new IpamError('InvalidInput', 'the pod names no pools, so its Namespace is needed', {
      field: 'namespace',
    });
  }
  const nsLists = namespaceLists(input.namespace);
  if (hasLists(nsLists)) {
    const fieldOf = (key: FamilyKey) =>
      `namespace ${key === 'ipv4' ? annotations.defaultIPv4Pool : annotations.defaultIPv6Pool}`;
    return {
      source: 'namespace',
      origin: 'namespace annotations ipam.spidernet.io/default-ipv4-ippool/default-ipv6-ippool',
      nics: single(nsLists, fieldOf),
    };
  }
  const cniLists: FamilyLists = {};
  if (cni.defaultIPv4IPPool) cniLists.ipv4 = cni.defaultIPv4IPPool;
  if (cni.defaultIPv6IPPool) cniLists.ipv6 = cni.defaultIPv6IPPool;
  if (hasLists(cniLists)) {
    return {
      source: 'cni-config',
      origin: 'CNI config default_ipv4_ippool/default_ipv6_ippool',
      nics: single(cniLists, (key) => `default_${key}_ippool`),
    };
  }
  return { source: 'cluster-default', origin: 'pools with spec.default', cleanGateway };
}

/** The lists of the enabled families, in the order IPv4, IPv6. */
export function enabledLists(
  lists: FamilyLists,
  enabled: { enableIPv4: boolean; enableIPv6: boolean },
): [Family, FamilyKey, readonly string[]][] {
  const out: [Family, FamilyKey, readonly string[]][] = [];
  if (enabled.enableIPv4 && lists.ipv4 && lists.ipv4.length > 0) out.push([4, 'ipv4', lists.ipv4]);
  if (enabled.enableIPv6 && lists.ipv6 && lists.ipv6.length > 0) out.push([6, 'ipv6', lists.ipv6]);
  return out;
}

function poolNamesByFamily(pools: readonly SpiderIPPool[]): Record<Family, string[]> {
  const out: Record<Family, string[]> = { 4: [], 6: [] };
  for (const pool of pools) {
    const name = pool.metadata.name;
    if (!name) continue;
    try {
      out[poolFamily(pool)].push(name);
    } catch {
      // A pool whose family cannot be told is matched by no wildcard; named explicitly it fails later.
    }
  }
  return out;
}

/** Rule 5's NIC: the pools with spec.default, in name order; none at all is an error. */
function clusterDefaultNic(
  input: CandidateInput,
  byFamily: Record<Family, string[]>,
  cleanGateway: boolean,
): RuleNic {
  const isDefault = new Set(input.pools.filter((p) => p.spec.default).map((p) => p.metadata.name));
  const lists = {
    ipv4: byFamily[4].filter((name) => isDefault.has(name)).sort(),
    ipv6: byFamily[6].filter((name) => isDefault.has(name)).sort(),
  };
  if (lists.ipv4.length + lists.ipv6.length === 0) {
    throw new IpamError(
      'NoCandidatePool',
      'no pool selection rule applies: no ipam.spidernet.io/ippool(s) on the pod, no default pools on the namespace or in the CNI config, and no pool with spec.default',
    );
  }
  return { nic: input.ifName, cleanGateway, lists, fieldOf: () => 'spec.default' };
}

/** Expands one NIC's lists against the pools, dropping disabled families and families with nothing listed. */
function expandNic(rule: RuleNic, byFamily: Record<Family, string[]>, input: CandidateInput): NicCandidates {
  const out: NicCandidates = { nic: rule.nic, cleanGateway: rule.cleanGateway };
  if (rule.position !== undefined) out.position = rule.position;
  for (const [family, key, list] of enabledLists(rule.lists, input)) {
    const at = rule.fieldOf(key);
    const expanded = expandPoolList(list, byFamily[family], at);
    if (expanded.length === 0) {
      throw new IpamError('NoCandidatePool', `no IPv${family} pool matches ${JSON.stringify(list)}`, {
        field: at,
        value: list,
      });
    }
    out[key] = expanded;
  }
  return out;
}

export function selectCandidates(input: CandidateInput): Candidates {
  const rule = selectionRule(input);
  const byFamily = poolNamesByFamily(input.pools);
  const ruleNics =
    rule.source === 'cluster-default' ? [clusterDefaultNic(input, byFamily, rule.cleanGateway)] : rule.nics;
  const nics = ruleNics.map((n) => expandNic(n, byFamily, input));
  const current = nics.find((n) => n.nic === input.ifName);
  if (!current) {
    const how =
      rule.source === 'pod-ippools' && nics[0]?.position !== undefined
        ? ` (unnamed items are ${nics.map((n) => n.nic).join(', ')} by position)`
        : '';
    throw new IpamError('InvalidInput', `interface ${input.ifName} is not listed${how}`, {
      field: rule.origin,
      value: input.pod.metadata?.annotations?.[annotations.ippools],
    });
  }
  for (const n of nics) {
    if (!n.ipv4 && !n.ipv6) {
      const enabled = [input.enableIPv4 && 'IPv4', input.enableIPv6 && 'IPv6'].filter(Boolean).join(' and ');
      throw new IpamError(
        'NoCandidatePool',
        `no pool for ${n.nic} in an enabled family (${enabled || 'none'})`,
        {
          field: rule.origin,
        },
      );
    }
  }
  return { source: rule.source, origin: rule.origin, nics, current };
}
