// Property tests of batch allocation and release: random pools (IPv4, small IPv6, an IPv6 /64) and
// random sequences of batches, checked against a plain model after every step.
import fc from 'fast-check';
import type { SpiderIPPool } from '../../../api/index.js';
import { parseCIDR } from '../../../ipam/address/cidr.js';
import { type Family, formatValue, parseIP } from '../../../ipam/address/ip.js';
import { type AllocationRequest, allocate } from '../../../ipam/allocation/allocate.js';
import { type ReleaseRequest, release } from '../../../ipam/allocation/release.js';
import { maxStatusCount } from '../../../ipam/pool/space.js';
import { contains, count, type IntervalSet, normalize, subtract } from '../../../ipam/ranges/intervals.js';
import { parseRanges } from '../../../ipam/ranges/spiderpool-ranges.js';
import { decodeRecords } from '../../../ipam/records/codec.js';

interface PoolCase {
  pool: SpiderIPPool;
  family: Family;
  reserved: IntervalSet;
}

const rangeText = (family: Family, base: bigint, a: bigint, b: bigint) => {
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  return lo === hi
    ? formatValue(family, base + lo)
    : `${formatValue(family, base + lo)}-${formatValue(family, base + hi)}`;
};

/** A pool of a subnet of `size` addresses at `subnet`, with random ranges, excludes, gateway, reserved. */
function poolCase(family: Family, subnet: string, ipsSpan: bigint, extraIps: string[] = []) {
  const { network } = parseCIDR(subnet);
  const offset = fc.bigInt({ min: 0n, max: ipsSpan - 1n });
  const range = fc.tuple(offset, offset).map(([a, b]) => rangeText(family, network, a, b));
  return fc
    .record({
      ips: fc.array(range, { minLength: 1, maxLength: 3 }),
      excludeIPs: fc.array(range, { maxLength: 2 }),
      gateway: fc.option(offset, { nil: undefined }),
      reserved: fc.array(fc.tuple(offset, offset), { maxLength: 2 }),
    })
    .map(({ ips, excludeIPs, gateway, reserved }): PoolCase => {
      const spec: SpiderIPPool['spec'] = { subnet, ips: [...ips, ...extraIps], excludeIPs };
      if (gateway !== undefined) spec.gateway = formatValue(family, network + gateway);
      return {
        pool: { metadata: { name: `p${family}` }, spec },
        family,
        reserved: normalize(
          reserved.map(([a, b]) =>
            a <= b ? { start: network + a, end: network + b } : { start: network + b, end: network + a },
          ),
        ),
      };
    });
}

const pools = fc.oneof(
  poolCase(4, '198.18.7.0/28', 16n),
  poolCase(4, '198.18.8.0/26', 64n),
  poolCase(6, 'fd00:0:0:7::/122', 64n),
  // A /64: too big to iterate, so only arithmetic can work; excludes and gateway land near the start.
  poolCase(6, 'fd00:0:0:64::/64', 40n, ['fd00:0:0:64::-fd00:0:0:64:ffff:ffff:ffff:ffff']),
);

const owners = ['ns/a', 'ns/b', 'other/a', 'vm/db', 'ns/c', 'ns/d'];
const uids = ['u1', 'u2', 'u3'];
const nics = ['eth0', 'net1'];

const allocStep = fc
  .array(
    fc.record({
      owner: fc.constantFrom(...owners),
      podUid: fc.constantFrom(...uids),
      nic: fc.constantFrom(...nics),
      takeOver: fc.boolean(),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((requests) => ({ type: 'allocate' as const, requests: requests as AllocationRequest[] }));

const releaseStep = fc
  .array(
    fc.record(
      {
        owner: fc.constantFrom(...owners),
        podUid: fc.constantFrom(...uids),
        nic: fc.constantFrom(...nics),
        force: fc.boolean(),
      },
      { requiredKeys: ['owner', 'podUid'] },
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((requests) => ({ type: 'release' as const, requests: requests as ReleaseRequest[] }));

interface ModelRecord {
  ip: string;
  owner: string;
  podUid: string;
  nic: string;
}

const key = (r: ModelRecord) => `${r.ip} ${r.owner} ${r.podUid} ${r.nic}`;

describe('allocation and release, property-based', () => {
  it('never shares an address, never hands out excluded, reserved or gateway addresses, keeps totals', () => {
    fc.assert(
      fc.property(
        pools,
        fc.array(fc.oneof(allocStep, releaseStep), { minLength: 1, maxLength: 14 }),
        (c, steps) => {
          const spec = c.pool.spec;
          const subnet = parseCIDR(spec.subnet);
          const ips = parseRanges(spec.ips, c.family).set;
          const excluded = parseRanges(spec.excludeIPs, c.family).set;
          const gateway = spec.gateway === undefined ? undefined : parseIP(spec.gateway).value;
          const handable = (v: bigint) =>
            contains(ips, v) &&
            !contains(excluded, v) &&
            !contains(c.reserved, v) &&
            v !== gateway &&
            v >= subnet.network &&
            v <= subnet.last;
          // Independent of the code under test for small pools: enumerate; a /64 never runs out here.
          const capacity =
            subnet.prefix === 64
              ? Number.POSITIVE_INFINITY
              : Array.from(
                  { length: Number(subnet.last - subnet.network + 1n) },
                  (_, i) => subnet.network + BigInt(i),
                ).filter(handable).length;
          const total = count(subtract(ips, excluded));

          let current = c.pool;
          let model: ModelRecord[] = [];
          let justReleased: { ips: Set<string>; freeAfter: number; handable: number } | undefined;

          for (const step of steps) {
            if (step.type === 'allocate') {
              const batch = allocate(current, step.requests, { reserved: c.reserved });
              step.requests.forEach((request, i) => {
                const outcome = batch.outcomes[i];
                const same = model.find(
                  (r) => r.owner === request.owner && r.podUid === request.podUid && r.nic === request.nic,
                );
                // Of several records a takeover could move, the lowest address is moved.
                const held = request.takeOver
                  ? model
                      .filter((r) => r.owner === request.owner && r.nic === request.nic)
                      .sort((x, y) => (parseIP(x.ip).value < parseIP(y.ip).value ? -1 : 1))[0]
                  : undefined;
                if (same) {
                  expect(outcome).toMatchObject({ kind: 'reused', ip: same.ip });
                } else if (held) {
                  expect(outcome).toMatchObject({
                    kind: 'takenOver',
                    ip: held.ip,
                    previousPodUid: held.podUid,
                  });
                  held.podUid = request.podUid;
                } else if (model.length >= capacity) {
                  expect(outcome?.kind).toBe('exhausted');
                } else {
                  expect(outcome?.kind).toBe('allocated');
                  const ip = outcome && 'ip' in outcome ? outcome.ip : '';
                  expect(model.some((r) => r.ip === ip)).toBe(false);
                  // A just-released address comes back first only when nothing else is free.
                  if (justReleased && justReleased.freeAfter > justReleased.handable) {
                    expect(justReleased.ips.has(ip)).toBe(false);
                  }
                  justReleased = undefined;
                  model.push({ ip, owner: request.owner, podUid: request.podUid, nic: request.nic });
                }
              });
              current = { ...current, status: batch.status };
            } else {
              const batch = release(current, step.requests, { reserved: c.reserved });
              const releasedNow: ModelRecord[] = [];
              step.requests.forEach((request, i) => {
                const match = (r: ModelRecord) =>
                  r.owner === request.owner &&
                  (request.force || r.podUid === request.podUid) &&
                  (request.nic === undefined || r.nic === request.nic);
                const expected = model.filter(match);
                model = model.filter((r) => !match(r));
                releasedNow.push(...expected);
                expect(
                  (batch.released[i] ?? [])
                    .map((r) => key({ ip: r.ip, owner: r.pod, podUid: r.podUid, nic: r.nic ?? '' }))
                    .sort(),
                ).toEqual(expected.map(key).sort());
              });
              if (releasedNow.length > 0) {
                justReleased = {
                  ips: new Set(releasedNow.map((r) => r.ip)),
                  freeAfter: capacity - model.length,
                  handable: releasedNow.filter((r) => handable(parseIP(r.ip).value)).length,
                };
              }
              current = { ...current, status: batch.status };
            }

            const records = decodeRecords('p', current.status?.allocatedIPs, c.family);
            expect(
              records.map((r) => key({ ip: r.ip, owner: r.pod, podUid: r.podUid, nic: r.nic ?? '' })).sort(),
            ).toEqual(model.map(key).sort());
            expect(new Set(records.map((r) => r.ip)).size).toBe(records.length);
            for (const r of records) expect(handable(r.value)).toBe(true);
            expect(current.status?.allocatedIPCount).toBe(records.length);
            expect(current.status?.totalIPCount).toBe(
              total > BigInt(maxStatusCount) ? maxStatusCount : Number(total),
            );
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('hands out every free address exactly once before exhausting, in cyclic order after the cursor', () => {
    fc.assert(
      fc.property(
        poolCase(4, '198.18.9.0/27', 32n),
        fc.option(fc.integer({ min: 0, max: 31 }), { nil: undefined }),
        (c, cursorOffset) => {
          const network = parseCIDR(c.pool.spec.subnet).network;
          const pool = { ...c.pool };
          if (cursorOffset !== undefined)
            pool.status = { lastAllocatedIP: formatValue(4, network + BigInt(cursorOffset)) };
          const requests = Array.from({ length: 40 }, (_, i) => ({
            owner: `ns/p${i}`,
            podUid: `u${i}`,
            nic: 'eth0',
          }));
          const batch = allocate(pool, requests, { reserved: c.reserved });
          const values = batch.outcomes.flatMap((o) => ('ip' in o ? [parseIP(o.ip).value] : []));
          expect(new Set(values).size).toBe(values.length);
          expect(batch.outcomes.slice(values.length).every((o) => o.kind === 'exhausted')).toBe(true);
          // Cyclic order: rotating the sorted list to start after the cursor gives the handed-out order.
          const sorted = [...values].sort((a, b) => (a < b ? -1 : 1));
          const start = cursorOffset === undefined ? -1n : network + BigInt(cursorOffset);
          const rotated = [...sorted.filter((v) => v > start), ...sorted.filter((v) => v <= start)];
          expect(values).toEqual(rotated);
        },
      ),
    );
  });
});
