import { ApiException } from '@kubernetes/client-node';
import { retryTransient } from '../../../kube/transient.js';

const refusal = (code: number, retryAfter?: string) =>
  new ApiException(
    code,
    'refused',
    '{"reason":"TooManyRequests"}',
    retryAfter ? { 'retry-after': retryAfter } : {},
  );

test('429 and 503 are retried until the request goes through', async () => {
  const answers = [refusal(429, '0'), refusal(503), 'done'];
  let calls = 0;
  const result = await retryTransient(
    async () => {
      const next = answers[calls++];
      if (next instanceof Error) throw next;
      return next;
    },
    { defaultDelayMs: 1 },
  );
  expect(result).toBe('done');
  expect(calls).toBe(3);
});

test('other failures are not retried', async () => {
  let calls = 0;
  const conflict = refusal(409);
  await expect(
    retryTransient(async () => {
      calls++;
      throw conflict;
    }),
  ).rejects.toBe(conflict);
  expect(calls).toBe(1);
});

test('a refusal that lasts past the budget is passed on', async () => {
  let calls = 0;
  await expect(
    retryTransient(
      async () => {
        calls++;
        throw refusal(429, '0.05');
      },
      { budgetMs: 200 },
    ),
  ).rejects.toMatchObject({ code: 429 });
  // Retry-After 50 ms within a 200 ms budget: retried, but at most 200 / 50 + 1 attempts.
  expect(calls).toBeGreaterThan(1);
  expect(calls).toBeLessThanOrEqual(5);
});

test('403 is retried only when asked, until it goes through', async () => {
  const answers = [refusal(403), 'done'];
  let calls = 0;
  const work = async () => {
    const next = answers[calls++];
    if (next instanceof Error) throw next;
    return next;
  };
  await expect(retryTransient(work, { defaultDelayMs: 1 })).rejects.toBe(answers[0]);
  calls = 0;
  expect(await retryTransient(work, { defaultDelayMs: 1, forbidden: true })).toBe('done');
  expect(calls).toBe(2);
});
