// The books checked against the world: every identity that holds a pool record or has an endpoint is
// judged by the operator's own verdicts (holderVerdict, endpointVerdict), so what this reports as
// reclaimable is exactly what the operator's scan would release. It adds what no verdict covers:
// a live holder's endpoint listing an address its pool does not record for it, and a live holder
// whose identity has no endpoint (a plugin stopped between its pool write and its endpoint write).
// Pure: the caller reads the pools, endpoints and facts.
import type { V1Pod } from '@kubernetes/client-node';
import type { SpiderEndpoint } from '../../api/index.js';
import { canonicalIP, type Family } from '../address/ip.js';
import { podAliveness } from '../identity/validity.js';
import type { PoolRecord } from '../records/codec.js';
import {
  endpointVerdict,
  type GcContext,
  type GcReason,
  holderVerdict,
  type Owner,
  type OwnerFacts,
  parseOwnerKey,
} from './verdict.js';

/** A decoded record and the pool it is in. */
export interface PooledRecord extends PoolRecord {
  pool: string;
}

/** One address record as the audit saw it. */
export interface AuditedRecord {
  pool: string;
  ip: string;
  /** `<namespace>/<identity name>`. */
  owner: string;
  podUid: string;
  nic?: string;
}

export type Finding =
  /** The operator would release this record, for `reason`. */
  | (AuditedRecord & { kind: 'reclaim'; gcReason: GcReason; reason: string })
  /** Kept for now: a terminating holder whose grace period has not ended; released at `recheckAt`. */
  | (AuditedRecord & { kind: 'pending'; reason: string; recheckAt: string })
  /** A live holder's record whose identity has no SpiderEndpoint. */
  | (AuditedRecord & { kind: 'no-endpoint'; reason: string })
  /** The operator would delete this endpoint: its identity is gone. */
  | { kind: 'stale-endpoint'; owner: string; reason: string }
  /** The endpoint of a live holder lists an address that its pool does not record for its identity. */
  | { kind: 'unrecorded'; owner: string; pool: string; ip: string; nic: string; reason: string };

export type FindingKind = Finding['kind'];

/** Findings that make the books inconsistent (`pending` does not: the operator is on it). */
export const inconsistentKinds: readonly FindingKind[] = [
  'reclaim',
  'no-endpoint',
  'stale-endpoint',
  'unrecorded',
];

export interface AuditInput {
  records: readonly PooledRecord[];
  /** Every SpiderEndpoint (all namespaces). */
  endpoints: readonly SpiderEndpoint[];
  /** The facts about one identity; `uids` are the holder pod UIDs that will be asked about. */
  factsOf: (owner: Owner, uids: readonly string[]) => OwnerFacts;
  ctx: GcContext;
}

export interface Audit {
  /** Identities judged. */
  identities: number;
  records: number;
  findings: Finding[];
  /** True when no finding is of an inconsistent kind. */
  consistent: boolean;
}

/** The bare, canonical form of an endpoint's `a.b.c.d/len`; undefined when it cannot be read. */
function endpointAddress(text: string, family: Family): string | undefined {
  try {
    return canonicalIP(text.split('/')[0] ?? '', family);
  } catch {
    return undefined;
  }
}

export function audit(input: AuditInput): Audit {
  const byOwner = new Map<string, PooledRecord[]>();
  for (const r of input.records) {
    const list = byOwner.get(r.pod);
    if (list) list.push(r);
    else byOwner.set(r.pod, [r]);
  }
  const endpoints = new Map(input.endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const keys = [...new Set([...byOwner.keys(), ...endpoints.keys()])].sort();
  const findings: Finding[] = [];

  for (const key of keys) {
    const owner = parseOwnerKey(key);
    if (!owner) continue;
    const records = byOwner.get(key) ?? [];
    const endpoint = endpoints.get(key);
    const holderUid =
      endpoint && !endpoint.metadata.deletionTimestamp ? endpoint.status?.current?.uid : undefined;
    const uids = [...new Set([...records.map((r) => r.podUid), ...(holderUid ? [holderUid] : [])])];
    const facts = input.factsOf(owner, uids);
    for (const uid of uids) {
      const verdict = holderVerdict(owner, uid, facts, input.ctx);
      for (const r of records.filter((x) => x.podUid === uid)) {
        const rec: AuditedRecord = { pool: r.pool, ip: r.ip, owner: key, podUid: uid };
        if (r.nic !== undefined) rec.nic = r.nic;
        if (verdict.release)
          findings.push({ kind: 'reclaim', ...rec, gcReason: verdict.gcReason, reason: verdict.reason });
        else if (verdict.recheckAtMs !== undefined)
          findings.push({
            kind: 'pending',
            ...rec,
            reason: verdict.reason,
            recheckAt: new Date(verdict.recheckAtMs).toISOString(),
          });
        else if (!facts.endpoint)
          findings.push({
            kind: 'no-endpoint',
            ...rec,
            reason: `${verdict.reason} but ${key} has no SpiderEndpoint`,
          });
      }
    }
    const ev = endpointVerdict(owner, facts, input.ctx);
    if (ev.delete) findings.push({ kind: 'stale-endpoint', owner: key, reason: ev.reason });
    else if (endpoint && holderUid && isAlive(facts.podByUid(holderUid)))
      findings.push(...unrecorded(key, endpoint, records));
  }
  return {
    identities: keys.length,
    records: input.records.length,
    findings,
    consistent: !findings.some((f) => inconsistentKinds.includes(f.kind)),
  };
}

/**
 * Whether the endpoint's holder is a live pod. Only then is an address it lists and no record holds a
 * danger (the pod uses an address the pool may hand out again); without a live holder the plugin reads
 * an endpoint entry only for its pools, and allocates from the pool records on the next ADD.
 */
function isAlive(pod: V1Pod | undefined): boolean {
  return pod !== undefined && podAliveness(pod).valid;
}

/** Addresses the endpoint lists that no record of its identity holds in the named pool. */
function unrecorded(key: string, endpoint: SpiderEndpoint, records: readonly PooledRecord[]): Finding[] {
  const held = new Set(records.map((r) => `${r.pool} ${r.ip}`));
  const out: Finding[] = [];
  for (const entry of endpoint.status?.current?.ips ?? []) {
    const listed: Array<[string | undefined, string | undefined, Family]> = [
      [entry.ipv4, entry.ipv4Pool, 4],
      [entry.ipv6, entry.ipv6Pool, 6],
    ];
    for (const [address, pool, family] of listed) {
      if (!address || !pool) continue;
      const ip = endpointAddress(address, family) ?? address;
      if (held.has(`${pool} ${ip}`)) continue;
      out.push({
        kind: 'unrecorded',
        owner: key,
        pool,
        ip,
        nic: entry.interface,
        reason: `SpiderEndpoint ${key} lists ${ip} on ${entry.interface} but pool ${pool} has no record of it for ${key}`,
      });
    }
  }
  return out;
}
