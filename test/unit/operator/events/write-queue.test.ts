import { WriteQueue } from '../../../../operator/events/write-queue.js';

/** A task that runs until its `finish` is called; `started` says whether the queue ran it yet. */
function gatedTask() {
  let finish: () => void = () => {};
  let fail: (err: Error) => void = () => {};
  const t = {
    started: false,
    finish: () => finish(),
    fail: (err: Error) => fail(err),
    run: () => {
      t.started = true;
      return new Promise<void>((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
    },
  };
  return t;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('at most maxInFlight run; the next waits for a slot, in order of arrival', async () => {
  const inFlight: number[] = [];
  const q = new WriteQueue({ maxInFlight: 2, maxQueued: 10 }, (n) => inFlight.push(n));
  const [a, b, c, d] = [gatedTask(), gatedTask(), gatedTask(), gatedTask()] as const;
  const tasks = [a, b, c, d];
  const results = tasks.map((t) => q.submit(t.run));
  expect(tasks.map((t) => t.started)).toEqual([true, true, false, false]);
  expect(q.stats).toEqual({ inFlight: 2, queued: 2, peakInFlight: 2, dropped: 0 });
  b.finish();
  await settle();
  expect(tasks.map((t) => t.started)).toEqual([true, true, true, false]);
  a.finish();
  c.finish();
  await settle();
  expect(d.started).toBe(true);
  d.finish();
  expect(await Promise.all(results)).toEqual([true, true, true, true]);
  expect(q.stats).toEqual({ inFlight: 0, queued: 0, peakInFlight: 2, dropped: 0 });
  expect(Math.max(...inFlight)).toBe(2);
  expect(inFlight.at(-1)).toBe(0);
});

test('beyond maxQueued a submission is dropped at once and counted; the rest still run', async () => {
  const q = new WriteQueue({ maxInFlight: 1, maxQueued: 2 });
  const tasks = Array.from({ length: 5 }, gatedTask);
  const results = tasks.map((t) => q.submit(t.run));
  expect(await Promise.race([results[3], settle().then(() => 'pending')])).toBe(false);
  expect(await results[4]).toBe(false);
  expect(q.stats).toMatchObject({ inFlight: 1, queued: 2, dropped: 2 });
  for (const t of tasks.slice(0, 3)) {
    await settle();
    t.finish();
  }
  expect(await Promise.all(results.slice(0, 3))).toEqual([true, true, true]);
  expect(tasks.map((t) => t.started)).toEqual([true, true, true, false, false]);
});

test('a failing task frees its slot for the next', async () => {
  const q = new WriteQueue({ maxInFlight: 1, maxQueued: 1 });
  const [a, b] = [gatedTask(), gatedTask()] as const;
  const results = [q.submit(a.run), q.submit(b.run)];
  a.fail(new Error('API server gone'));
  await settle();
  expect(b.started).toBe(true);
  b.finish();
  expect(await Promise.all(results)).toEqual([true, true]);
  expect(q.stats.inFlight).toBe(0);
});

test('a policy that cannot work is refused, naming the field and the value', () => {
  expect(() => new WriteQueue({ maxInFlight: 0, maxQueued: 10 })).toThrow(
    'event write queue: maxInFlight must be a whole number >= 1, got 0',
  );
  expect(() => new WriteQueue({ maxInFlight: 2, maxQueued: 1.5 })).toThrow(
    'event write queue: maxQueued must be a whole number >= 0, got 1.5',
  );
});
