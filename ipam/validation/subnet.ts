// SpiderSubnet admission: the spec rules pools have, plus its place among the others: a subnet
// overlaps no other subnet, and no pool of another CIDR inside it; pools of its CIDR take their
// addresses from its IPs (so an UPDATE cannot take away addresses such a pool has).
import type { SpiderIPPool, SpiderSubnet } from '../../api/index.js';
import { subtract } from '../ranges/intervals.js';
import { checkAddressSpec, type FamilySwitches } from './address-spec.js';
import { type FieldError, invalid, isFieldError } from './field-error.js';
import { overlapping, showRanges } from './pool.js';

export interface SubnetValidationContext extends FamilySwitches {
  /** The other subnets (the reviewed one is skipped by name). */
  subnets: readonly SpiderSubnet[];
  pools: readonly SpiderIPPool[];
}

export function validateSubnet(subnet: SpiderSubnet, ctx: SubnetValidationContext): FieldError | undefined {
  const checked = checkAddressSpec(subnet.spec, ctx);
  if (isFieldError(checked)) return checked;
  const name = subnet.metadata.name ?? '';
  const text = subnet.spec.subnet;
  const [clash] = overlapping(ctx.subnets, checked.subnet, name);
  if (clash)
    return invalid(
      'spec.subnet',
      text,
      `overlaps the subnet ${clash.subnetText} of SpiderSubnet ${clash.name}`,
    );
  for (const p of overlapping(ctx.pools, checked.subnet)) {
    if (p.subnetText !== text)
      return invalid(
        'spec.subnet',
        text,
        `overlaps the subnet ${p.subnetText} of SpiderIPPool ${p.name}; a pool inside a SpiderSubnet must use its subnet exactly`,
      );
    const outside = subtract(p.effective, checked.effective);
    if (outside.length > 0)
      return invalid(
        'spec.ips',
        subnet.spec.ips ?? [],
        `must include the addresses of SpiderIPPool ${p.name}; ${showRanges(checked.family, outside)} are missing`,
      );
  }
  return undefined;
}
