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

export type CandidateSource = 'pod-ippools' | 'pod-ippool' | 'namespace' | 'cni-config' | 'cluster-default';

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
  cniConfig?: { defaultIPv4IPPool?: string[]; defaultIPv6IPPool?: string[]; cleanGateway?: boolean };
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

interface FamilyLists {
  ipv4?: readonly string[];
  ipv6?: readonly string[];
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

export function selectCandidates(input: CandidateInput): Candidates {
  const byFamily = poolNamesByFamily(input.pools);
  const cni = input.cniConfig ?? {};
  const cniCleanGateway = cni.cleanGateway ?? false;

  // Expands the lists of one NIC, dropping disabled families and families with nothing listed.
  // `fieldOf` names where each family's list was written, for errors.
  const nicOf = (
    nic: string,
    lists: FamilyLists,
    cleanGateway: boolean,
    fieldOf: (key: 'ipv4' | 'ipv6') => string,
    position?: number,
  ) => {
    const out: NicCandidates = { nic, cleanGateway };
    if (position !== undefined) out.position = position;
    const families: [Family, 'ipv4' | 'ipv6', boolean][] = [
      [4, 'ipv4', input.enableIPv4],
      [6, 'ipv6', input.enableIPv6],
    ];
    for (const [family, key, enabled] of families) {
      const list = lists[key];
      if (!enabled || !list || list.length === 0) continue;
      const at = fieldOf(key);
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
  };

  const finish = (source: CandidateSource, origin: string, nics: NicCandidates[]): Candidates => {
    const current = nics.find((n) => n.nic === input.ifName);
    if (!current) {
      throw new IpamError('InvalidInput', `no entry for interface ${input.ifName}`, { field: origin });
    }
    for (const n of nics) {
      if (!n.ipv4 && !n.ipv6) {
        const enabled = [input.enableIPv4 && 'IPv4', input.enableIPv6 && 'IPv6']
          .filter(Boolean)
          .join(' and ');
        throw new IpamError(
          'NoCandidatePool',
          `no pool for ${n.nic} in an enabled family (${enabled || 'none'})`,
          {
            field: origin,
          },
        );
      }
    }
    return { source, origin, nics, current };
  };

  const podAnnotations = input.pod.metadata?.annotations ?? {};
  const ippools = podAnnotations[annotations.ippools];
  if (ippools !== undefined) {
    const items = parseIPPoolsAnnotation(ippools);
    if (items.length === 0) {
      throw new IpamError('InvalidInput', 'expected at least one item', {
        field: annotations.ippools,
        value: ippools,
      });
    }
    const named = items[0]?.interface !== undefined && items[0]?.interface !== '';
    const names = new Set<string>();
    const networks = named ? [] : podNetworks(input.pod);
    const nics = items.map((item, i) => {
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
      return nicOf(
        nic,
        item,
        item.cleangateway ?? cniCleanGateway,
        (key) => `${field}.${key}`,
        named ? undefined : i,
      );
    });
    if (!names.has(input.ifName)) {
      const how = named ? '' : ` (unnamed items are ${[...names].join(', ')} by position)`;
      throw new IpamError('InvalidInput', `interface ${input.ifName} is not listed${how}`, {
        field: annotations.ippools,
        value: ippools,
      });
    }
    return finish('pod-ippools', annotations.ippools, nics);
  }

  const ippool = podAnnotations[annotations.ippool];
  if (ippool !== undefined) {
    const lists = parseIPPoolAnnotation(ippool);
    return finish('pod-ippool', annotations.ippool, [
      nicOf(input.ifName, lists, cniCleanGateway, (key) => `${annotations.ippool}.${key}`),
    ]);
  }

  if (!input.namespace) {
    throw new IpamError('InvalidInput', 'the pod names no pools, so its Namespace is needed', {
      field: 'namespace',
    });
  }
  const nsAnnotations = input.namespace.metadata?.annotations ?? {};
  const nsV4 = nsAnnotations[annotations.defaultIPv4Pool];
  const nsV6 = nsAnnotations[annotations.defaultIPv6Pool];
  const nsLists: FamilyLists = {};
  if (nsV4 !== undefined) nsLists.ipv4 = parseNamespaceDefaultPools(annotations.defaultIPv4Pool, nsV4);
  if (nsV6 !== undefined) nsLists.ipv6 = parseNamespaceDefaultPools(annotations.defaultIPv6Pool, nsV6);
  if ((nsLists.ipv4?.length ?? 0) + (nsLists.ipv6?.length ?? 0) > 0) {
    const fieldOf = (key: 'ipv4' | 'ipv6') =>
      `namespace ${key === 'ipv4' ? annotations.defaultIPv4Pool : annotations.defaultIPv6Pool}`;
    return finish(
      'namespace',
      'namespace annotations ipam.spidernet.io/default-ipv4-ippool/default-ipv6-ippool',
      [nicOf(input.ifName, nsLists, cniCleanGateway, fieldOf)],
    );
  }

  const cniLists: FamilyLists = {};
  if (cni.defaultIPv4IPPool) cniLists.ipv4 = cni.defaultIPv4IPPool;
  if (cni.defaultIPv6IPPool) cniLists.ipv6 = cni.defaultIPv6IPPool;
  if ((cniLists.ipv4?.length ?? 0) + (cniLists.ipv6?.length ?? 0) > 0) {
    return finish('cni-config', 'CNI config default_ipv4_ippool/default_ipv6_ippool', [
      nicOf(input.ifName, cniLists, cniCleanGateway, (key) => `default_${key}_ippool`),
    ]);
  }

  const isDefault = new Set(input.pools.filter((p) => p.spec.default).map((p) => p.metadata.name));
  const sortedDefaults = {
    ipv4: byFamily[4].filter((name) => isDefault.has(name)).sort(),
    ipv6: byFamily[6].filter((name) => isDefault.has(name)).sort(),
  };
  if (sortedDefaults.ipv4.length + sortedDefaults.ipv6.length === 0) {
    throw new IpamError(
      'NoCandidatePool',
      'no pool selection rule applies: no ipam.spidernet.io/ippool(s) on the pod, no default pools on the namespace or in the CNI config, and no pool with spec.default',
    );
  }
  return finish('cluster-default', 'pools with spec.default', [
    nicOf(input.ifName, sortedDefaults, cniCleanGateway, () => 'spec.default'),
  ]);
}
