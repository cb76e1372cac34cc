import type { SpiderIPPool, SpiderSubnet } from '../../../../api/index.js';
import { fieldErrorMessage } from '../../../../ipam/validation/field-error.js';
import {
  type PoolValidationContext,
  validatePool,
  validatePoolUpdate,
} from '../../../../ipam/validation/pool.js';

function pool(name: string, spec: Partial<SpiderIPPool['spec']>, allocatedIPs?: object): SpiderIPPool {
  return {
    metadata: { name },
    spec: { subnet: '198.18.0.0/24', ipVersion: 4, ...spec } as SpiderIPPool['spec'],
    ...(allocatedIPs ? { status: { allocatedIPs: JSON.stringify(allocatedIPs) } } : {}),
  };
}

const subnet = (name: string, spec: Partial<SpiderSubnet['spec']>): SpiderSubnet => ({
  metadata: { name },
  spec: { subnet: '198.18.0.0/24', ipVersion: 4, ...spec } as SpiderSubnet['spec'],
});

const ctx = (more: Partial<PoolValidationContext> = {}): PoolValidationContext => ({
  enableIPv4: true,
  enableIPv6: true,
  enableSpiderSubnet: false,
  pools: [],
  subnets: [],
  ...more,
});

const message = (p: SpiderIPPool, c = ctx()) => {
  const e = validatePool(p, c);
  return e ? fieldErrorMessage(e) : undefined;
};

describe('one pool on its own', () => {
  test.each<[string, Partial<SpiderIPPool['spec']>, string | undefined]>([
    ['a plain pool', { ips: ['198.18.0.10-198.18.0.20'], gateway: '198.18.0.1' }, undefined],
    [
      'host bits in the subnet (V2)',
      { subnet: '198.18.0.1/24' },
      'spec.subnet: Invalid value: "198.18.0.1/24": "198.18.0.1/24" is not in canonical form; use 198.18.0.0/24',
    ],
    [
      'no ipVersion',
      { ipVersion: undefined },
      'spec.ipVersion: Required value: must be 4 or 6 (it is filled from the subnet when left out)',
    ],
    [
      'ipVersion of the other family',
      { ipVersion: 6 },
      'spec.ipVersion: Invalid value: 6: does not match the family of spec.subnet 198.18.0.0/24',
    ],
    [
      'an address outside the subnet (V5)',
      { ips: ['198.18.0.10', '198.18.1.5'] },
      'spec.ips[1]: Invalid value: "198.18.1.5": must lie inside spec.subnet 198.18.0.0/24',
    ],
    [
      'a CIDR in ips',
      { ips: ['198.18.0.0/28'] },
      'spec.ips[0]: Invalid value: "198.18.0.0/28": "198.18.0.0/28": CIDRs are not allowed here; use a-b',
    ],
    [
      'a reversed range in excludeIPs',
      { excludeIPs: ['198.18.0.9-198.18.0.3'] },
      'spec.excludeIPs[0]: Invalid value: "198.18.0.9-198.18.0.3": "198.18.0.9-198.18.0.3": the range ends before it starts',
    ],
    [
      'a gateway outside the subnet (V7)',
      { gateway: '198.18.1.1' },
      'spec.gateway: Invalid value: "198.18.1.1": must lie inside spec.subnet 198.18.0.0/24',
    ],
    [
      'a gateway that would be handed out (V7)',
      { ips: ['198.18.0.1-198.18.0.9'], gateway: '198.18.0.1' },
      'spec.gateway: Invalid value: "198.18.0.1": is among spec.ips and would be handed out to a pod; add it to spec.excludeIPs',
    ],
    [
      'a default route (V8)',
      { routes: [{ dst: '0.0.0.0/0', gw: '198.18.0.1' }] },
      'spec.routes[0].dst: Invalid value: "0.0.0.0/0": a default route is not allowed here; set spec.gateway instead',
    ],
    [
      'a route twice (V8)',
      {
        routes: [
          { dst: '10.0.0.0/8', gw: '198.18.0.1' },
          { dst: '10.0.0.0/8', gw: '198.18.0.2' },
        ],
      },
      'spec.routes[1].dst: Invalid value: "10.0.0.0/8": duplicates spec.routes[0].dst',
    ],
    [
      'a route gw outside the subnet (V8)',
      { routes: [{ dst: '10.0.0.0/8', gw: '10.0.0.1' }] },
      'spec.routes[0].gw: Invalid value: "10.0.0.1": must lie inside spec.subnet 198.18.0.0/24',
    ],
    [
      'a route dst of the other family (V8)',
      { routes: [{ dst: 'fd00::/64', gw: '198.18.0.1' }] },
      'spec.routes[0].dst: Invalid value: "fd00::/64": "fd00::/64" is not an IPv4 CIDR',
    ],
    [
      'an empty podAffinity (V9)',
      { podAffinity: {} },
      'spec.podAffinity: Invalid value: {}: must not be empty: an empty selector matches every pod',
    ],
    [
      'a podAffinity In without values (V9)',
      { podAffinity: { matchExpressions: [{ key: 'app', operator: 'In' }] } },
      'spec.podAffinity.matchExpressions[0]: Invalid value: {"key":"app","operator":"In"}: operator In needs values',
    ],
    [
      'a podAffinity label value Kubernetes refuses (V9)',
      { podAffinity: { matchLabels: { app: 'no spaces' } } },
      'spec.podAffinity.matchLabels: Invalid value: {"app":"no spaces"}: a label value must be empty or 63 characters or less, alphanumeric, with - _ . inside',
    ],
    [
      'a nodeAffinity with an unknown operator',
      { nodeAffinity: { matchExpressions: [{ key: 'zone', operator: 'Near', values: ['a'] }] } },
      'spec.nodeAffinity.matchExpressions[0].operator: Invalid value: "Near": unknown operator "Near"',
    ],
  ])('%s', (_what, spec, expected) => {
    expect(message(pool('p1', spec))).toBe(expected);
  });

  test('a disabled family is refused (V1)', () => {
    expect(message(pool('p1', {}), ctx({ enableIPv4: false }))).toBe(
      'spec.ipVersion: Forbidden: IPv4 is disabled (enableIPv4: false in conf.yml)',
    );
  });

  test('IPv6 pools are checked the same way', () => {
    expect(
      message(pool('p6', { subnet: 'fd00:18::/120', ipVersion: 6, ips: ['fd00:18::10-fd00:18::ff'] })),
    ).toBeUndefined();
    expect(message(pool('p6', { subnet: 'fd00:18::/120', ipVersion: 6, ips: ['fd00:18::1:0'] }))).toBe(
      'spec.ips[0]: Invalid value: "fd00:18::1:0": must lie inside spec.subnet fd00:18::/120',
    );
  });
});

describe('pools among others', () => {
  const others = [
    pool('a', { ips: ['198.18.0.10-198.18.0.20'] }),
    pool('v6', { subnet: 'fd00::/64', ipVersion: 6 }),
    pool('broken', { subnet: 'nonsense' }),
  ];

  test('an overlapping subnet written differently is refused (V4); the other family and broken pools do not count', () => {
    expect(message(pool('p1', { subnet: '198.18.0.0/23' }), ctx({ pools: others }))).toBe(
      'spec.subnet: Invalid value: "198.18.0.0/23": overlaps the subnet 198.18.0.0/24 of SpiderIPPool a; pools may share a subnet only when it is written identically',
    );
    expect(message(pool('p1', { subnet: '198.18.1.0/24' }), ctx({ pools: others }))).toBeUndefined();
  });

  test('pools sharing a subnet may not share addresses (V6); the message names the shared ones and the pool', () => {
    expect(message(pool('p1', { ips: ['198.18.0.18-198.18.0.30'] }), ctx({ pools: others }))).toBe(
      'spec.ips: Invalid value: ["198.18.0.18-198.18.0.30"]: 198.18.0.18-198.18.0.20 already belong to SpiderIPPool a',
    );
    expect(
      message(
        pool('p1', { ips: ['198.18.0.18-198.18.0.30'], excludeIPs: ['198.18.0.18-198.18.0.20'] }),
        ctx({ pools: others }),
      ),
    ).toBeUndefined();
  });

  test('a pool is not compared with its own previous version', () => {
    expect(message(pool('a', { ips: ['198.18.0.10-198.18.0.30'] }), ctx({ pools: others }))).toBeUndefined();
  });

  test('with SpiderSubnet on, a pool takes its addresses from the SpiderSubnet of its CIDR (V10)', () => {
    const subnets = [subnet('s1', { ips: ['198.18.0.0-198.18.0.99'] })];
    const p = pool('p1', { ips: ['198.18.0.90-198.18.0.110'] });
    expect(message(p, ctx({ subnets }))).toBeUndefined();
    expect(message(p, ctx({ subnets, enableSpiderSubnet: true }))).toBe(
      'spec.ips: Invalid value: ["198.18.0.90-198.18.0.110"]: 198.18.0.100-198.18.0.110 are not among the IPs of SpiderSubnet s1',
    );
  });
});

describe('updates', () => {
  const records = { '198.18.0.12': { pod: 'default/web-1', podUid: 'u-1', nic: 'eth0' } };
  const old = pool('p1', { ips: ['198.18.0.10-198.18.0.20'] }, records);

  test('an allocated address cannot leave the pool by spec.ips: the message names it and its holder', () => {
    const e = validatePoolUpdate(old, pool('p1', { ips: ['198.18.0.13-198.18.0.20'] }), ctx());
    expect(e && fieldErrorMessage(e)).toBe(
      'spec.ips: Forbidden: 198.18.0.12 is allocated to default/web-1 (pod UID u-1, eth0); it cannot leave the pool until it is released',
    );
  });

  test('nor by spec.excludeIPs', () => {
    const e = validatePoolUpdate(
      old,
      pool('p1', { ips: ['198.18.0.10-198.18.0.20'], excludeIPs: ['198.18.0.12'] }),
      ctx(),
    );
    expect(e?.field).toBe('spec.excludeIPs');
  });

  test('free addresses may go, and the other rules still apply', () => {
    expect(validatePoolUpdate(old, pool('p1', { ips: ['198.18.0.12-198.18.0.15'] }), ctx())).toBeUndefined();
    expect(validatePoolUpdate(old, pool('p1', { ips: ['198.18.0.12', '198.18.9.1'] }), ctx())?.field).toBe(
      'spec.ips[1]',
    );
  });

  test('unreadable records protect the pool instead of being ignored', () => {
    const broken: SpiderIPPool = { ...old, status: { allocatedIPs: '{not json' } };
    const e = validatePoolUpdate(broken, pool('p1', { ips: ['198.18.0.10-198.18.0.20'] }), ctx());
    expect(e?.field).toBe('status.allocatedIPs');
    expect(e?.type).toBe('Forbidden');
  });
});
