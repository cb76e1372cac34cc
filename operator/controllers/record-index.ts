// Every pool's records, decoded once per pool version, looked up by identity and by holder pod UID.
// Pool records name their holder only by `<namespace>/<identity>` and pod UID, so "what does this pod
// hold?" would otherwise decode every pool on every pod event.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { SpiderIPPool } from '../../api/index.js';
import { IpamError } from '../../ipam/errors.js';
import { poolFamily } from '../../ipam/pool/space.js';
import { decodeRecords, type PoolRecord } from '../../ipam/records/codec.js';

export interface IndexedRecord extends PoolRecord {
  pool: string;
}

interface PoolEntry {
  resourceVersion: string;
  records: IndexedRecord[];
  error?: string;
}

export class RecordIndex {
  private readonly pools = new Map<string, PoolEntry>();
  private byOwnerMap = new Map<string, IndexedRecord[]>();
  private byUidMap = new Map<string, IndexedRecord[]>();
  private dirty = false;

  /** Brings the index up to the given pools (decoding only those whose resourceVersion changed). */
  sync(objects: readonly KubernetesObject[]): void {
    const seen = new Set<string>();
    for (const object of objects) {
      const pool = object as SpiderIPPool;
      const name = pool.metadata.name ?? '';
      seen.add(name);
      const rv = pool.metadata.resourceVersion ?? '';
      if (this.pools.get(name)?.resourceVersion === rv) continue;
      this.pools.set(name, decode(pool));
      this.dirty = true;
    }
    for (const name of this.pools.keys())
      if (!seen.has(name)) {
        this.pools.delete(name);
        this.dirty = true;
      }
    if (this.dirty) this.rebuild();
  }

  private rebuild(): void {
    const byOwner = new Map<string, IndexedRecord[]>();
    const byUid = new Map<string, IndexedRecord[]>();
    for (const entry of this.pools.values())
      for (const r of entry.records) {
        push(byOwner, r.pod, r);
        push(byUid, r.podUid, r);
      }
    this.byOwnerMap = byOwner;
    this.byUidMap = byUid;
    this.dirty = false;
  }

  byOwner(owner: string): readonly IndexedRecord[] {
    return this.byOwnerMap.get(owner) ?? [];
  }

  byPodUid(uid: string): readonly IndexedRecord[] {
    return this.byUidMap.get(uid) ?? [];
  }

  owners(): string[] {
    return [...this.byOwnerMap.keys()];
  }

  /** Pools whose records cannot be decoded, with why (they are skipped, and logged by the caller). */
  unreadable(): Array<{ pool: string; error: string }> {
    return [...this.pools].flatMap(([pool, e]) => (e.error ? [{ pool, error: e.error }] : []));
  }
}

function push(map: Map<string, IndexedRecord[]>, key: string, r: IndexedRecord): void {
  const list = map.get(key);
  if (list) list.push(r);
  else map.set(key, [r]);
}

function decode(pool: SpiderIPPool): PoolEntry {
  const name = pool.metadata.name ?? '';
  const resourceVersion = pool.metadata.resourceVersion ?? '';
  try {
    const records = decodeRecords(name, pool.status?.allocatedIPs, poolFamily(pool)).map((r) => ({
      ...r,
      pool: name,
    }));
    return { resourceVersion, records };
  } catch (error) {
    if (!(error instanceof IpamError)) throw error;
    return { resourceVersion, records: [], error: error.message };
  }
}
