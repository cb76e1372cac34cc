// SpiderIPPool admission: single-object checks (address-spec.ts, selectors.ts) and the cross-object
// ones only a webhook can make: no pool subnet overlapping another of the same family unless they
// are written identically (V4), no address in two pools of one subnet (V6), addresses within the
// SpiderSubnet of the same CIDR when SpiderSubnet is on (V10), and on UPDATE no allocated address
// leaving the pool. First failure wins, as in Spiderpool.
import type { SpiderIPPool, SpiderSubnet } from '../../api/index.js';
import { type CIDR, parseCanonicalCIDR } from '../address/cidr.js';
import type { Family } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { contains, type IntervalSet, intersect, subtract } from '../ranges/intervals.js';
import { formatRanges, parseRanges } from '../ranges/spiderpool-ranges.js';
import { decodeRecords } from '../records/codec.js';
import { type CheckedSpec, checkAddressSpec, type FamilySwitches } from './address-spec.js';
import { type FieldError, forbidden, invalid, isFieldError } from './field-error.js';
import { checkSelector } from './selectors.js';

export interface PoolValidationContext extends FamilySwitches {
  /** conf.yml enableSpiderSubnet: pools must then take their addresses from a SpiderSubnet's. */
  enableSpiderSubnet: boolean;
  /** The other pools of the cluster (the reviewed one is skipped by name). */
  pools: readonly SpiderIPPool[];
  subnets: readonly SpiderSubnet[];
}

/** A few ranges for a message, and how many more there are. */
export function showRanges(family: Family, set: IntervalSet, most = 3): string {
  const all = formatRanges(family, set);
  const shown = all.slice(0, most).join(', ');
  return all.length > most ? `${shown} and ${all.length - most} more` : shown;
}

interface OtherSpec {
  name: string;
  subnetText: string;
  subnet: CIDR;
  effective: IntervalSet;
}

/** Another object's subnet and addresses, or undefined when its spec cannot be read (it is skipped). */
function otherSpec(
  name: string,
  spec: { subnet: string; ips?: string[]; excludeIPs?: string[] },
): OtherSpec | undefined {
  try {
    const subnet = parseCanonicalCIDR(spec.subnet);
    const ips = parseRanges(spec.ips, subnet.family, 'spec.ips').set;
    const excluded = parseRanges(spec.excludeIPs, subnet.family, 'spec.excludeIPs').set;
    return { name, subnetText: spec.subnet, subnet, effective: subtract(ips, excluded) };
  } catch (error) {
    if (error instanceof IpamError) return undefined;
    throw error;
  }
}

const cidrsOverlap = (a: CIDR, b: CIDR): boolean =>
  a.family === b.family && a.network <= b.last && b.network <= a.last;

/** The objects whose readable subnet overlaps `subnet`, the one named `except` left out. */
export function overlapping(
  objects: readonly { metadata: { name?: string }; spec: Parameters<typeof otherSpec>[1] }[],
  subnet: CIDR,
  except?: string,
): OtherSpec[] {
  const out: OtherSpec[] = [];
  for (const other of objects) {
    const name = other.metadata.name ?? '';
    if (name === except) continue;
    const o = otherSpec(name, other.spec);
    if (o && cidrsOverlap(o.subnet, subnet)) out.push(o);
  }
  return out;
}

function crossChecks(
  pool: SpiderIPPool,
  checked: CheckedSpec,
  ctx: PoolValidationContext,
): FieldError | undefined {
  const name = pool.metadata.name ?? '';
  const subnetText = pool.spec.subnet;
  for (const o of overlapping(ctx.pools, checked.subnet, name)) {
    if (o.subnetText !== subnetText)
      return invalid(
        'spec.subnet',
        subnetText,
        `overlaps the subnet ${o.subnetText} of SpiderIPPool ${o.name}; pools may share a subnet only when it is written identically`,
      );
    const shared = intersect(o.effective, checked.effective);
    if (shared.length > 0)
      return invalid(
        'spec.ips',
        pool.spec.ips ?? [],
        `${showRanges(checked.family, shared)} already belong to SpiderIPPool ${o.name}`,
      );
  }
  if (ctx.enableSpiderSubnet) {
    for (const subnet of ctx.subnets) {
      const s = otherSpec(subnet.metadata.name ?? '', subnet.spec);
      if (!s || s.subnetText !== subnetText) continue;
      const outside = subtract(checked.effective, s.effective);
      if (outside.length > 0)
        return invalid(
          'spec.ips',
          pool.spec.ips ?? [],
          `${showRanges(checked.family, outside)} are not among the IPs of SpiderSubnet ${s.name}`,
        );
    }
  }
  return undefined;
}

/** CREATE (and the re-run part of UPDATE): every rule on the new object. */
export function validatePool(pool: SpiderIPPool, ctx: PoolValidationContext): FieldError | undefined {
  const checked = checkAddressSpec(pool.spec, ctx);
  if (isFieldError(checked)) return checked;
  const selectors =
    checkSelector(pool.spec.podAffinity, 'spec.podAffinity', { nonEmpty: true }) ??
    checkSelector(pool.spec.nodeAffinity, 'spec.nodeAffinity') ??
    checkSelector(pool.spec.namespaceAffinity, 'spec.namespaceAffinity');
  if (selectors) return selectors;
  return crossChecks(pool, checked, ctx);
}

/**
 * UPDATE: the rules of CREATE on the new object, and every allocated address (a record of the
 * current status) must stay in ips − excludeIPs: the message names the address and its holder.
 * Immutable fields and terminating pools are refused before this runs.
 */
export function validatePoolUpdate(
  old: SpiderIPPool,
  pool: SpiderIPPool,
  ctx: PoolValidationContext,
): FieldError | undefined {
  const first = validatePool(pool, ctx);
  if (first) return first;
  const checked = checkAddressSpec(pool.spec, ctx) as CheckedSpec;
  let records: ReturnType<typeof decodeRecords>;
  try {
    records = decodeRecords(pool.metadata.name ?? '', old.status?.allocatedIPs, checked.family);
  } catch (error) {
    // Unreadable records cannot be protected; refuse rather than risk dropping an allocation.
    if (error instanceof IpamError)
      return forbidden(
        'status.allocatedIPs',
        `${error.message}; the pool's addresses cannot be changed until its records can be read`,
      );
    throw error;
  }
  for (const record of records) {
    if (contains(checked.effective, record.value)) continue;
    const field = contains(checked.ips, record.value) ? 'spec.excludeIPs' : 'spec.ips';
    return forbidden(
      field,
      `${record.ip} is allocated to ${record.pod} (pod UID ${record.podUid}${record.nic ? `, ${record.nic}` : ''}); it cannot leave the pool until it is released`,
    );
  }
  return undefined;
}
