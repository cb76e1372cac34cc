// STATUS's second question: could this network serve a pod that names no pools? Pure. The pools such
// a pod gets are the configuration's default_ipv4_ippool/default_ipv6_ippool, or else the pools with
// spec.default; a pool counts when it exists, is neither disabled nor terminating, admits this node
// by nodeName, and has a free address. Pod annotations, namespace defaults and the affinities that
// depend on a pod cannot be judged without a pod, so a network that names no defaults (and has no
// spec.default pools) is not judged at all.
import type { SpiderIPPool, SpiderReservedIP } from '../../api/index.js';
import type { Family } from '../../ipam/address/ip.js';
import { expandPoolList } from '../../ipam/candidates/wildcard.js';
import { IpamError } from '../../ipam/errors.js';
import { poolFamily, reservedSet } from '../../ipam/pool/space.js';
import { poolUsage } from '../../ipam/pool/usage.js';

export interface DefaultPoolsInput {
  pools: readonly SpiderIPPool[];
  reservedIPs: readonly SpiderReservedIP[];
  defaultIPv4Pools: readonly string[];
  defaultIPv6Pools: readonly string[];
  nodeName: string;
  enableIPv4: boolean;
  enableIPv6: boolean;
}

function familyOf(pool: SpiderIPPool): Family | undefined {
  try {
    return poolFamily(pool);
  } catch {
    return undefined;
  }
}

/** Why `pool` cannot serve a pod of this node now, or undefined when it can. */
function unusable(
  pool: SpiderIPPool | undefined,
  input: DefaultPoolsInput,
  family: Family,
): string | undefined {
  if (!pool) return 'not found';
  if (pool.metadata.deletionTimestamp) return 'terminating';
  if (pool.spec.disable) return 'disabled';
  if (pool.spec.nodeName?.length && !pool.spec.nodeName.includes(input.nodeName))
    return `nodeName does not include ${input.nodeName}`;
  try {
    const usage = poolUsage(pool, reservedSet(input.reservedIPs, family));
    if (usage.free === 0n) return `exhausted (${usage.allocated} of ${usage.allocatable} allocated)`;
  } catch (err) {
    if (err instanceof IpamError) return err.message;
    throw err;
  }
  return undefined;
}

/** The problems that make STATUS fail, one per family with no usable default pool; empty when fine. */
export function defaultPoolProblems(input: DefaultPoolsInput): string[] {
  const byName = new Map(input.pools.map((p) => [p.metadata.name ?? '', p]));
  const namesOf = (family: Family) =>
    input.pools.filter((p) => familyOf(p) === family).map((p) => p.metadata.name ?? '');
  const configured = input.defaultIPv4Pools.length + input.defaultIPv6Pools.length > 0;
  const families: [Family, boolean, readonly string[], string][] = [
    [4, input.enableIPv4, input.defaultIPv4Pools, 'default_ipv4_ippool'],
    [6, input.enableIPv6, input.defaultIPv6Pools, 'default_ipv6_ippool'],
  ];
  const problems: string[] = [];
  for (const [family, enabled, list, key] of families) {
    if (!enabled) continue;
    let names: string[];
    let source: string;
    if (configured) {
      if (list.length === 0) continue;
      source = key;
      try {
        names = expandPoolList(list, namesOf(family), key);
      } catch (err) {
        if (!(err instanceof IpamError)) throw err;
        problems.push(err.message);
        continue;
      }
      if (names.length === 0) {
        problems.push(`${key}: no IPv${family} pool matches ${JSON.stringify(list)}`);
        continue;
      }
    } else {
      source = 'pools with spec.default';
      names = input.pools
        .filter((p) => p.spec.default && familyOf(p) === family)
        .map((p) => p.metadata.name ?? '')
        .sort();
      if (names.length === 0) continue;
    }
    const reasons = names.map((name) => [name, unusable(byName.get(name), input, family)] as const);
    if (reasons.every(([, why]) => why !== undefined)) {
      problems.push(
        `no usable IPv${family} pool among ${source}: ${reasons.map(([name, why]) => `${name} ${why}`).join('; ')}`,
      );
    }
  }
  return problems;
}
