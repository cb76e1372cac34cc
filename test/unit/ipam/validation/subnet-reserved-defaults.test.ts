import type { SpiderIPPool, SpiderReservedIP, SpiderSubnet } from '../../../../api/index.js';
import {
  cidrLabelValue,
  poolDefaults,
  reservedIPDefaults,
  subnetObjectDefaults,
} from '../../../../ipam/validation/defaults.js';
import { fieldErrorMessage } from '../../../../ipam/validation/field-error.js';
import { validateReservedIP } from '../../../../ipam/validation/reserved-ip.js';
import { validateSubnet } from '../../../../ipam/validation/subnet.js';

const switches = { enableIPv4: true, enableIPv6: true };
const subnet = (name: string, spec: Partial<SpiderSubnet['spec']>): SpiderSubnet => ({
  metadata: { name },
  spec: { subnet: '198.18.0.0/24', ipVersion: 4, ...spec } as SpiderSubnet['spec'],
});
const pool = (name: string, spec: Partial<SpiderIPPool['spec']>): SpiderIPPool => ({
  metadata: { name },
  spec: { subnet: '198.18.0.0/24', ipVersion: 4, ...spec } as SpiderIPPool['spec'],
});

describe('SpiderSubnet', () => {
  const check = (s: SpiderSubnet, subnets: SpiderSubnet[] = [], pools: SpiderIPPool[] = []) => {
    const e = validateSubnet(s, { ...switches, subnets, pools });
    return e ? fieldErrorMessage(e) : undefined;
  };

  test.each<[string, SpiderSubnet, SpiderSubnet[], SpiderIPPool[], string | undefined]>([
    ['alone', subnet('s1', { ips: ['198.18.0.2-198.18.0.200'] }), [], [], undefined],
    [
      'overlapping another subnet, even written identically',
      subnet('s1', {}),
      [subnet('s2', {})],
      [],
      'spec.subnet: Invalid value: "198.18.0.0/24": overlaps the subnet 198.18.0.0/24 of SpiderSubnet s2',
    ],
    [
      'containing a pool of another CIDR',
      subnet('s1', { subnet: '198.18.0.0/16' }),
      [],
      [pool('p1', {})],
      'spec.subnet: Invalid value: "198.18.0.0/16": overlaps the subnet 198.18.0.0/24 of SpiderIPPool p1; a pool inside a SpiderSubnet must use its subnet exactly',
    ],
    [
      'leaving out addresses a pool of its CIDR has',
      subnet('s1', { ips: ['198.18.0.2-198.18.0.50'] }),
      [],
      [pool('p1', { ips: ['198.18.0.40-198.18.0.60'] })],
      'spec.ips: Invalid value: ["198.18.0.2-198.18.0.50"]: must include the addresses of SpiderIPPool p1; 198.18.0.51-198.18.0.60 are missing',
    ],
    [
      'a gateway outside it (shared rule with pools)',
      subnet('s1', { gateway: '10.0.0.1' }),
      [],
      [],
      'spec.gateway: Invalid value: "10.0.0.1": must lie inside spec.subnet 198.18.0.0/24',
    ],
  ])('%s', (_what, s, subnets, pools, expected) => {
    expect(check(s, subnets, pools)).toBe(expected);
  });
});

describe('SpiderReservedIP', () => {
  const reserved = (spec: SpiderReservedIP['spec']): SpiderReservedIP => ({ metadata: { name: 'r' }, spec });
  const check = (r: SpiderReservedIP, sw = switches) => {
    const e = validateReservedIP(r, sw);
    return e ? fieldErrorMessage(e) : undefined;
  };

  test('addresses of its family pass; one of the other family is named', () => {
    expect(check(reserved({ ipVersion: 4, ips: ['198.18.0.5', '198.18.0.7-198.18.0.9'] }))).toBeUndefined();
    expect(check(reserved({ ipVersion: 4, ips: ['198.18.0.5', 'fd00::1'] }))).toBe(
      'spec.ips[1]: Invalid value: "fd00::1": "fd00::1" is not an IPv4 address',
    );
  });

  test('its family must be enabled', () => {
    expect(check(reserved({ ipVersion: 6, ips: ['fd00::1'] }), { enableIPv4: true, enableIPv6: false })).toBe(
      'spec.ipVersion: Forbidden: IPv6 is disabled (enableIPv6: false in conf.yml)',
    );
  });
});

describe('defaults the mutating webhook fills in', () => {
  test('a pool gets ipVersion from its subnet, merged ranges and its CIDR label', () => {
    expect(
      poolDefaults({
        spec: {
          subnet: 'fd00:18::/64',
          ips: ['fd00:18::20-fd00:18::30', 'fd00:18::10-fd00:18::21', 'fd00:18::5'],
          excludeIPs: ['fd00:18::7', 'fd00:18::6'],
        },
      }),
    ).toEqual({
      ipVersion: 6,
      ips: ['fd00:18::5', 'fd00:18::10-fd00:18::30'],
      excludeIPs: ['fd00:18::6-fd00:18::7'],
      labels: { 'ipam.spidernet.io/ippool-cidr': 'fd00-18---64' },
    });
  });

  test('nothing changes for a pool that is already in shape', () => {
    expect(
      poolDefaults({
        metadata: { labels: { 'ipam.spidernet.io/ippool-cidr': '198-18-0-0-24' } },
        spec: { subnet: '198.18.0.0/24', ipVersion: 4, ips: ['198.18.0.1-198.18.0.9'] },
      }),
    ).toEqual({});
  });

  test('what cannot be parsed is left for the schema and the validating webhook to refuse', () => {
    expect(poolDefaults({ spec: { subnet: '198.18.0.1/24', ips: ['not-an-ip', '198.18.0.3'] } })).toEqual({
      labels: { 'ipam.spidernet.io/ippool-cidr': '198-18-0-1-24' },
    });
  });

  test('a subnet gets its own label key', () => {
    expect(subnetObjectDefaults({ spec: { subnet: '198.18.0.0/24' } })).toEqual({
      ipVersion: 4,
      labels: { 'ipam.spidernet.io/subnet-cidr': '198-18-0-0-24' },
    });
  });

  test('a reserved IP takes ipVersion from its first entry', () => {
    expect(
      reservedIPDefaults({ spec: { ips: ['198.18.0.9', '198.18.0.8', '198.18.0.1-198.18.0.2'] } }),
    ).toEqual({
      ipVersion: 4,
      ips: ['198.18.0.1-198.18.0.2', '198.18.0.8-198.18.0.9'],
    });
  });

  test("Spiderpool's label spelling", () => {
    expect(cidrLabelValue('10.6.0.0/16')).toBe('10-6-0-0-16');
  });
});
