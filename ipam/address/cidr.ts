// Subnets in CIDR form. Spiderpool requires a pool's `spec.subnet` to be the canonical network form
// (`10.0.0.0/24`, never `10.0.0.1/24`), so parsing keeps the text's host bits visible to the caller
// and `parseCanonicalCIDR` refuses them.
import { IpamError } from '../errors.js';
import { addressBits, type Family, formatValue, type IP, parseIP } from './ip.js';

export interface CIDR {
  family: Family;
  /** The address as written (host bits kept). */
  address: bigint;
  /** The first address of the network. */
  network: bigint;
  /** The last address of the network. */
  last: bigint;
  prefix: number;
}

const prefixText = /^(0|[1-9]\d{0,2})$/;

/** Parses `a.b.c.d/n` or `x::y/n`; host bits are allowed (see parseCanonicalCIDR). */
export function parseCIDR(text: string, family?: Family, field?: string): CIDR {
  const place = { field, value: text };
  if (typeof text !== 'string')
    throw new IpamError('InvalidInput', `${JSON.stringify(text)} is not a CIDR`, place);
  const slash = text.indexOf('/');
  if (slash === -1) {
    throw new IpamError('InvalidInput', `${JSON.stringify(text)} is not a CIDR (no /prefix)`, place);
  }
  let ip: IP;
  try {
    ip = parseIP(text.slice(0, slash), family, field);
  } catch (error) {
    if (!(error instanceof IpamError)) throw error;
    throw new IpamError('InvalidInput', `${JSON.stringify(text)} is not ${cidrArticle(family)}`, place);
  }
  const prefixPart = text.slice(slash + 1);
  const bits = addressBits[ip.family];
  const prefix = prefixText.test(prefixPart) ? Number(prefixPart) : Number.NaN;
  if (!(prefix >= 0 && prefix <= bits)) {
    throw new IpamError(
      'InvalidInput',
      `${JSON.stringify(text)} has an invalid prefix length (0 to ${bits} for IPv${ip.family})`,
      place,
    );
  }
  const hostBits = BigInt(bits - prefix);
  const network = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, address: ip.value, network, last: network + (1n << hostBits) - 1n, prefix };
}

/** Parses a subnet and refuses host bits, as Spiderpool's webhook does (`10.0.0.1/24` is rejected). */
export function parseCanonicalCIDR(text: string, family?: Family, field?: string): CIDR {
  const cidr = parseCIDR(text, family, field);
  const canonical = formatCIDR(cidr);
  if (canonical !== text) {
    throw new IpamError(
      'InvalidInput',
      `${JSON.stringify(text)} is not in canonical form; use ${canonical}`,
      {
        field,
        value: text,
      },
    );
  }
  return cidr;
}

/** Canonical network text, e.g. `10.0.0.0/24`, `fd00::/64`. */
export function formatCIDR(cidr: CIDR): string {
  return `${formatValue(cidr.family, cidr.network)}/${cidr.prefix}`;
}

export function cidrContains(cidr: CIDR, ip: IP): boolean {
  return ip.family === cidr.family && ip.value >= cidr.network && ip.value <= cidr.last;
}

/** Number of addresses in the network. */
export function cidrSize(cidr: CIDR): bigint {
  return cidr.last - cidr.network + 1n;
}

/** `ip/prefix` text, as a CNI result and a SpiderEndpoint carry it. */
export function formatAddressWithPrefix(family: Family, value: bigint, prefix: number): string {
  return `${formatValue(family, value)}/${prefix}`;
}

function cidrArticle(family: Family | undefined): string {
  return family === undefined ? 'a CIDR' : `an IPv${family} CIDR`;
}
