// The order in which candidate pools are tried. Spiderpool ranks pools by how specific their
// affinities are (podAffinity > nodeName > nodeAffinity > namespaceName > namespaceAffinity >
// multusName > the rest) but leaves pools of equal rank in random order (a Go map and an unstable
// sort). Here equal ranks keep the order the user wrote, then go by name, so the same input always
// gives the same order.
import type { SpiderIPPool } from '../../api/index.js';

/** The affinity flags in Spiderpool's precedence; a pool with an earlier flag set goes first. */
export function affinityRank(pool: SpiderIPPool): boolean[] {
  const s = pool.spec;
  return [
    s.podAffinity !== undefined,
    (s.nodeName?.length ?? 0) > 0,
    s.nodeAffinity !== undefined,
    (s.namespaceName?.length ?? 0) > 0,
    s.namespaceAffinity !== undefined,
    (s.multusName?.length ?? 0) > 0,
  ];
}

/**
 * Sorts pools by affinity rank, then by their position in `userOrder` (the candidate list as the
 * user wrote it; names not in it go after those that are), then by name. Returns a new array.
 */
export function sortPools(pools: readonly SpiderIPPool[], userOrder: readonly string[] = []): SpiderIPPool[] {
  const position = new Map<string, number>();
  userOrder.forEach((name, i) => {
    if (!position.has(name)) position.set(name, i);
  });
  const keyed = pools.map((pool) => {
    const name = pool.metadata.name ?? '';
    return { pool, name, rank: affinityRank(pool), at: position.get(name) ?? Number.POSITIVE_INFINITY };
  });
  keyed.sort((a, b) => {
    for (let i = 0; i < a.rank.length; i++) {
      if (a.rank[i] !== b.rank[i]) return a.rank[i] ? -1 : 1;
    }
    if (a.at !== b.at) return a.at < b.at ? -1 : 1;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return keyed.map((k) => k.pool);
}
