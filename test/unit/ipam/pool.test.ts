import type { SpiderReservedIP } from '../../../api/index.js';
import { parseIP } from '../../../ipam/address/ip.js';
import { cursorAfterRelease, FreeWalker, freeSet, parseCursor } from '../../../ipam/pool/free.js';
import {
  maxStatusCount,
  poolFamily,
  poolSpace,
  reservedSet,
  totalIPCount,
} from '../../../ipam/pool/space.js';
import { poolUsage } from '../../../ipam/pool/usage.js';
import { count, normalize } from '../../../ipam/ranges/intervals.js';
import { formatRanges } from '../../../ipam/ranges/spiderpool-ranges.js';
import { ipamErrorOf, pool } from './helpers.js';

const v4 = (text: string) => parseIP(text, 4).value;

describe('poolSpace', () => {
  const p = pool('vlan40-v4', {
    subnet: '198.18.40.0/24',
    ips: ['198.18.40.1-198.18.40.20'],
    excludeIPs: ['198.18.40.5-198.18.40.6'],
    gateway: '198.18.40.1',
  });

  it('counts Spiderpool totalIPCount as |ips − excludeIPs|, gateway and reserved IPs included', () => {
    const space = poolSpace(p, normalize([{ start: v4('198.18.40.10'), end: v4('198.18.40.10') }]));
    expect(count(space.ips)).toBe(18n);
    expect(totalIPCount(space)).toBe(18);
  });

  it('drops excludes, reserved IPs and the gateway from what is allocatable', () => {
    const space = poolSpace(p, normalize([{ start: v4('198.18.40.10'), end: v4('198.18.40.11') }]));
    expect(formatRanges(4, space.allocatable)).toEqual([
      '198.18.40.2-198.18.40.4',
      '198.18.40.7-198.18.40.9',
      '198.18.40.12-198.18.40.20',
    ]);
  });

  it('clips ips to the subnet so an unvalidated pool cannot hand out foreign addresses', () => {
    const space = poolSpace(pool('wide', { subnet: '198.18.0.0/30', ips: ['198.18.0.1-198.18.0.9'] }));
    expect(formatRanges(4, space.allocatable)).toEqual(['198.18.0.1-198.18.0.3']);
  });

  it('infers the family from the subnet and refuses a contradicting ipVersion', () => {
    expect(poolFamily(pool('a', { subnet: 'fd00::/64' }))).toBe(6);
    const error = ipamErrorOf(() => poolFamily(pool('b', { subnet: 'fd00::/64', ipVersion: 4 })));
    expect(error.message).toBe('pool b: spec.ipVersion: spec.ipVersion is 4 but spec.subnet is IPv6');
    expect(error.code).toBe('InvalidPool');
  });

  it('names the pool and the entry of a bad spec', () => {
    const error = ipamErrorOf(() =>
      poolSpace(pool('bad', { subnet: '198.18.0.0/24', ips: ['198.18.0.1', '198.18.0.300'] })),
    );
    expect(error.message).toBe('pool bad: spec.ips[1]: "198.18.0.300" is not an IPv4 address');
    expect(error.pool).toBe('bad');
    expect(error.field).toBe('spec.ips[1]');
  });

  it('caps the count of huge IPv6 pools at the largest exact JavaScript integer', () => {
    const space = poolSpace(pool('v6', { subnet: 'fd00::/64', ips: ['fd00::-fd00::ffff:ffff:ffff:ffff'] }));
    expect(count(space.ips)).toBe(1n << 64n);
    expect(totalIPCount(space)).toBe(maxStatusCount);
  });
});

describe('reservedSet', () => {
  const reserved = (name: string, ips: string[], extra: Partial<SpiderReservedIP['metadata']> = {}) => ({
    metadata: { name, ...extra },
    spec: { ips },
  });

  it('joins the reserved IPs of one family and ignores objects being deleted', () => {
    const set = reservedSet(
      [
        reserved('a', ['198.18.0.1-198.18.0.3']),
        reserved('b', ['fd00::1']),
        reserved('c', ['198.18.0.4']),
        reserved('d', ['198.18.0.9'], { deletionTimestamp: new Date() }),
      ],
      4,
    );
    expect(formatRanges(4, set)).toEqual(['198.18.0.1-198.18.0.4']);
    expect(formatRanges(6, reservedSet([reserved('b', ['fd00::1'])], 6))).toEqual(['fd00::1']);
  });

  it('names the object and the entry of a bad one', () => {
    const error = ipamErrorOf(() => reservedSet([reserved('r1', ['198.18.0.1', 'x'])], 4));
    expect(error.message).toBe('SpiderReservedIP r1 spec.ips[1]: "x" is not an IPv4 address');
  });
});

describe('free addresses', () => {
  const space = poolSpace(pool('p', { subnet: '198.18.0.0/29', ips: ['198.18.0.1-198.18.0.6'] }));

  it('walks after the cursor, wraps around, skips used addresses and never repeats', () => {
    const walker = new FreeWalker(freeSet(space, [v4('198.18.0.2'), v4('198.18.0.5')]), v4('198.18.0.3'));
    const taken: bigint[] = [];
    for (let v = walker.take(); v !== undefined; v = walker.take()) taken.push(v);
    expect(taken).toEqual(['198.18.0.4', '198.18.0.6', '198.18.0.1', '198.18.0.3'].map(v4));
    expect(walker.left).toBe(0n);
  });

  it('starts at the lowest address without a cursor', () => {
    expect(new FreeWalker(freeSet(space, []), undefined).take()).toBe(v4('198.18.0.1'));
  });

  it('moves the cursor past released addresses that would be handed out next', () => {
    const free = freeSet(space, [v4('198.18.0.1'), v4('198.18.0.4')]);
    // Free: .2 .3 .5 .6; with the cursor at .1, .2 would be next.
    const cursorFor = (cursor: string, released: string[]) =>
      cursorAfterRelease(free, v4(cursor), new Set(released.map(v4)));
    expect(cursorFor('198.18.0.1', ['198.18.0.2'])).toBe(v4('198.18.0.2'));
    expect(cursorFor('198.18.0.1', ['198.18.0.3', '198.18.0.2'])).toBe(v4('198.18.0.3'));
    expect(cursorFor('198.18.0.1', ['198.18.0.5'])).toBe(v4('198.18.0.1'));
    // Every free address just released: the cursor goes once round them and stops.
    expect(cursorFor('198.18.0.1', ['198.18.0.2', '198.18.0.3', '198.18.0.5', '198.18.0.6'])).toBe(
      v4('198.18.0.6'),
    );
  });

  it('ignores a cursor that is not an address of the family', () => {
    expect(parseCursor(space, 'fd00::1')).toBeUndefined();
    expect(parseCursor(space, 'garbage')).toBeUndefined();
    expect(parseCursor(space, '198.18.0.3')).toBe(v4('198.18.0.3'));
  });
});

describe('poolUsage', () => {
  it('counts total, allocatable, allocated and free addresses', () => {
    const p = pool(
      'u',
      {
        subnet: '198.18.0.0/28',
        ips: ['198.18.0.1-198.18.0.10'],
        excludeIPs: ['198.18.0.10'],
        gateway: '198.18.0.1',
      },
      {
        allocatedIPs: JSON.stringify({
          '198.18.0.2': { pod: 'ns/a', podUid: 'u1' },
          // Excluded after it was handed out: counted as allocated, not taken from the free ones.
          '198.18.0.10': { pod: 'ns/b', podUid: 'u2' },
        }),
      },
    );
    expect(poolUsage(p, normalize([{ start: v4('198.18.0.9'), end: v4('198.18.0.9') }]))).toEqual({
      total: 9n,
      allocatable: 7n,
      allocated: 2,
      free: 6n,
    });
  });
});
