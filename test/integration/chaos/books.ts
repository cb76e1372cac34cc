// The books of the chaos suite: every address of the pools a scenario uses, audited against the pods
// and SpiderEndpoints that exist. An address is held twice when two records (of any of the pools)
// carry it, or when two live pods were answered it and both still count on it; it is held by nobody
// (a leak) when its record names a pod UID that no pod of the cluster has. A pod that was answered
// must hold exactly the address it was answered, and its endpoint must say so.
import type { ClusterFixtures } from '../../harness/spiderpool-api.js';

export interface Audit {
  records: number;
  /** Addresses carried by more than one record, or answered to two pods that still exist. */
  duplicates: string[];
  /** Records whose pod UID belongs to no pod: `<ip> <pod> <uid>`. */
  leaks: string[];
  /** Pools whose allocatedIPCount is not their number of records. */
  miscounted: string[];
  /** Pods answered an address that they do not hold (or whose endpoint disagrees). */
  lost: string[];
}

export const clean = (a: Audit): boolean =>
  a.duplicates.length + a.leaks.length + a.miscounted.length + a.lost.length === 0;

/**
 * `answered`: pod UID → the address its last successful ADD printed, for pods that still exist.
 */
export async function audit(
  fixtures: ClusterFixtures,
  namespace: string,
  pools: string[],
  answered: Map<string, string>,
): Promise<Audit> {
  const out: Audit = { records: 0, duplicates: [], leaks: [], miscounted: [], lost: [] };
  const pods = (await fixtures.core.listNamespacedPod({ namespace })).items;
  const podsByUid = new Map(pods.map((p) => [p.metadata?.uid ?? '', p]));
  const holders = new Map<string, string[]>();
  for (const pool of pools) {
    const state = await fixtures.poolState(pool);
    out.records += state.records.length;
    if ((state.allocatedIPCount ?? 0) !== state.records.length)
      out.miscounted.push(
        `${pool}: allocatedIPCount ${state.allocatedIPCount}, ${state.records.length} records`,
      );
    for (const r of state.records) {
      holders.set(r.ip, [...(holders.get(r.ip) ?? []), r.podUid]);
      if (!podsByUid.has(r.podUid)) out.leaks.push(`${r.ip} ${r.pod} ${r.podUid}`);
    }
  }
  for (const [ip, uids] of holders)
    if (uids.length > 1) out.duplicates.push(`${ip} recorded for ${uids.join(', ')}`);
  const answeredTo = new Map<string, string[]>();
  const endpoints = new Map(
    (await fixtures.spiderpool.listEndpoints({ namespace })).items.map((e) => [e.metadata.name ?? '', e]),
  );
  const heldBy = new Map<string, string[]>();
  for (const [ip, uids] of holders) for (const uid of uids) heldBy.set(uid, [...(heldBy.get(uid) ?? []), ip]);
  for (const [uid, ip] of answered) {
    const pod = podsByUid.get(uid);
    if (!pod) continue;
    answeredTo.set(ip, [...(answeredTo.get(ip) ?? []), uid]);
    const held = heldBy.get(uid) ?? [];
    const name = pod.metadata?.name ?? '';
    if (held.length !== 1 || held[0] !== ip) {
      out.lost.push(`${name} was answered ${ip}, holds ${held.join(', ') || 'nothing'}`);
      continue;
    }
    const current = endpoints.get(name)?.status?.current;
    const inEndpoint = current?.ips.map((e) => e.ipv4?.split('/')[0]);
    if (current?.uid !== uid || !inEndpoint?.includes(ip))
      out.lost.push(`${name} holds ${ip}; its endpoint says ${current?.uid} ${inEndpoint?.join(', ')}`);
  }
  for (const [ip, uids] of answeredTo)
    if (uids.length > 1) out.duplicates.push(`${ip} answered to ${uids.join(', ')}`);
  return out;
}
