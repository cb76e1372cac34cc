// The coordinator's decisions for one NIC of a pod in underlay mode (Spiderpool
// cmd/coordinator, docs/concepts/coordinator.md), without I/O: which settings apply, which NIC
// keeps the default route in the main table, which routing table the NIC's routes move to and
// which `ip rule from <address> lookup <table>` makes replies leave by the NIC they came in on.
// cni/coordinator/ reads the namespace and applies the plan with iproute2.
import type { CoordinatorSpec, CoordinatorStatus } from '../api/index.js';
import { formatCIDR, parseCIDR } from '../ipam/address/cidr.js';
import { ipFamily } from '../ipam/address/ip.js';
import { IpamError } from '../ipam/errors.js';
import { defaultHostRuleTable, defaultVethMtu, podReplyTable } from './host-veth.js';

/** Spiderpool keeps table 100 for the first NIC; the n-th NIC after it (net1, net2...) gets 100 + n. */
export const firstPolicyTable = podReplyTable;

export interface CoordinatorSettings {
  tunePodRoutes: boolean;
  /** The NIC the default route stays on ('' : the one that already has it, normally eth0). */
  podDefaultRouteNic: string;
  podMACPrefix: string;
  txQueueLen: number;
  policyRoutes: Array<{ dst: string; gw: string }>;
  /** The host's table for routes to pod addresses through the veth pair. */
  hostRuleTable: number;
  /** MTU of the veth pair made for the pod's first NIC. */
  vethMTU: number;
  /** rp_filter for every interface of the pod; undefined: left as it is. */
  podRPFilter?: number;
  /**
   * Routed through veth0 via a node address (Spiderpool's hijack routes): overlayPodCIDR, then
   * serviceCIDR (SpiderCoordinator default's status unless the plugin config names them), then
   * hijackCIDR; in network form.
   */
  hijackCIDR: string[];
  /** An IPv4 address for veth0 ('' : none). */
  vethLinkAddress: string;
}

/** What this build cannot do, named by the setting (a CNI error is made of it). */
export class UnsupportedSetting extends Error {
  constructor(
    readonly setting: string,
    detail: string,
  ) {
    super(`${setting}: ${detail}`);
  }
}

/** The NAD's coordinator fields (wire spelling), over SpiderCoordinator default's spec. */
export interface CoordinatorConf {
  mode?: string;
  tunePodRoutes?: boolean;
  podDefaultRouteNic?: string;
  podMACPrefix?: string;
  txQueueLen?: number;
  hijackCIDR?: string[];
  /** Spiderpool's plugin config fields for the discovered CIDRs (else the SpiderCoordinator status). */
  overlayPodCIDR?: string[];
  serviceCIDR?: string[];
  policyRoutes?: Array<{ dst: string; gw: string }>;
  vethLinkAddress?: string;
  vethMTU?: number;
  podRPFilter?: number;
  /** Not in Spiderpool's NAD (it comes from SpiderCoordinator there); read here too. */
  hostRuleTable?: number;
}

/**
 * Each entry of a CIDR list setting in network form, a bare address as its /32 or /128 (as
 * Spiderpool's mutating webhook writes it); a bad one is named with the setting.
 */
function cidrList(setting: string, list: string[]): string[] {
  return list.map((text) => {
    const cidr = text.includes('/') ? text : `${text}/${ipFamily(text) === 6 ? 128 : 32}`;
    try {
      return formatCIDR(parseCIDR(cidr, undefined, setting));
    } catch (e) {
      if (e instanceof IpamError) throw new UnsupportedSetting(setting, e.detail);
      throw e;
    }
  });
}

/**
 * Merges the plugin config over the cluster defaults and the pod annotation over both (Spiderpool's
 * precedence; an empty list in the plugin config falls back to the cluster's, as in Spiderpool's
 * ParseConfig), refusing overlay mode (it chains behind Calico/Cilium).
 */
export function resolveSettings(
  conf: CoordinatorConf,
  cluster: CoordinatorSpec | undefined,
  podDefaultRouteNicAnnotation: string | undefined,
  clusterStatus?: CoordinatorStatus,
): CoordinatorSettings | 'disabled' {
  const mode = conf.mode ?? cluster?.mode ?? 'auto';
  if (mode === 'disabled') return 'disabled';
  if (mode === 'overlay')
    throw new UnsupportedSetting('mode', 'overlay is not supported (use underlay or auto)');
  if (mode !== 'underlay' && mode !== 'auto')
    throw new UnsupportedSetting('mode', `unknown mode ${JSON.stringify(mode)}`);
  const listOr = (own: string[] | undefined, fallback: string[] | undefined) =>
    own?.length ? own : (fallback ?? []);
  const hijackCIDR = [
    ...cidrList('overlayPodCIDR', listOr(conf.overlayPodCIDR, clusterStatus?.overlayPodCIDR)),
    ...cidrList('serviceCIDR', listOr(conf.serviceCIDR, clusterStatus?.serviceCIDR)),
    ...cidrList('hijackCIDR', listOr(conf.hijackCIDR, cluster?.hijackCIDR)),
  ];
  const vethLinkAddress = conf.vethLinkAddress || cluster?.vethLinkAddress || '';
  if (vethLinkAddress && ipFamily(vethLinkAddress) !== 4)
    throw new UnsupportedSetting(
      'vethLinkAddress',
      `${JSON.stringify(vethLinkAddress)} is not an IPv4 address (veth0 gets it as a /32)`,
    );
  const rpFilter = conf.podRPFilter ?? cluster?.podRPFilter;
  if (rpFilter !== undefined && (!Number.isInteger(rpFilter) || rpFilter > 2))
    throw new UnsupportedSetting('podRPFilter', `${rpFilter} is not 0, 1, 2 or negative`);
  const vethMTU = conf.vethMTU ?? cluster?.vethMTU ?? defaultVethMtu;
  if (!Number.isInteger(vethMTU) || vethMTU < 68)
    throw new UnsupportedSetting('vethMTU', `${vethMTU} is not an MTU (an integer >= 68)`);
  const hostRuleTable = conf.hostRuleTable ?? cluster?.hostRuleTable ?? defaultHostRuleTable;
  if (!Number.isInteger(hostRuleTable) || hostRuleTable < 1 || hostRuleTable >= 2 ** 32 - 1)
    throw new UnsupportedSetting('hostRuleTable', `${hostRuleTable} is not a routing table number`);
  return {
    hostRuleTable,
    vethMTU,
    hijackCIDR: [...new Set(hijackCIDR)],
    vethLinkAddress,
    ...(rpFilter !== undefined && rpFilter >= 0 ? { podRPFilter: rpFilter } : {}),
    tunePodRoutes: conf.tunePodRoutes ?? cluster?.tunePodRoutes ?? true,
    podDefaultRouteNic:
      podDefaultRouteNicAnnotation || conf.podDefaultRouteNic || cluster?.podDefaultRouteNIC || '',
    podMACPrefix: conf.podMACPrefix ?? cluster?.podMACPrefix ?? '',
    txQueueLen: conf.txQueueLen ?? cluster?.txQueueLen ?? 0,
    policyRoutes: conf.policyRoutes ?? cluster?.policyRoutes ?? [],
  };
}

/**
 * The MAC a pod NIC gets with podMACPrefix `aa:bb`: the prefix, then the last four bytes of its
 * address (IPv4, else IPv6), so an address always maps to the same MAC, as in Spiderpool.
 */
export function macFromPrefix(prefix: string, address: string): string {
  if (!/^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}$/.test(prefix))
    throw new UnsupportedSetting('podMACPrefix', `${JSON.stringify(prefix)} is not two hexadecimal bytes`);
  if (Number.parseInt(prefix.slice(0, 2), 16) & 1)
    throw new UnsupportedSetting('podMACPrefix', `${prefix} is not unicast`);
  let tail: number[];
  if (address.includes(':')) {
    const groups = address.split('::');
    const head = (groups[0] ?? '').split(':').filter(Boolean);
    const rest = (groups[1] ?? '').split(':').filter(Boolean);
    const full =
      groups.length === 2 ? [...head, ...Array(8 - head.length - rest.length).fill('0'), ...rest] : head;
    const last = full.slice(6).map((g) => Number.parseInt(g, 16));
    tail = last.flatMap((g) => [g >> 8, g & 0xff]);
  } else tail = address.split('.').map(Number);
  return [prefix.toLowerCase(), ...tail.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export interface MainRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

export interface NicRoutingPlan {
  /** 0 for the pod's first NIC: nothing moves. */
  table: number;
  /** The NIC whose routes leave the main table for `table`. */
  movedNic?: string;
  /** `ip rule from <address> lookup <table>` (address as /32 or /128). */
  rules: Array<{ from: string; table: number }>;
  /** Routes to add to `table`. */
  routes: MainRoute[];
  /** The moved NIC's default routes, which leave the main table. */
  leaveMain: MainRoute[];
  /** Default routes the main table gets: the chosen NIC's, when its IPAM left them out. */
  mainDefaults: MainRoute[];
}

/**
 * For the NIC `current`, the `index`-th of the pod (0 = the first), with `defaultNic` the NIC that
 * must keep the default route (empty: the one holding it in main now): the first NIC changes
 * nothing; a later NIC moves its own routes to table 100 + index, unless it is the one that must
 * carry the default route, in which case the NIC holding it so far moves there instead. Either way
 * the moved NIC's addresses look up that table, so replies leave by the NIC they came in on.
 */
export function planNicRouting(input: {
  current: string;
  index: number;
  defaultNic: string;
  mainRoutes: MainRoute[];
  addresses: Record<string, string[]>;
  /** The gateways IPAM gave `current` (prevResult ips[].gateway). */
  gateways?: string[];
}): NicRoutingPlan {
  if (input.index === 0) return { table: 0, rules: [], routes: [], leaveMain: [], mainDefaults: [] };
  const table = firstPolicyTable + input.index;
  const holder = input.mainRoutes.find((r) => r.dst === 'default' && r.dev !== input.current)?.dev;
  const moved = input.defaultNic === input.current && holder ? holder : input.current;
  const routes = input.mainRoutes.filter((r) => r.dev === moved);
  const leaveMain = routes.filter((r) => r.dst === 'default');
  // A NIC whose IPAM left out the default route (cleangateway) still gets one via its gateway: in
  // its own table when it moves, in main when it is the chosen NIC.
  const missingDefaults = (present: MainRoute[]) =>
    (input.gateways ?? [])
      .filter(
        (gw) =>
          !present.some((r) => r.dst === 'default' && (r.gateway ?? '').includes(':') === gw.includes(':')),
      )
      .map((gateway) => ({ dst: 'default', gateway, dev: input.current }));
  const mainDefaults: MainRoute[] = [];
  if (moved === input.current) routes.push(...missingDefaults(routes));
  else mainDefaults.push(...missingDefaults(input.mainRoutes.filter((r) => r.dev === input.current)));
  return {
    table,
    movedNic: moved,
    rules: (input.addresses[moved] ?? []).map((a) => ({
      from: a.includes(':') ? `${a}/128` : `${a}/32`,
      table,
    })),
    routes,
    leaveMain,
    mainDefaults,
  };
}
