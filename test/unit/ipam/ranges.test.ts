import fc from 'fast-check';
import {
  contains,
  count,
  firstAfter,
  fromValues,
  type IntervalSet,
  intersect,
  isSubset,
  nextCyclic,
  normalize,
  subtract,
  union,
} from '../../../ipam/ranges/intervals.js';
import {
  formatRanges,
  mergeRanges,
  parseRangeEntry,
  parseRanges,
} from '../../../ipam/ranges/spiderpool-ranges.js';
import { ipamErrorOf } from './helpers.js';

describe('Spiderpool range lists', () => {
  it('merges, sorts and dedupes as the mutating webhook does', () => {
    expect(
      mergeRanges(['172.18.40.2-172.18.40.5', '172.18.40.1-172.18.40.3', '172.18.40.10', '172.18.40.6']),
    ).toEqual(['172.18.40.1-172.18.40.6', '172.18.40.10']);
    expect(mergeRanges(['fd00::0a-fd00::0F', 'FD00::1'])).toEqual(['fd00::1', 'fd00::a-fd00::f']);
    expect(mergeRanges([])).toEqual([]);
  });

  it('counts without iterating, even a /64', () => {
    expect(count(parseRanges(['fd00::-fd00::ffff:ffff:ffff:ffff']).set)).toBe(1n << 64n);
    expect(count(parseRanges(['10.0.0.1-10.0.0.10', '10.0.0.5', '10.0.0.20']).set)).toBe(11n);
  });

  it('infers the family from the first entry and refuses the other family, naming the entry', () => {
    expect(parseRanges(['fd00::1']).family).toBe(6);
    const error = ipamErrorOf(() => parseRanges(['10.0.0.1', 'fd00::1'], undefined, 'spec.ips'));
    expect(error.field).toBe('spec.ips[1]');
    expect(error.message).toBe('spec.ips[1]: "fd00::1" is not an IPv4 address');
  });

  it.each([
    ['10.0.0.0/24', /CIDRs are not allowed/],
    ['10.0.0.9-10.0.0.1', /ends before it starts/],
    ['10.0.0.1-10.0.0.2-10.0.0.3', /not an address or a range/],
    ['10.0.0.1-', /not an IPv4 address/],
    ['', /not an address or a range/],
  ])('rejects %j with a clear message', (entry, message) => {
    const error = ipamErrorOf(() => parseRangeEntry(entry, 4, 'spec.excludeIPs[0]'));
    expect(error.message).toMatch(message);
    expect(error.field).toBe('spec.excludeIPs[0]');
  });

  it('formats single addresses bare and runs as a-b', () => {
    expect(
      formatRanges(
        4,
        normalize([
          { start: 1n, end: 1n },
          { start: 3n, end: 9n },
        ]),
      ),
    ).toEqual(['0.0.0.1', '0.0.0.3-0.0.0.9']);
  });
});

// Interval sets over a small domain, checked against plain sets of numbers.
const small = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 8 })).map(([s, len]) => ({
    start: BigInt(s),
    end: BigInt(s + len),
  })),
  { maxLength: 8 },
);

function members(set: IntervalSet): Set<number> {
  const out = new Set<number>();
  for (const { start, end } of set) for (let v = Number(start); v <= Number(end); v++) out.add(v);
  return out;
}

function isNormal(set: IntervalSet): boolean {
  return set.every((iv, i) => iv.start <= iv.end && (i === 0 || (set[i - 1]?.end ?? -2n) + 1n < iv.start));
}

describe('interval sets', () => {
  it('union, subtract and intersect agree with plain sets and stay normalized', () => {
    fc.assert(
      fc.property(small, small, (a, b) => {
        const A = normalize(a);
        const B = normalize(b);
        const ma = members(A);
        const mb = members(B);
        const u = union(A, B);
        const d = subtract(A, B);
        const x = intersect(A, B);
        expect([u, d, x].every(isNormal)).toBe(true);
        expect(members(u)).toEqual(new Set([...ma, ...mb]));
        expect(members(d)).toEqual(new Set([...ma].filter((v) => !mb.has(v))));
        expect(members(x)).toEqual(new Set([...ma].filter((v) => mb.has(v))));
        expect(count(A)).toBe(BigInt(ma.size));
        expect(isSubset(x, A)).toBe(true);
        for (let v = 0; v < 70; v++) expect(contains(A, BigInt(v))).toBe(ma.has(v));
      }),
    );
  });

  it('finds the next member after a value, cyclically', () => {
    fc.assert(
      fc.property(small, fc.option(fc.integer({ min: -1, max: 75 }), { nil: undefined }), (a, after) => {
        const A = normalize(a);
        const sorted = [...members(A)].sort((x, y) => x - y);
        const above = sorted.find((v) => after === undefined || v > after);
        const expectedFirst = above === undefined ? undefined : BigInt(above);
        expect(firstAfter(A, after === undefined ? undefined : BigInt(after))).toBe(expectedFirst);
        const expectedCyclic = expectedFirst ?? (sorted.length ? BigInt(sorted[0] as number) : undefined);
        expect(nextCyclic(A, after === undefined ? undefined : BigInt(after))).toBe(expectedCyclic);
      }),
    );
  });

  it('builds sets from single values', () => {
    expect(fromValues([5n, 3n, 4n, 9n, 3n])).toEqual([
      { start: 3n, end: 5n },
      { start: 9n, end: 9n },
    ]);
  });
});
