// Spiderpool's range lists (`spec.ips`, `spec.excludeIPs`, SpiderReservedIP `spec.ips`): entries are
// a single address `a` or an inclusive range `a-b` of one family, never a CIDR. Its mutating webhook
// rewrites such lists merged and sorted, single addresses as `a` and runs as `a-b`.
import { type Family, formatValue, parseIP } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { type Interval, type IntervalSet, normalize } from './intervals.js';

export interface ParsedRanges {
  family: Family;
  set: IntervalSet;
}

/**
 * Parses one entry. `field` names the entry in errors (e.g. `spec.ips[2]`).
 */
export function parseRangeEntry(
  entry: string,
  family?: Family,
  field?: string,
): Interval & { family: Family } {
  if (typeof entry !== 'string' || entry.length === 0) {
    throw new IpamError('InvalidInput', `${JSON.stringify(entry)} is not an address or a range a-b`, {
      field,
      value: entry,
    });
  }
  if (entry.includes('/')) {
    throw new IpamError('InvalidInput', `${JSON.stringify(entry)}: CIDRs are not allowed here; use a-b`, {
      field,
      value: entry,
    });
  }
  const parts = entry.split('-');
  if (parts.length > 2) {
    throw new IpamError('InvalidInput', `${JSON.stringify(entry)} is not an address or a range a-b`, {
      field,
      value: entry,
    });
  }
  const first = parseIP(parts[0] as string, family, field);
  if (parts.length === 1) return { family: first.family, start: first.value, end: first.value };
  const last = parseIP(parts[1] as string, first.family, field);
  if (last.value < first.value) {
    throw new IpamError('InvalidInput', `${JSON.stringify(entry)}: the range ends before it starts`, {
      field,
      value: entry,
    });
  }
  return { family: first.family, start: first.value, end: last.value };
}

/**
 * Parses a whole list into one merged set. The family is `family` when given, else the first
 * entry's; an entry of the other family is an error naming `${field}[i]`.
 */
export function parseRanges(
  entries: readonly string[] | undefined,
  family?: Family,
  field = 'ips',
): ParsedRanges {
  const intervals: Interval[] = [];
  let fam = family;
  (entries ?? []).forEach((entry, i) => {
    const parsed = parseRangeEntry(entry, fam, `${field}[${i}]`);
    fam ??= parsed.family;
    intervals.push({ start: parsed.start, end: parsed.end });
  });
  return { family: fam ?? 4, set: normalize(intervals) };
}

/** Spiderpool's merged-range strings for a set: `a` for one address, `a-b` for a run. */
export function formatRanges(family: Family, set: IntervalSet): string[] {
  return set.map(({ start, end }) =>
    start === end ? formatValue(family, start) : `${formatValue(family, start)}-${formatValue(family, end)}`,
  );
}

/** What Spiderpool's webhook writes back for a list: merged, sorted, canonical text. */
export function mergeRanges(entries: readonly string[], family?: Family, field = 'ips'): string[] {
  const { family: fam, set } = parseRanges(entries, family, field);
  return formatRanges(fam, set);
}
