// The leader's pool rounds without the API: WantTracker's bookkeeping, decidePool's one-pool step,
// and the two driven together over random pools and random batches exactly as the leader drives
// them (each round offers every unsettled want to its current pool; exhausted wants move on).
import fc from 'fast-check';
import type { SpiderIPPool } from '../../../api/index.js';
import { decidePool } from '../../../cni/allocation/pool-decision.js';
import { type Want, WantTracker } from '../../../cni/allocation/wants.js';
import { decodeRecords } from '../../../ipam/records/codec.js';
import { pool } from '../ipam/helpers.js';

const want = (request: number, pools: string[], nic = 'eth0'): Want => ({
  request,
  nic,
  family: 4,
  pools,
  owner: `ns/p${request}`,
  podUid: `uid-${request}`,
  takeOver: false,
});

describe('WantTracker', () => {
  test('offers each unsettled want to its current pool, pools in name order', () => {
    const t = new WantTracker([want(0, ['b', 'a']), want(1, ['a']), want(2, ['b'])]);
    expect([...t.pending()]).toEqual([
      ['a', [1]],
      ['b', [0, 2]],
    ]);
    expect(t.requests([0, 2])).toEqual([
      { owner: 'ns/p0', podUid: 'uid-0', nic: 'eth0', takeOver: false },
      { owner: 'ns/p2', podUid: 'uid-2', nic: 'eth0', takeOver: false },
    ]);
  });

  test('a want moves to its next pool when one is exhausted, and fails when none is left', () => {
    const t = new WantTracker([want(0, ['a', 'b']), want(1, ['a'])]);
    const exhausted = (p: string) => ({
      kind: 'exhausted' as const,
      pool: p,
      family: 4 as const,
      reason: `pool ${p} is full`,
    });
    t.record(0, exhausted('a'));
    t.record(1, exhausted('a'));
    expect([...t.pending()]).toEqual([['b', [0]]]);
    expect(t.failure(1)).toEqual({ kind: 'exhausted', reasons: ['pool a is full'] });
    t.record(0, {
      kind: 'allocated',
      pool: 'b',
      family: 4,
      ip: '10.0.0.1',
      address: '10.0.0.1/24',
      prefix: 24,
    });
    expect(t.held(0)?.ip).toBe('10.0.0.1');
    expect(t.pending().size).toBe(0);
    expect(t.failedRequests()).toEqual(new Set([1]));
  });

  test('only unusable pools make an unusable failure; an abandoned want stops at once', () => {
    const t = new WantTracker([want(0, ['a', 'b']), want(1, ['a', 'b'])]);
    t.record(0, { kind: 'unusable', pool: 'a', family: 4, reason: 'pool a is disabled' });
    t.skipPool(0, 'pool b not found');
    expect(t.failure(0)).toEqual({ kind: 'unusable', reasons: ['pool a is disabled', 'pool b not found'] });
    t.abandon(1, 'the API server failed');
    expect(t.failure(1)).toEqual({ kind: 'unusable', reasons: ['the API server failed'] });
    expect(t.ofRequest(1)).toEqual([1]);
  });
});

describe('decidePool', () => {
  test('releases before allocating, so a batch never hands out what it gives back', () => {
    const p = pool('a', { subnet: '10.0.0.0/24', ips: ['10.0.0.1-10.0.0.2'] });
    const first = decidePool(
      p,
      [],
      [
        { owner: 'ns/x', podUid: 'ux', nic: 'eth0' },
        { owner: 'ns/y', podUid: 'uy', nic: 'eth0' },
      ],
    );
    const next = decidePool(
      first.pool,
      [{ owner: 'ns/x', podUid: 'ux' }],
      [{ owner: 'ns/z', podUid: 'uz', nic: 'eth0' }],
    );
    expect(next.released[0]?.map((r) => r.ip)).toEqual(['10.0.0.1']);
    // z gets the released address only because it is the only free one; the counts stay true.
    expect(next.outcomes).toEqual([expect.objectContaining({ kind: 'allocated', ip: '10.0.0.1' })]);
    expect(next.pool.status).toMatchObject({ allocatedIPCount: 2, totalIPCount: 2 });
    expect(next.changed).toBe(true);
    expect(decidePool(next.pool, [], [{ owner: 'ns/z', podUid: 'uz', nic: 'eth0' }]).changed).toBe(false);
  });
});

/** Pools p0..pN of small ranges in 10.<i>.0.0/24, some disabled. */
const poolsArb = fc.array(fc.record({ size: fc.integer({ min: 0, max: 6 }), disabled: fc.boolean() }), {
  minLength: 1,
  maxLength: 4,
});

test('rounds over random pools: no address twice, fallback in order, a want fails only when every pool is', () => {
  fc.assert(
    fc.property(
      poolsArb,
      fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 30 }),
      (specs, orders) => {
        const pools = new Map<string, SpiderIPPool>(
          specs.map((s, i) => [
            `p${i}`,
            pool(
              `p${i}`,
              s.size === 0
                ? { subnet: `10.${i}.0.0/24`, ips: [], disable: s.disabled }
                : { subnet: `10.${i}.0.0/24`, ips: [`10.${i}.0.1-10.${i}.0.${s.size}`], disable: s.disabled },
            ),
          ]),
        );
        const names = [...pools.keys()];
        const wants = orders.map((order, r) =>
          want(r, [...new Set(order.map((k) => names[k % names.length] as string))]),
        );
        const tracker = new WantTracker(wants);
        for (let round = 0; tracker.pending().size > 0; round++) {
          expect(round).toBeLessThan(names.length + 1);
          for (const [name, indexes] of tracker.pending()) {
            const decision = decidePool(pools.get(name) as SpiderIPPool, [], tracker.requests(indexes));
            pools.set(name, decision.pool);
            indexes.forEach((i, k) => {
              tracker.record(i, decision.outcomes[k] as never);
            });
          }
        }
        const held = wants.flatMap((w, i) => {
          const h = tracker.held(i);
          return h ? [{ w, h }] : [];
        });
        // No address is held twice, and every held address is recorded for its pod in its pool.
        const keys = held.map(({ h }) => `${h.pool}/${h.ip}`);
        expect(new Set(keys).size).toBe(keys.length);
        for (const { w, h } of held) {
          const p = pools.get(h.pool) as SpiderIPPool;
          const records = decodeRecords(h.pool, p.status?.allocatedIPs, 4);
          expect(records.find((r) => r.ip === h.ip)).toMatchObject({ pod: w.owner, podUid: w.podUid });
          // It came from one of the want's pools, and never from a disabled one.
          expect(w.pools).toContain(h.pool);
          expect(p.spec.disable).toBeFalsy();
        }
        wants.forEach((w, i) => {
          const failure = tracker.failure(i);
          if (!failure) return;
          expect(failure.reasons).toHaveLength(w.pools.length);
          for (const name of w.pools) {
            const p = pools.get(name) as SpiderIPPool;
            const full = (p.status?.allocatedIPCount ?? 0) >= (p.status?.totalIPCount ?? 0);
            expect(p.spec.disable || full).toBe(true);
          }
        });
      },
    ),
    { numRuns: 200 },
  );
});
