import { SpamFilter } from '../../../../operator/events/spam-filter.js';

test('a burst passes, then one event per refill period', () => {
  const f = new SpamFilter({ burst: 3, refillEveryMs: 1000 });
  expect([0, 1, 2, 3].map(() => f.allow('pod-a', 0))).toEqual([true, true, true, false]);
  expect(f.allow('pod-a', 999)).toBe(false);
  expect(f.allow('pod-a', 1000)).toBe(true);
  expect(f.allow('pod-a', 1500)).toBe(false);
  expect(f.allow('pod-a', 10_000)).toBe(true);
});

test('objects have separate buckets; a full refill never exceeds the burst', () => {
  const f = new SpamFilter({ burst: 2, refillEveryMs: 10 });
  expect([f.allow('a', 0), f.allow('a', 0), f.allow('a', 0)]).toEqual([true, true, false]);
  expect(f.allow('b', 0)).toBe(true);
  expect([f.allow('a', 1_000_000), f.allow('a', 1_000_000), f.allow('a', 1_000_000)]).toEqual([
    true,
    true,
    false,
  ]);
});

test('only the most recently used objects are remembered', () => {
  const f = new SpamFilter({ burst: 1, refillEveryMs: 1_000_000, maxKeys: 2 });
  expect(f.allow('a', 0)).toBe(true);
  expect(f.allow('b', 0)).toBe(true);
  expect(f.allow('c', 0)).toBe(true);
  // 'a' was forgotten, so it starts with a full bucket again; 'c' was not.
  expect(f.allow('a', 0)).toBe(true);
  expect(f.allow('c', 0)).toBe(false);
});
