// `status.allocatedIPs`: one JSON string, as in Spiderpool, keyed by the bare address in Go's text
// form: {"10.6.0.5":{"pod":"<ns>/<name>","podUid":"<uid>"}}. Keeping it one string (rather than a
// structured map) keeps every key out of managed fields, about five times the write rate at 1000
// records (docs/architecture.md "Records"). `nic` is our extension; a record without it was written
// by Spiderpool and matches any NIC.
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AllocationRecordSchema } from '../../api/index.js';
import { type Family, formatValue, parseCanonical, parseIP } from '../address/ip.js';
import { IpamError } from '../errors.js';

export interface PoolRecord {
  /** Canonical address text, the record's key. */
  ip: string;
  value: bigint;
  /** `<namespace>/<identity name>`. */
  pod: string;
  podUid: string;
  /** The NIC holding the address; absent in records Spiderpool wrote. */
  nic?: string;
}

const checkRecord = TypeCompiler.Compile(AllocationRecordSchema);

// The schema's check, written out: it runs once per record on every decode, and the compiled
// TypeBox check costs about as much as the JSON parse itself. The schema still words the errors.
function isRecord(raw: unknown): raw is { pod: string; podUid: string; nic?: string } {
  if (typeof raw !== 'object' || raw === null) return false;
  const r = raw as Record<string, unknown>;
  return (
    typeof r.pod === 'string' &&
    typeof r.podUid === 'string' &&
    (r.nic === undefined || typeof r.nic === 'string')
  );
}

const recordField = (key: string) => `status.allocatedIPs[${JSON.stringify(key)}]`;

/**
 * Decodes a pool's `status.allocatedIPs` into records sorted by address, keys made canonical.
 * Unknown fields in a record are dropped. Errors name the pool and the offending key.
 */
export function decodeRecords(
  poolName: string,
  allocatedIPs: string | undefined,
  family: Family,
): PoolRecord[] {
  if (allocatedIPs === undefined || allocatedIPs === '') return [];
  const place = { pool: poolName, field: 'status.allocatedIPs' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(allocatedIPs);
  } catch (error) {
    throw new IpamError('InvalidRecords', `not valid JSON (${(error as Error).message})`, place);
  }
  if (parsed === null) return [];
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new IpamError('InvalidRecords', 'expected a JSON object keyed by address', place);
  }
  const records: PoolRecord[] = [];
  const seen = new Set<bigint>();
  const object = parsed as Record<string, unknown>;
  for (const key in object) {
    const raw = object[key];
    // Keys written by us or by Spiderpool are canonical; anything else is parsed in full and rewritten.
    let value = parseCanonical(key, family);
    let ip = key;
    if (value === undefined) {
      try {
        value = parseIP(key, family).value;
      } catch (error) {
        throw error instanceof IpamError
          ? new IpamError('InvalidRecords', error.detail, { pool: poolName, field: recordField(key) })
          : error;
      }
      ip = formatValue(family, value);
    }
    if (!isRecord(raw)) {
      const first = checkRecord.Errors(raw).First();
      const where = first?.path ? `${first.path.slice(1)}: ` : '';
      throw new IpamError('InvalidRecords', `${where}${first?.message ?? 'invalid record'}`, {
        pool: poolName,
        field: recordField(key),
      });
    }
    if (seen.has(value)) {
      throw new IpamError('InvalidRecords', `two records for ${formatValue(family, value)}`, {
        pool: poolName,
        field: recordField(key),
      });
    }
    seen.add(value);
    const record: PoolRecord = { ip, value, pod: raw.pod, podUid: raw.podUid };
    if (raw.nic !== undefined && raw.nic !== '') record.nic = raw.nic;
    records.push(record);
  }
  return sortByAddress(records);
}

/** Sorts in place by address; records decoded from our own encoding are in order already. */
function sortByAddress(records: PoolRecord[]): PoolRecord[] {
  for (let i = 1; i < records.length; i++) {
    if ((records[i - 1] as PoolRecord).value > (records[i] as PoolRecord).value) {
      return records.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    }
  }
  return records;
}

/**
 * Encodes records into the status string, in address order. No records encode as undefined: the
 * field is removed, as Spiderpool writes it (a merge patch must then send null).
 */
export function encodeRecords(records: Iterable<PoolRecord>): string | undefined {
  const sorted = sortByAddress([...records]);
  if (sorted.length === 0) return undefined;
  const out: Record<string, { pod: string; podUid: string; nic?: string }> = {};
  for (const r of sorted) {
    out[r.ip] =
      r.nic === undefined ? { pod: r.pod, podUid: r.podUid } : { pod: r.pod, podUid: r.podUid, nic: r.nic };
  }
  return JSON.stringify(out);
}
