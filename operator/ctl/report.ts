// What the commands report, as plain data (the same for the table, JSON and YAML): pool and subnet
// usage, and who holds an address. Pure: computed from objects already read.
import type { V1Pod } from '@kubernetes/client-node';
import { labels } from '../../api/index.js';
import { type Family, formatIP, parseIP } from '../../ipam/address/ip.js';
import { IpamError } from '../../ipam/errors.js';
import type { PooledRecord } from '../../ipam/gc/audit.js';
import {
  type GcContext,
  holderVerdict,
  type Owner,
  type OwnerFacts,
  ownerKind,
  parseOwnerKey,
} from '../../ipam/gc/verdict.js';
import { type IdentityKind, identityOf } from '../../ipam/identity/identity.js';
import { poolFamily, reservedSet } from '../../ipam/pool/space.js';
import { poolUsage } from '../../ipam/pool/usage.js';
import { decodeRecords } from '../../ipam/records/codec.js';
import { subnetTotal } from '../controllers/subnets.js';
import type { Books } from './cluster.js';

export interface PoolRow {
  name: string;
  /** 4 or 6; undefined when the spec cannot be read. */
  family?: Family;
  subnet: string;
  allocated: number;
  /** |ips − excludeIPs| (Spiderpool's totalIPCount), as a decimal string: an IPv6 pool exceeds 2^53. */
  total: string;
  /** Allocatable addresses no record holds. */
  free: string;
  /** allocated / total, 0..1. */
  usage: number;
  disabled: boolean;
  /** Why the counts could not be made (a broken spec or records). */
  error?: string;
}

export interface SubnetRow {
  name: string;
  subnet: string;
  /** Pools of this subnet: owned by it (label) or with the same `spec.subnet`. */
  pools: string[];
  allocated: number;
  total: string;
  usage: number;
}

export interface UsageReport {
  pools: PoolRow[];
  subnets: SubnetRow[];
}

const ratio = (part: number, whole: bigint) =>
  whole === 0n ? 0 : Number((BigInt(part) * 10000n) / whole) / 10000;

export function usageReport(books: Books): UsageReport {
  const pools = [...books.pools]
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
    .map((pool): PoolRow => {
      const name = pool.metadata.name ?? '';
      const disabled = pool.spec.disable === true;
      try {
        const family = poolFamily(pool);
        const usage = poolUsage(pool, reservedSet(books.reservedIPs, family));
        return {
          name,
          family,
          subnet: pool.spec.subnet,
          allocated: usage.allocated,
          total: usage.total.toString(),
          free: usage.free.toString(),
          usage: ratio(usage.allocated, usage.total),
          disabled,
        };
      } catch (error) {
        if (!(error instanceof IpamError)) throw error;
        const allocated = pool.status?.allocatedIPCount ?? 0;
        const total = BigInt(pool.status?.totalIPCount ?? 0);
        return {
          name,
          subnet: pool.spec.subnet,
          allocated,
          total: total.toString(),
          free: '0',
          usage: ratio(allocated, total),
          disabled,
          error: error.message,
        };
      }
    });
  const byName = new Map(pools.map((p) => [p.name, p]));
  const subnets = [...books.subnets]
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
    .map((subnet): SubnetRow => {
      const name = subnet.metadata.name ?? '';
      const mine = books.pools.filter(
        (p) => p.metadata.labels?.[labels.ownerSpiderSubnet] === name || p.spec.subnet === subnet.spec.subnet,
      );
      const names = mine.map((p) => p.metadata.name ?? '').sort();
      const allocated = names.reduce((n, p) => n + (byName.get(p)?.allocated ?? 0), 0);
      const total = BigInt(subnetTotal(subnet) ?? subnet.status?.totalIPCount ?? 0);
      return {
        name,
        subnet: subnet.spec.subnet,
        pools: names,
        allocated,
        total: total.toString(),
        usage: ratio(allocated, total),
      };
    });
  return { pools, subnets };
}

/** Every readable record of every pool, and the pools whose records cannot be read. */
export function allRecords(books: Books): {
  records: PooledRecord[];
  unreadable: Array<{ pool: string; error: string }>;
} {
  const records: PooledRecord[] = [];
  const unreadable: Array<{ pool: string; error: string }> = [];
  for (const pool of books.pools) {
    const name = pool.metadata.name ?? '';
    try {
      for (const r of decodeRecords(name, pool.status?.allocatedIPs, poolFamily(pool)))
        records.push({ ...r, pool: name });
    } catch (error) {
      if (!(error instanceof IpamError)) throw error;
      unreadable.push({ pool: name, error: error.message });
    }
  }
  return { records, unreadable };
}

/** `text` as an address of either family, canonical; an error naming the argument otherwise. */
export function addressArgument(text: string): { ip: string; family: Family } {
  try {
    const ip = parseIP(text, undefined, 'address');
    return { ip: formatIP(ip), family: ip.family };
  } catch {
    throw new Error(`address ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
  }
}

/** Who holds one record of an address, and since when. */
export interface Holding {
  address: string;
  pool: string;
  nic?: string;
  /** `<namespace>/<identity name>`: the pod, or the VM for a KubeVirt launcher pod. */
  identity: string;
  kind: IdentityKind;
  podUid: string;
  /** The holder pod; absent when no pod with that UID exists. */
  pod?: { namespace: string; name: string; phase?: string; node?: string; created?: string };
  vm?: { namespace: string; name: string; vm: 'present' | 'absent'; vmi: 'present' | 'absent' };
  endpoint?: { namespace: string; name: string; node: string; owner: string; created?: string };
  node?: string;
  /** When the identity got its addresses: its endpoint's creation, else the holder pod's. */
  since?: string;
  /** The operator's verdict on this record. */
  verdict: { release: boolean; reason: string };
}

export function isoTime(stamp: unknown): string | undefined {
  if (stamp === undefined || stamp === null) return undefined;
  const ms = stamp instanceof Date ? stamp.getTime() : Date.parse(String(stamp));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function kindOf(owner: Owner, holder: V1Pod | undefined, facts: OwnerFacts, ctx: GcContext): IdentityKind {
  if (holder)
    try {
      return identityOf(holder, ctx.switches).kind;
    } catch {
      // a pod without the fields an identity needs: the objects decide
    }
  return ownerKind(owner, facts, ctx.switches);
}

/** Describes the holder of one record, with the facts about its identity. */
export function holding(record: PooledRecord, facts: OwnerFacts, ctx: GcContext): Holding {
  const owner = parseOwnerKey(record.pod) ?? { namespace: '', name: record.pod };
  const holder = facts.podByUid(record.podUid);
  const kind = kindOf(owner, holder, facts, ctx);
  const verdict = holderVerdict(owner, record.podUid, facts, ctx);
  const out: Holding = {
    address: record.ip,
    pool: record.pool,
    ...(record.nic !== undefined ? { nic: record.nic } : {}),
    identity: record.pod,
    kind,
    podUid: record.podUid,
    verdict: { release: verdict.release, reason: verdict.reason },
  };
  if (holder) {
    out.pod = { namespace: holder.metadata?.namespace ?? '', name: holder.metadata?.name ?? '' };
    if (holder.status?.phase) out.pod.phase = holder.status.phase;
    if (holder.spec?.nodeName) out.pod.node = holder.spec.nodeName;
    const created = isoTime(holder.metadata?.creationTimestamp);
    if (created) out.pod.created = created;
  }
  if (kind === 'kubevirt-vm')
    out.vm = {
      namespace: owner.namespace,
      name: owner.name,
      vm: facts.vm ? 'present' : 'absent',
      vmi: facts.vmi ? 'present' : 'absent',
    };
  const ep = facts.endpoint;
  if (ep) {
    out.endpoint = {
      namespace: ep.metadata.namespace ?? '',
      name: ep.metadata.name ?? '',
      node: ep.status?.current?.node ?? '',
      owner: `${ep.status?.ownerControllerType ?? ''}/${ep.status?.ownerControllerName ?? ''}`,
    };
    const created = isoTime(ep.metadata.creationTimestamp);
    if (created) out.endpoint.created = created;
  }
  const node = out.pod?.node ?? (ep?.status?.current?.uid === record.podUid ? out.endpoint?.node : undefined);
  if (node) out.node = node;
  const since = out.endpoint?.created ?? out.pod?.created;
  if (since) out.since = since;
  // The verdict last: it reads as the conclusion of the facts above it.
  const { verdict: judged, ...described } = out;
  return { ...described, verdict: judged };
}
