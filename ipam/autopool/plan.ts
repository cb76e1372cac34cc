// One auto-pool's next addresses, decided from its SpiderSubnet, the pool as it is and the other
// pools: what the subnet's controlledIPPools must say before the pool changes (`reserve`: the new
// addresses and the pool's current ones, so the pool never has an address the subnet has not given
// it) and after (`final`: the new addresses only, giving the dropped ones back).
import type { SpiderIPPool, SpiderSubnet } from '../../api/index.js';
import { parseCanonicalCIDR } from '../address/cidr.js';
import type { Family } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { emptySet, fromValues, type IntervalSet, subtract, union } from '../ranges/intervals.js';
import { decodeRecords } from '../records/codec.js';
import { type ControlledPools, carve, decodeControlled, formatSet, rangesOf } from './carve.js';

export interface SlotPlanInput {
  subnet: SpiderSubnet;
  poolName: string;
  /** The pool, when it exists. */
  pool?: SpiderIPPool;
  /** Every other pool (those of the subnet's CIDR count as taken). */
  others: readonly SpiderIPPool[];
  desired: number;
  /** controlledIPPools' `application` of the entry. */
  application: string;
}

export interface SlotPlan {
  family: Family;
  /** The pool's spec.ips after this step. */
  ips: string[];
  /** controlledIPPools before the pool is written, and after. */
  reserve: ControlledPools;
  final: ControlledPools;
  short: number;
  held: number;
}

function effective(
  family: Family,
  spec: { ips?: string[]; excludeIPs?: string[] },
  where: string,
): IntervalSet {
  return subtract(
    rangesOf(family, spec.ips, `${where} spec.ips`),
    rangesOf(family, spec.excludeIPs, `${where} spec.excludeIPs`),
  );
}

export function planSlot(input: SlotPlanInput): SlotPlan {
  const subnetName = input.subnet.metadata.name ?? '';
  const cidr = parseCanonicalCIDR(
    input.subnet.spec.subnet,
    undefined,
    `SpiderSubnet ${subnetName} spec.subnet`,
  );
  const family = cidr.family;
  if (input.pool && input.pool.spec.subnet !== input.subnet.spec.subnet) {
    throw new IpamError(
      'InvalidInput',
      `the auto-pool has subnet ${input.pool.spec.subnet}, SpiderSubnet ${subnetName} is ${input.subnet.spec.subnet}; an auto-pool cannot move to another subnet`,
      { pool: input.poolName, field: 'spec.subnet' },
    );
  }
  const controlled = decodeControlled(subnetName, input.subnet.status?.controlledIPPools);
  let taken: IntervalSet = emptySet;
  for (const [name, entry] of Object.entries(controlled))
    if (name !== input.poolName)
      taken = union(taken, rangesOf(family, entry.ips, `controlledIPPools.${name}`));
  for (const other of input.others) {
    const name = other.metadata.name ?? '';
    if (name === input.poolName || other.spec.subnet !== input.subnet.spec.subnet) continue;
    try {
      taken = union(taken, effective(family, other.spec, `SpiderIPPool ${name}`));
    } catch (error) {
      if (!(error instanceof IpamError)) throw error;
    }
  }
  const poolIPs = input.pool
    ? effective(family, input.pool.spec, `SpiderIPPool ${input.poolName}`)
    : emptySet;
  const given = rangesOf(family, controlled[input.poolName]?.ips, `controlledIPPools.${input.poolName}`);
  const allocated = input.pool
    ? fromValues(decodeRecords(input.poolName, input.pool.status?.allocatedIPs, family).map((r) => r.value))
    : emptySet;
  const carved = carve({
    subnet: effective(family, input.subnet.spec, `SpiderSubnet ${subnetName}`),
    taken,
    // A pool that does not exist yet may have been given addresses by an earlier step that failed after.
    current: input.pool ? poolIPs : given,
    allocated,
    desired: input.desired,
  });
  const entry = (set: IntervalSet) => ({ ips: formatSet(family, set), application: input.application });
  return {
    family,
    ips: formatSet(family, carved.target),
    reserve: { ...controlled, [input.poolName]: entry(union(carved.target, poolIPs)) },
    final: { ...controlled, [input.poolName]: entry(carved.target) },
    short: carved.short,
    held: carved.held,
  };
}

/** controlledIPPools without a pool that is gone. */
export function withoutPool(controlled: ControlledPools, pool: string): ControlledPools {
  const { [pool]: _gone, ...rest } = controlled;
  return rest;
}
