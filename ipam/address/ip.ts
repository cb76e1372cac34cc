// IP addresses as (family, bigint) pairs. Text is Go's net.IP.String(): dotted quad for IPv4 and
// RFC 5952 for IPv6 (lowercase, no leading zeros, the longest run of two or more zero groups
// shortened to `::`, the first such run on a tie). Spiderpool keys its records with that text, so an
// address written by either side must come out as the same string.
//
// Parsing goes through a small fast path for text that is already canonical (record keys are, and a
// pool of thousands of records is decoded on every allocation); anything else goes to ip-address,
// which owns the full grammar and its error messages.
import { Address4, Address6 } from 'ip-address';
import { IpamError } from '../errors.js';

export type Family = 4 | 6;

export interface IP {
  family: Family;
  value: bigint;
}

export const addressBits = { 4: 32, 6: 128 } as const;
export const maxValue = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n } as const;

const dottedQuad = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const hexText = /^[0-9a-f:]{2,39}$/;

function fastParse4(text: string): bigint | undefined {
  const m = dottedQuad.exec(text);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return BigInt(n);
}

// A group as Go prints it: 1-4 lowercase hex digits, no leading zero.
const canonicalGroup = /^(0|[1-9a-f][0-9a-f]{0,3})$/;

/** Length of the longest run of "0" groups. */
function longestZeroRun(groups: readonly string[]): number {
  let best = 0;
  let run = 0;
  for (const g of groups) {
    run = g === '0' ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/**
 * Parses IPv6 text only when it is canonical (RFC 5952 as Go prints it), checking the rules
 * directly rather than formatting the value back: record keys are decoded by the thousand.
 */
function fastParse6(text: string): bigint | undefined {
  if (!hexText.test(text)) return undefined;
  const gap = text.indexOf('::');
  let head: string[];
  let tail: string[];
  if (gap === -1) {
    head = text.split(':');
    tail = [];
    if (head.length !== 8 || longestZeroRun(head) >= 2) return undefined;
  } else {
    if (text.indexOf('::', gap + 1) !== -1) return undefined;
    head = gap === 0 ? [] : text.slice(0, gap).split(':');
    tail = gap + 2 === text.length ? [] : text.slice(gap + 2).split(':');
    const gapLength = 8 - head.length - tail.length;
    // The shortened run must be at least two groups, not touch another zero group, be the longest
    // run, and be the first of the longest.
    if (gapLength < 2 || head[head.length - 1] === '0' || tail[0] === '0') return undefined;
    if (longestZeroRun(head) >= gapLength || longestZeroRun(tail) > gapLength) return undefined;
  }
  let hex = '';
  for (const g of head) {
    if (!canonicalGroup.test(g)) return undefined;
    hex += g.padStart(4, '0');
  }
  if (gap !== -1) hex += '0000'.repeat(8 - head.length - tail.length);
  for (const g of tail) {
    if (!canonicalGroup.test(g)) return undefined;
    hex += g.padStart(4, '0');
  }
  return BigInt(`0x${hex}`);
}

function format4(value: bigint): string {
  const n = Number(value);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function format6(value: bigint): string {
  const hex = value.toString(16).padStart(32, '0');
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) {
    let start = i;
    while (start < i + 3 && hex.charCodeAt(start) === 48) start++;
    groups.push(hex.slice(start, i + 4));
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart === -1) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

/** True for ::ffff:0:0/96, which Go prints as IPv4 and would collide with IPv4 record keys. */
function isIPv4Mapped(value: bigint): boolean {
  return value >> 32n === 0xffffn;
}

/** The family of `text` as an address, or undefined when it is not one. */
export function ipFamily(text: string): Family | undefined {
  try {
    return parseIP(text).family;
  } catch {
    return undefined;
  }
}

/**
 * Parses one address (no prefix, no zone). `family` restricts it to one family; `field` names the
 * place it came from in the error.
 */
export function parseIP(text: string, family?: Family, field?: string): IP {
  const fast4 = family === 6 ? undefined : fastParse4(text);
  if (fast4 !== undefined) return { family: 4, value: fast4 };
  const fast6 = family === 4 ? undefined : fastParse6(text);
  if (fast6 !== undefined) return checkMapped({ family: 6, value: fast6 }, text, field);
  const place = { field, value: text };
  if (typeof text !== 'string' || text.includes('/') || text.includes('%') || text.trim() !== text) {
    throw new IpamError('InvalidInput', `${JSON.stringify(text)} is not ${article(family)}`, place);
  }
  if (family !== 6 && Address4.isValid(text)) return { family: 4, value: new Address4(text).bigInt() };
  if (family !== 4 && Address6.isValid(text)) {
    return checkMapped({ family: 6, value: new Address6(text).bigInt() }, text, field);
  }
  throw new IpamError('InvalidInput', `${JSON.stringify(text)} is not ${article(family)}`, place);
}

function checkMapped(ip: IP, text: string, field: string | undefined): IP {
  if (isIPv4Mapped(ip.value)) {
    throw new IpamError(
      'InvalidInput',
      `${JSON.stringify(text)} is an IPv4-mapped IPv6 address; write the IPv4 address instead`,
      { field, value: text },
    );
  }
  return ip;
}

function article(family: Family | undefined): string {
  return family === undefined ? 'an IP address' : `an IPv${family} address`;
}

/**
 * The value of `text` when it is already the canonical text of an address of `family`, else
 * undefined (then parseIP decides whether it is an address at all). Cheap: no formatting back.
 */
export function parseCanonical(text: string, family: Family): bigint | undefined {
  if (family === 4) return fastParse4(text);
  const value = fastParse6(text);
  return value === undefined || isIPv4Mapped(value) ? undefined : value;
}

/** Canonical text of an address (Go's net.IP.String()). */
export function formatIP(ip: IP): string {
  return ip.family === 4 ? format4(ip.value) : format6(ip.value);
}

/** Canonical text of a bare value of a known family. */
export function formatValue(family: Family, value: bigint): string {
  return family === 4 ? format4(value) : format6(value);
}

/** The canonical text of `text`, or an error naming `field`. */
export function canonicalIP(text: string, family?: Family, field?: string): string {
  return formatIP(parseIP(text, family, field));
}
