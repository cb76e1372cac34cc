// The network settings of each NIC, as plain data the CNI plugin turns into a result of the
// requested cniVersion and into SpiderEndpoint entries: addresses with the pool's prefix length and
// gateway, a default route per family through the pool gateway unless cleanGateway, the pool's
// routes, and the pod's `ipam.spidernet.io/routes` entries on the NIC whose subnet holds their next
// hop. Unplaceable pod routes are reported, not dropped in silence.
import type { IPAllocationDetail, SpiderIPPool } from '../../api/index.js';
import { type CIDR, cidrContains, parseCIDR } from '../address/cidr.js';
import { type Family, formatIP, parseIP } from '../address/ip.js';
import { withinPool } from '../errors.js';
import { type ParsedRoute, parseRoute } from './routes.js';

export interface NicAllocation {
  nic: string;
  cleanGateway: boolean;
  /** One address per family: the pool it came from and the bare address. */
  addresses: { pool: SpiderIPPool; ip: string }[];
}

export interface NicIP {
  family: Family;
  /** `ip/prefix`. */
  address: string;
  ip: string;
  prefix: number;
  gateway?: string;
  pool: string;
}

export interface NicRoute {
  dst: string;
  gw: string;
}

export interface NicNetwork {
  nic: string;
  cleanGateway: boolean;
  ips: NicIP[];
  /** Default routes first (per family, unless cleanGateway), then pool routes, then pod routes. */
  routes: NicRoute[];
}

const defaultDst = { 4: '0.0.0.0/0', 6: '::/0' } as const;

/**
 * Builds every NIC's settings. `podRoutes` (see podRoutes) go to the first NIC, in the given order,
 * that has an address whose subnet contains the route's next hop; the others come back in
 * `unmatchedRoutes`. A malformed pool gateway or route throws, naming the pool.
 */
export function buildNicNetworks(
  nics: readonly NicAllocation[],
  podRoutes: readonly ParsedRoute[] = [],
): { nics: NicNetwork[]; unmatchedRoutes: ParsedRoute[] } {
  const subnets: { nic: number; subnet: CIDR }[] = [];
  const out = nics.map((n, index): NicNetwork => {
    const ips: NicIP[] = [];
    const defaults: NicRoute[] = [];
    const poolRoutes: NicRoute[] = [];
    for (const { pool, ip } of n.addresses) {
      const name = pool.metadata.name ?? '';
      withinPool(name, () => {
        const subnet = parseCIDR(pool.spec.subnet, undefined, 'spec.subnet');
        const address = parseIP(ip, subnet.family, 'ip');
        const entry: NicIP = {
          family: subnet.family,
          address: `${formatIP(address)}/${subnet.prefix}`,
          ip: formatIP(address),
          prefix: subnet.prefix,
          pool: name,
        };
        if (pool.spec.gateway) {
          entry.gateway = formatIP(parseIP(pool.spec.gateway, subnet.family, 'spec.gateway'));
          if (!n.cleanGateway) defaults.push({ dst: defaultDst[subnet.family], gw: entry.gateway });
        }
        (pool.spec.routes ?? []).forEach((r, i) => {
          const parsed = parseRoute(r, `spec.routes[${i}]`, subnet.family);
          poolRoutes.push({ dst: parsed.dst, gw: parsed.gw });
        });
        ips.push(entry);
        subnets.push({ nic: index, subnet });
      });
    }
    return { nic: n.nic, cleanGateway: n.cleanGateway, ips, routes: [...defaults, ...poolRoutes] };
  });

  const unmatchedRoutes: ParsedRoute[] = [];
  for (const route of podRoutes) {
    const home = subnets.find((s) => cidrContains(s.subnet, { family: route.family, value: route.gwValue }));
    if (home) out[home.nic]?.routes.push({ dst: route.dst, gw: route.gw });
    else unmatchedRoutes.push(route);
  }
  return { nics: out, unmatchedRoutes };
}

/** The SpiderEndpoint entry (IPAllocationDetail) of a NIC. */
export function endpointEntry(network: NicNetwork): IPAllocationDetail {
  const detail: IPAllocationDetail = { interface: network.nic, vlan: 0 };
  let hasGateway = false;
  for (const ip of network.ips) {
    if (ip.family === 4) {
      detail.ipv4 = ip.address;
      detail.ipv4Pool = ip.pool;
      if (ip.gateway) detail.ipv4Gateway = ip.gateway;
    } else {
      detail.ipv6 = ip.address;
      detail.ipv6Pool = ip.pool;
      if (ip.gateway) detail.ipv6Gateway = ip.gateway;
    }
    hasGateway ||= ip.gateway !== undefined;
  }
  // Spiderpool writes cleanGateway only when there is a gateway to clean.
  if (hasGateway) detail.cleanGateway = network.cleanGateway;
  if (network.routes.length) detail.routes = network.routes.map((r) => ({ ...r }));
  return detail;
}

/**
 * A NIC's settings read back from its SpiderEndpoint entry: what a static identity's new pod gets
 * when it takes its addresses over. Entries Spiderpool wrote carry no default routes in `routes`,
 * so a default route is added per gateway unless cleanGateway, without duplicating one present.
 */
export function nicNetworkFromEndpoint(detail: IPAllocationDetail): NicNetwork {
  const ips: NicIP[] = [];
  const cleanGateway = detail.cleanGateway ?? false;
  const defaults: NicRoute[] = [];
  const entries: [Family, string | undefined, string | undefined, string | undefined][] = [
    [4, detail.ipv4, detail.ipv4Pool, detail.ipv4Gateway],
    [6, detail.ipv6, detail.ipv6Pool, detail.ipv6Gateway],
  ];
  for (const [family, address, pool, gateway] of entries) {
    if (!address) continue;
    const field = `ipv${family}`;
    const cidr = parseCIDR(address, family, field);
    const ip = formatIP({ family, value: cidr.address });
    const entry: NicIP = {
      family,
      address: `${ip}/${cidr.prefix}`,
      ip,
      prefix: cidr.prefix,
      pool: pool ?? '',
    };
    if (gateway) {
      entry.gateway = formatIP(parseIP(gateway, family, `ipv${family}Gateway`));
      if (!cleanGateway) defaults.push({ dst: defaultDst[family], gw: entry.gateway });
    }
    ips.push(entry);
  }
  const stored = (detail.routes ?? []).map((r) => ({ dst: r.dst, gw: r.gw }));
  const missing = defaults.filter((d) => !stored.some((r) => r.dst === d.dst));
  return { nic: detail.interface, cleanGateway, ips, routes: [...missing, ...stored] };
}
