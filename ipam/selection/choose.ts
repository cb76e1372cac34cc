// From candidate names to the pools to try, in order: look the names up, filter, sort. A NIC and
// family left with no pool is an error that lists every skipped pool with its reason.
import type { SpiderIPPool } from '../../api/index.js';
import type { Family } from '../address/ip.js';
import type { NicCandidates } from '../candidates/candidates.js';
import { IpamError } from '../errors.js';
import { describeSkipped, type FilterContext, filterPools, type SkippedPool } from '../filter/filters.js';
import { sortPools } from '../sort/sort.js';

export interface PoolChoice {
  family: Family;
  nic: string;
  /** Usable pools in the order to try them. */
  pools: SpiderIPPool[];
  /** Candidates that were left out, with why. */
  skipped: SkippedPool[];
}

export interface NicPlan {
  nic: string;
  position?: number;
  cleanGateway: boolean;
  /** One entry per family to allocate, IPv4 first. */
  families: PoolChoice[];
}

/**
 * The pools to try for one NIC and family. `names` is the candidate list (see selectCandidates);
 * `all` every pool read. Throws NoCandidatePool when none is usable.
 */
export function choosePools(
  names: readonly string[],
  all: ReadonlyMap<string, SpiderIPPool> | readonly SpiderIPPool[],
  ctx: FilterContext,
): PoolChoice {
  const byName =
    all instanceof Map
      ? all
      : new Map((all as readonly SpiderIPPool[]).map((p) => [p.metadata.name ?? '', p]));
  const found: SpiderIPPool[] = [];
  const missing: SkippedPool[] = [];
  for (const name of names) {
    const pool = byName.get(name);
    if (pool) found.push(pool);
    else missing.push({ pool: name, reason: 'not found' });
  }
  const { usable, skipped } = filterPools(found, ctx);
  const allSkipped = [...missing, ...skipped];
  if (usable.length === 0) {
    const why = allSkipped.length ? allSkipped.map(describeSkipped).join('; ') : 'no candidates';
    throw new IpamError('NoCandidatePool', `no usable IPv${ctx.family} pool for ${ctx.nic}: ${why}`, {
      value: names,
    });
  }
  return { family: ctx.family, nic: ctx.nic, pools: sortPools(usable, names), skipped: allSkipped };
}

/** choosePools for every family of every planned NIC. */
export function planNics(
  nics: readonly NicCandidates[],
  all: readonly SpiderIPPool[],
  base: Omit<FilterContext, 'family' | 'nic' | 'position'>,
): NicPlan[] {
  const byName = new Map(all.map((p) => [p.metadata.name ?? '', p]));
  return nics.map((n) => {
    const families: PoolChoice[] = [];
    const lists: [Family, string[] | undefined][] = [
      [4, n.ipv4],
      [6, n.ipv6],
    ];
    for (const [family, names] of lists) {
      if (!names) continue;
      const ctx: FilterContext = { ...base, family, nic: n.nic };
      if (n.position !== undefined) ctx.position = n.position;
      families.push(choosePools(names, byName, ctx));
    }
    const plan: NicPlan = { nic: n.nic, cleanGateway: n.cleanGateway, families };
    if (n.position !== undefined) plan.position = n.position;
    return plan;
  });
}
