import {
  checkTiming,
  decide,
  microTime,
  mustStepDown,
  observe,
  released,
} from '../../../../operator/leader/decision.js';

const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const now = new Date('2026-01-02T03:04:05.678Z');

test('MicroTime has six fractional digits', () => {
  expect(microTime(now)).toBe('2026-01-02T03:04:05.678000Z');
});

test('a missing Lease is created with this replica as holder', () => {
  const d = decide('me', undefined, observe(undefined, undefined, 0), 0, now, timing);
  expect(d).toEqual({
    action: 'create',
    spec: {
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    },
  });
});

test('the holder renews: only renewTime moves', () => {
  const current = {
    holderIdentity: 'me',
    leaseDurationSeconds: 15,
    acquireTime: 'a',
    renewTime: 'r',
    leaseTransitions: 3,
  };
  const d = decide('me', current, observe(undefined, current, 0), 0, now, timing);
  expect(d).toEqual({ action: 'update', acquired: false, spec: { ...current, renewTime: microTime(now) } });
});

test("another holder's Lease is respected until this replica has seen it unchanged for a lease duration", () => {
  const current = { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: 'r1', leaseTransitions: 1 };
  let obs = observe(undefined, current, 1_000);
  expect(decide('me', current, obs, 1_000, now, timing)).toMatchObject({
    action: 'wait',
    holder: 'other',
    expiresInMs: 15_000,
  });
  obs = observe(obs, current, 15_999);
  expect(decide('me', current, obs, 15_999, now, timing)).toMatchObject({ action: 'wait', expiresInMs: 1 });
  obs = observe(obs, current, 16_000);
  expect(decide('me', current, obs, 16_000, now, timing)).toMatchObject({
    action: 'update',
    acquired: true,
    spec: { holderIdentity: 'me', leaseTransitions: 2 },
  });
});

test('a renewal by the holder restarts the wait, whatever the clocks say', () => {
  const first = {
    holderIdentity: 'other',
    leaseDurationSeconds: 15,
    renewTime: '2000-01-01T00:00:00.000000Z',
  };
  let obs = observe(undefined, first, 0);
  const renewed = { ...first, renewTime: '2000-01-01T00:00:02.000000Z' };
  obs = observe(obs, renewed, 14_000);
  expect(decide('me', renewed, obs, 20_000, now, timing)).toMatchObject({
    action: 'wait',
    expiresInMs: 9_000,
  });
});

test('a released Lease (no holder) is taken at once', () => {
  const r = released(
    { holderIdentity: 'old', leaseDurationSeconds: 15, renewTime: 'x', leaseTransitions: 4 },
    now,
  );
  expect(r.holderIdentity).toBe('');
  const d = decide('me', r, observe(undefined, r, 5), 5, now, timing);
  expect(d).toMatchObject({
    action: 'update',
    acquired: true,
    spec: { holderIdentity: 'me', leaseTransitions: 5 },
  });
});

test('a leader steps down once the renew deadline has passed since its last renewal', () => {
  expect(mustStepDown(1_000, 10_999, timing)).toBe(false);
  expect(mustStepDown(1_000, 11_000, timing)).toBe(true);
});

test('inconsistent timing is refused with the setting named', () => {
  expect(() => checkTiming({ ...timing, renewDeadlineMs: 20_000 })).toThrow(
    /lease duration \(15000 ms\) must be greater than the renew deadline/,
  );
  expect(() => checkTiming({ ...timing, retryPeriodMs: 10_000 })).toThrow(/renew deadline .* retry period/);
  expect(() => checkTiming({ ...timing, retryPeriodMs: 0 })).toThrow(/retry period must be > 0/);
});
