import fc from 'fast-check';
import { Backoff, backoffDelay } from '../../../../operator/framework/backoff.js';

const policy = { initialMs: 100, maxMs: 10_000 };

test('delays double per attempt and stay within [step/2, step]', () => {
  expect(backoffDelay(0, policy, () => 0)).toBe(50);
  expect(backoffDelay(0, policy, () => 1)).toBe(100);
  expect(backoffDelay(3, policy, () => 1)).toBe(800);
  expect(backoffDelay(3, policy, () => 0)).toBe(400);
});

test('the cap holds for any attempt and any random value', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (attempt, r) => {
        const d = backoffDelay(attempt, policy, () => r);
        return d >= policy.initialMs / 2 && d <= policy.maxMs;
      },
    ),
  );
});

test('Backoff counts failures and starts over after reset', () => {
  const b = new Backoff(policy, () => 1);
  expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400]);
  expect(b.failures).toBe(3);
  b.reset();
  expect(b.next()).toBe(100);
});
