// What the mutating webhooks fill in (Spiderpool's mutations): `ipVersion` from the subnet (or, for
// a SpiderReservedIP, from its first entry), `ips` and `excludeIPs` merged and sorted, and the CIDR
// label pools and subnets are found by. The mutating webhook runs before the schema's CEL rules, so
// anything that cannot be parsed is left as it is for those rules (and the validating webhook) to
// refuse with a message.
import { labels } from '../../api/index.js';
import { parseCanonicalCIDR } from '../address/cidr.js';
import { type Family, ipFamily } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { mergeRanges } from '../ranges/spiderpool-ranges.js';

/** The values to set; a key is present only when it must change. */
export interface Defaults {
  ipVersion?: Family;
  ips?: string[];
  excludeIPs?: string[];
  /** Labels to set (key → value). */
  labels?: Record<string, string>;
}

/** `10.6.0.0/16` → `10-6-0-0-16`, as Spiderpool writes the CIDR labels. */
export function cidrLabelValue(subnet: string): string {
  return subnet.replace(/[.:/]/g, '-');
}

function familyOfSubnet(subnet: unknown): Family | undefined {
  if (typeof subnet !== 'string') return undefined;
  try {
    return parseCanonicalCIDR(subnet).family;
  } catch (error) {
    if (error instanceof IpamError) return undefined;
    throw error;
  }
}

function merged(entries: unknown, family: Family | undefined, field: string): string[] | undefined {
  if (!Array.isArray(entries) || entries.length === 0 || family === undefined) return undefined;
  try {
    const out = mergeRanges(entries as string[], family, field);
    return JSON.stringify(out) === JSON.stringify(entries) ? undefined : out;
  } catch (error) {
    if (error instanceof IpamError) return undefined;
    throw error;
  }
}

interface SubnetLike {
  metadata?: { labels?: Record<string, string> };
  spec?: { ipVersion?: unknown; subnet?: unknown; ips?: unknown; excludeIPs?: unknown };
}

function subnetDefaults(object: SubnetLike, labelKey: string): Defaults {
  const spec = object.spec ?? {};
  const out: Defaults = {};
  const fromSubnet = familyOfSubnet(spec.subnet);
  if (spec.ipVersion === undefined && fromSubnet !== undefined) out.ipVersion = fromSubnet;
  const family = spec.ipVersion === 4 || spec.ipVersion === 6 ? spec.ipVersion : fromSubnet;
  const ips = merged(spec.ips, family, 'spec.ips');
  if (ips) out.ips = ips;
  const excludeIPs = merged(spec.excludeIPs, family, 'spec.excludeIPs');
  if (excludeIPs) out.excludeIPs = excludeIPs;
  if (typeof spec.subnet === 'string' && spec.subnet !== '') {
    const value = cidrLabelValue(spec.subnet);
    if (object.metadata?.labels?.[labelKey] !== value) out.labels = { [labelKey]: value };
  }
  return out;
}

/** SpiderIPPool: ipVersion, merged ranges, label `ipam.spidernet.io/ippool-cidr`. */
export function poolDefaults(pool: SubnetLike): Defaults {
  return subnetDefaults(pool, labels.ippoolCidr);
}

/** SpiderSubnet: ipVersion, merged ranges, label `ipam.spidernet.io/subnet-cidr`. */
export function subnetObjectDefaults(subnet: SubnetLike): Defaults {
  return subnetDefaults(subnet, labels.subnetCidr);
}

/** SpiderReservedIP: ipVersion from its first entry, merged ips. */
export function reservedIPDefaults(reserved: { spec?: { ipVersion?: unknown; ips?: unknown } }): Defaults {
  const spec = reserved.spec ?? {};
  const out: Defaults = {};
  const first =
    Array.isArray(spec.ips) && typeof spec.ips[0] === 'string' ? spec.ips[0].split('-')[0] : undefined;
  const fromFirst = first !== undefined ? ipFamily(first) : undefined;
  if (spec.ipVersion === undefined && fromFirst !== undefined) out.ipVersion = fromFirst;
  const family = spec.ipVersion === 4 || spec.ipVersion === 6 ? spec.ipVersion : fromFirst;
  const ips = merged(spec.ips, family, 'spec.ips');
  if (ips) out.ips = ips;
  return out;
}
