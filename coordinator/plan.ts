// The coordinator's decisions for one NIC of a pod in underlay mode (Spiderpool
// cmd/coordinator, docs/concepts/coordinator.md), without I/O: which settings apply, which NIC
// keeps the default route in the main table, which routing table the NIC's routes move to and
// which `ip rule from <address> lookup <table>` makes replies leave by the NIC they came in on.
// cni/coordinator/ reads the namespace and applies the plan with iproute2.
import type { CoordinatorSpec } from '../api/index.js';
import { defaultHostRuleTable, defaultVethMtu } from './host-veth.js';

/** Spiderpool keeps table 100 for the first NIC; the n-th NIC after it (net1, net2...) gets 100 + n. */
export const firstPolicyTable = 100;

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
  policyRoutes?: Array<{ dst: string; gw: string }>;
  vethLinkAddress?: string;
  vethMTU?: number;
  podRPFilter?: number;
  /** Not in Spiderpool's NAD (it comes from SpiderCoordinator there); read here too. */
  hostRuleTable?: number;
}

/**
 * Merges the plugin config over the cluster defaults and the pod annotation over both (Spiderpool's
 * precedence), refusing overlay mode (it chains behind Calico/Cilium) and the veth0 settings this
 * build does not apply (hijackCIDR routes, vethLinkAddress).
 */
export function resolveSettings(
  conf: CoordinatorConf,
  cluster: CoordinatorSpec | undefined,
  podDefaultRouteNicAnnotation: string | undefined,
): CoordinatorSettings | 'disabled' {
  const mode = conf.mode ?? cluster?.mode ?? 'auto';
  if (mode === 'disabled') return 'disabled';
  if (mode === 'overlay')
    throw new UnsupportedSetting('mode', 'overlay is not supported (use underlay or auto)');
  if (mode !== 'underlay' && mode !== 'auto')
    throw new UnsupportedSetting('mode', `unknown mode ${JSON.stringify(mode)}`);
  const hijack = conf.hijackCIDR ?? cluster?.hijackCIDR ?? [];
  if (hijack.length > 0)
    throw new UnsupportedSetting('hijackCIDR', 'routes to these CIDRs through veth0 are not supported');
  if (conf.vethLinkAddress || cluster?.vethLinkAddress)
    throw new UnsupportedSetting('vethLinkAddress', 'an address on veth0 is not supported');
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
