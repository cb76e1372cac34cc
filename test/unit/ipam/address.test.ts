import fc from 'fast-check';
import { Address6 } from 'ip-address';
import {
  cidrContains,
  cidrSize,
  formatCIDR,
  parseCanonicalCIDR,
  parseCIDR,
} from '../../../ipam/address/cidr.js';
import { canonicalIP, formatIP, ipFamily, parseCanonical, parseIP } from '../../../ipam/address/ip.js';
import { IpamError } from '../../../ipam/errors.js';
import { ipamErrorOf } from './helpers.js';

describe('parseIP / formatIP', () => {
  it.each([
    ['10.6.0.5', 4, 168165381n],
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 4294967295n],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['fd00::1', 6, 0xfd000000000000000000000000000001n],
  ] as const)('parses %s', (text, family, value) => {
    expect(parseIP(text)).toEqual({ family, value });
    expect(formatIP({ family, value })).toBe(text);
  });

  it.each([
    // Go's net.IP.String(): the longest run of two or more zero groups, the first on a tie.
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['0:0:1:0:0:0:0:0', '0:0:1::'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['fd00:0:0:0:0:0:0:0', 'fd00::'],
  ])('canonicalizes %s to %s', (text, canonical) => {
    expect(canonicalIP(text)).toBe(canonical);
  });

  it.each([
    ['01.2.3.4'],
    ['1.2.3'],
    ['256.1.1.1'],
    ['10.0.0.1/24'],
    ['fe80::1%eth0'],
    [' 10.0.0.1'],
    [':::1'],
    ['1:2:3:4:5:6:7:8:9'],
    [''],
  ])('rejects %j', (text) => {
    expect(() => parseIP(text)).toThrow(IpamError);
  });

  it('names the field and the value in errors', () => {
    expect(() => parseIP('10.0.0.300', 4, 'spec.gateway')).toThrow(
      'spec.gateway: "10.0.0.300" is not an IPv4 address',
    );
    const error = ipamErrorOf(() => parseIP('fd00::1', 4, 'spec.ips[3]'));
    expect(error.field).toBe('spec.ips[3]');
    expect(error.value).toBe('fd00::1');
    expect(error.code).toBe('InvalidInput');
  });

  it('refuses IPv4-mapped IPv6 addresses, which Go would print as IPv4', () => {
    expect(() => parseIP('::ffff:10.0.0.1')).toThrow(/IPv4-mapped/);
    expect(() => parseIP('::ffff:a00:1')).toThrow(/IPv4-mapped/);
  });

  it('restricts to a family when asked', () => {
    expect(() => parseIP('10.0.0.1', 6)).toThrow('is not an IPv6 address');
    expect(parseIP('fd00::1', 6).family).toBe(6);
  });

  it('reads canonical text cheaply and leaves everything else to the full parser', () => {
    expect(parseCanonical('fd00::1', 6)).toBe(0xfd000000000000000000000000000001n);
    expect(parseCanonical('10.0.0.1', 4)).toBe(167772161n);
    expect(parseCanonical('FD00::1', 6)).toBeUndefined();
    expect(parseCanonical('fd00:0::1', 6)).toBeUndefined();
    expect(parseCanonical('::ffff:a00:1', 6)).toBeUndefined();
    expect(parseCanonical('10.0.0.1', 6)).toBeUndefined();
  });

  it('detects the family', () => {
    expect(ipFamily('10.0.0.1')).toBe(4);
    expect(ipFamily('FD00::1')).toBe(6);
    expect(ipFamily('10.0.0.0/8')).toBeUndefined();
    expect(ipFamily('eth0')).toBeUndefined();
  });

  it('round-trips every IPv4 value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (value) => {
        expect(parseIP(formatIP({ family: 4, value }))).toEqual({ family: 4, value });
      }),
    );
  });

  const v6Value = fc
    .oneof(
      fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
      // Values with runs of zero groups, where formatting has choices to make.
      fc
        .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
        .map((groups) => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n)),
    )
    .filter((v) => v >> 32n !== 0xffffn);

  it('takes the cheap path exactly for canonical text, whatever the spelling', () => {
    // Spellings of one value: canonical, full, uncompressed, compressed elsewhere, leading zeros.
    const spellings = (value: bigint): string[] => {
      const groups = value.toString(16).padStart(32, '0').match(/.{4}/g) as string[];
      const short = groups.map((g) => g.replace(/^0+(?=.)/, ''));
      const out = [groups.join(':'), short.join(':'), formatIP({ family: 6, value })];
      for (let i = 0; i < 8; i++) {
        for (let j = i + 1; j <= 8; j++) {
          if (short.slice(i, j).every((g) => g === '0')) {
            out.push(`${short.slice(0, i).join(':')}::${short.slice(j).join(':')}`);
          }
        }
      }
      return out;
    };
    fc.assert(
      fc.property(v6Value, (value) => {
        const canonical = formatIP({ family: 6, value });
        for (const text of spellings(value)) {
          expect(parseCanonical(text, 6)).toBe(text === canonical ? value : undefined);
          expect(parseIP(text).value).toBe(value);
        }
      }),
    );
  });

  it('round-trips IPv6 values and agrees with ip-address on value and RFC 5952 text', () => {
    fc.assert(
      fc.property(v6Value, (value) => {
        const text = formatIP({ family: 6, value });
        expect(parseIP(text)).toEqual({ family: 6, value });
        const reference = new Address6(text);
        expect(reference.bigInt()).toBe(value);
        if (reference.v4 === false) expect(reference.correctForm()).toBe(text);
        // The full, uncompressed form goes through ip-address and comes back canonical.
        const full = value
          .toString(16)
          .padStart(32, '0')
          .replace(/(.{4})(?!$)/g, '$1:');
        expect(canonicalIP(full)).toBe(text);
      }),
    );
  });
});

describe('CIDR', () => {
  it('parses networks and keeps the written address', () => {
    const cidr = parseCIDR('10.6.1.7/16');
    expect(cidr).toMatchObject({ family: 4, prefix: 16, address: parseIP('10.6.1.7').value });
    expect(formatCIDR(cidr)).toBe('10.6.0.0/16');
    expect(cidrSize(cidr)).toBe(65536n);
    expect(cidrSize(parseCIDR('fd00::/64'))).toBe(1n << 64n);
  });

  it('refuses non-canonical subnets the way Spiderpool does, naming the fix', () => {
    expect(() => parseCanonicalCIDR('10.0.0.1/24', undefined, 'spec.subnet')).toThrow(
      'spec.subnet: "10.0.0.1/24" is not in canonical form; use 10.0.0.0/24',
    );
    expect(() => parseCanonicalCIDR('FD00::/64')).toThrow('use fd00::/64');
    expect(formatCIDR(parseCanonicalCIDR('fd00:1::/64'))).toBe('fd00:1::/64');
  });

  it.each([['10.0.0.0/33'], ['10.0.0.0'], ['10.0.0.0/'], ['10.0.0.0/x'], ['fd00::/129'], ['10.0.0.0/-1']])(
    'rejects %s',
    (text) => {
      expect(() => parseCIDR(text)).toThrow(IpamError);
    },
  );

  it('checks containment within one family', () => {
    const net = parseCIDR('198.18.0.0/15');
    expect(cidrContains(net, parseIP('198.19.255.255'))).toBe(true);
    expect(cidrContains(net, parseIP('198.20.0.0'))).toBe(false);
    expect(cidrContains(parseCIDR('::/0'), parseIP('10.0.0.1'))).toBe(false);
    expect(cidrContains(parseCIDR('0.0.0.0/0'), parseIP('10.0.0.1'))).toBe(true);
  });
});
