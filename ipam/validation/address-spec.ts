// The checks SpiderIPPool and SpiderSubnet share on their own spec (Spiderpool's V1, V2, V5, V7,
// V8): the family is enabled, the subnet is canonical and of that family, every `ips`/`excludeIPs`
// entry is an address or range inside the subnet, the gateway lies in the subnet and is never
// handed out, and routes are sane. The CRDs' CEL rules check part of this too; the messages here
// name the exact entry, and the rules agree with CEL wherever both apply.
import type { CIDR } from '../address/cidr.js';
import { cidrContains, parseCanonicalCIDR, parseCIDR } from '../address/cidr.js';
import { type Family, parseIP } from '../address/ip.js';
import { contains, type IntervalSet, normalize, subtract } from '../ranges/intervals.js';
import { parseRangeEntry } from '../ranges/spiderpool-ranges.js';
import { attempt, type FieldError, forbidden, invalid, isFieldError, required } from './field-error.js';

/** The families conf.yml enables (Spiderpool's enableIPv4 / enableIPv6). */
export interface FamilySwitches {
  enableIPv4: boolean;
  enableIPv6: boolean;
}

/** The fields both specs have. */
export interface AddressSpec {
  ipVersion?: 4 | 6;
  subnet: string;
  ips?: string[];
  excludeIPs?: string[];
  gateway?: string;
  routes?: { dst: string; gw: string }[];
}

/** A spec that passed: its subnet and address sets, for the cross-object checks. */
export interface CheckedSpec {
  family: Family;
  subnet: CIDR;
  ips: IntervalSet;
  excluded: IntervalSet;
  /** ips − excludeIPs: what the pool counts and may hand out. */
  effective: IntervalSet;
}

/** V1: `ipVersion` is set (the mutating webhook fills it), valid, and its family enabled. */
export function checkFamily(ipVersion: unknown, switches: FamilySwitches): FieldError | Family {
  if (ipVersion === undefined)
    return required('spec.ipVersion', 'must be 4 or 6 (it is filled from the subnet when left out)');
  if (ipVersion !== 4 && ipVersion !== 6) return invalid('spec.ipVersion', ipVersion, 'must be 4 or 6');
  const enabled = ipVersion === 4 ? switches.enableIPv4 : switches.enableIPv6;
  if (!enabled)
    return forbidden(
      'spec.ipVersion',
      `IPv${ipVersion} is disabled (enableIPv${ipVersion}: false in conf.yml)`,
    );
  return ipVersion;
}

/** One list's entries, each parsed as an address or range of `family` inside `subnet`. */
function rangeList(
  entries: readonly string[] | undefined,
  field: 'spec.ips' | 'spec.excludeIPs',
  family: Family,
  subnet: CIDR,
  subnetText: string,
): FieldError | IntervalSet {
  const intervals = [];
  for (const [i, entry] of (entries ?? []).entries()) {
    const at = `${field}[${i}]`;
    const parsed = attempt(at, entry, () => parseRangeEntry(entry, family, at));
    if (isFieldError(parsed)) return parsed;
    if (parsed.start < subnet.network || parsed.end > subnet.last)
      return invalid(at, entry, `must lie inside spec.subnet ${subnetText}`);
    intervals.push({ start: parsed.start, end: parsed.end });
  }
  return normalize(intervals);
}

function checkRoutes(
  routes: AddressSpec['routes'],
  family: Family,
  subnet: CIDR,
  subnetText: string,
): FieldError | undefined {
  const seen = new Map<string, number>();
  for (const [i, route] of (routes ?? []).entries()) {
    const at = `spec.routes[${i}]`;
    const dst = attempt(`${at}.dst`, route.dst, () => parseCIDR(route.dst, family, `${at}.dst`));
    if (isFieldError(dst)) return dst;
    if (dst.prefix === 0)
      return invalid(`${at}.dst`, route.dst, 'a default route is not allowed here; set spec.gateway instead');
    const key = `${dst.network}/${dst.prefix}`;
    const first = seen.get(key);
    if (first !== undefined) return invalid(`${at}.dst`, route.dst, `duplicates spec.routes[${first}].dst`);
    seen.set(key, i);
    const gw = attempt(`${at}.gw`, route.gw, () => parseIP(route.gw, family, `${at}.gw`));
    if (isFieldError(gw)) return gw;
    if (!cidrContains(subnet, gw))
      return invalid(`${at}.gw`, route.gw, `must lie inside spec.subnet ${subnetText}`);
  }
  return undefined;
}

/** Every single-object check of a pool or subnet spec, first failure first. */
export function checkAddressSpec(spec: AddressSpec, switches: FamilySwitches): FieldError | CheckedSpec {
  const subnet = attempt('spec.subnet', spec.subnet, () =>
    parseCanonicalCIDR(spec.subnet, undefined, 'spec.subnet'),
  );
  if (isFieldError(subnet)) return subnet;
  const family = checkFamily(spec.ipVersion, switches);
  if (isFieldError(family)) return family;
  if (subnet.family !== family)
    return invalid(
      'spec.ipVersion',
      spec.ipVersion,
      `does not match the family of spec.subnet ${spec.subnet}`,
    );
  const ips = rangeList(spec.ips, 'spec.ips', family, subnet, spec.subnet);
  if (isFieldError(ips)) return ips;
  const excluded = rangeList(spec.excludeIPs, 'spec.excludeIPs', family, subnet, spec.subnet);
  if (isFieldError(excluded)) return excluded;
  const effective = subtract(ips, excluded);
  if (spec.gateway !== undefined && spec.gateway !== '') {
    const gw = attempt('spec.gateway', spec.gateway, () =>
      parseIP(spec.gateway as string, family, 'spec.gateway'),
    );
    if (isFieldError(gw)) return gw;
    if (!cidrContains(subnet, gw))
      return invalid('spec.gateway', spec.gateway, `must lie inside spec.subnet ${spec.subnet}`);
    if (contains(effective, gw.value))
      return invalid(
        'spec.gateway',
        spec.gateway,
        'is among spec.ips and would be handed out to a pod; add it to spec.excludeIPs',
      );
  }
  const routes = checkRoutes(spec.routes, family, subnet, spec.subnet);
  if (routes) return routes;
  return { family, subnet, ips, excluded, effective };
}
