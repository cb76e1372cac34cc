import { setTimeout as sleep } from 'node:timers/promises';
import type { ResourceEvent } from '../../../../operator/framework/events.js';
import { WorkQueue } from '../../../../operator/framework/work-queue.js';
import { Added, Deleted, ev, Modified, obj } from './fixtures.js';

const fast = { initialMs: 2, maxMs: 10 };
const label = (e: ResourceEvent) =>
  `${e.type} ${e.object.metadata?.name}@${e.object.metadata?.resourceVersion}`;

test('events of one object run one at a time, in order; pending updates fold into the newest', async () => {
  const seen: string[] = [];
  let running = 0;
  let maxRunningForA = 0;
  let open = () => {};
  const gate = { promise: new Promise<void>((resolve) => (open = resolve)) };
  const q = new WorkQueue({
    concurrency: 4,
    retry: fast,
    handle: async (e) => {
      running++;
      maxRunningForA = Math.max(maxRunningForA, running);
      if (e.object.metadata?.resourceVersion === '1') await gate.promise;
      seen.push(label(e));
      running--;
    },
  });
  q.push('ns/a', ev(Added, obj('a', 'u1', '1')));
  await sleep(5);
  q.push('ns/a', ev(Modified, obj('a', 'u1', '2')));
  q.push('ns/a', ev(Modified, obj('a', 'u1', '3')));
  expect(q.depth).toBe(1);
  open();
  await q.idle();
  expect(seen).toEqual(['ADDED a@1', 'MODIFIED a@3']);
  expect(maxRunningForA).toBe(1);
});

test('different objects run in parallel, never above the bound', async () => {
  let running = 0;
  let peak = 0;
  const q = new WorkQueue({
    concurrency: 3,
    retry: fast,
    handle: async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(10);
      running--;
    },
  });
  for (let i = 0; i < 12; i++) q.push(`ns/o${i}`, ev(Added, obj(`o${i}`, `u${i}`, '1')));
  await q.idle();
  expect(peak).toBe(3);
});

test('a failing handler is retried with backoff, reported each time, and sees the newest object', async () => {
  const attempts: string[] = [];
  const errors: Array<{ key: string; attempt: number }> = [];
  const results: boolean[] = [];
  const q = new WorkQueue({
    concurrency: 1,
    retry: fast,
    handle: async (e) => {
      attempts.push(label(e));
      if (attempts.length < 3) {
        throw new Error('boom');
      }
    },
    onError: (key, _e, err, attempt) => {
      expect((err as Error).message).toBe('boom');
      errors.push({ key, attempt });
    },
    onResult: (ok) => results.push(ok),
  });
  q.push('ns/a', ev(Added, obj('a', 'u1', '1')));
  await sleep(1);
  q.push('ns/a', ev(Modified, obj('a', 'u1', '2')));
  for (let i = 0; i < 100 && attempts.length < 3; i++) await sleep(5);
  await q.idle();
  expect(errors).toEqual([
    { key: 'ns/a', attempt: 1 },
    { key: 'ns/a', attempt: 2 },
  ]);
  expect(results).toEqual([false, false, true]);
  expect(attempts[0]).toBe('ADDED a@1');
  expect(attempts.at(-1)).toBe('ADDED a@2');
  expect(q.depth).toBe(0);
});

test('a deletion and a re-creation under one name are both delivered, in order', async () => {
  const seen: string[] = [];
  const q = new WorkQueue({
    concurrency: 1,
    retry: fast,
    handle: async (e) => {
      if (e.object.metadata?.name === 'busy') await sleep(10);
      else seen.push(`${e.type} ${e.object.metadata?.uid}`);
    },
  });
  // Occupy the only slot so that a's events wait and fold.
  q.push('ns/busy', ev(Added, obj('busy', 'u0', '1')));
  q.push('ns/a', ev(Modified, obj('a', 'u1', '1')));
  q.push('ns/a', ev(Deleted, obj('a', 'u1', '2')));
  q.push('ns/a', ev(Added, obj('a', 'u2', '3')));
  await q.idle();
  expect(seen).toEqual(['DELETED u1', 'ADDED u2']);
});

test('stop waits for running handlers and drops what waits', async () => {
  const done: string[] = [];
  const q = new WorkQueue({
    concurrency: 1,
    retry: fast,
    handle: async (e) => {
      await sleep(20);
      done.push(label(e));
    },
  });
  q.push('ns/a', ev(Added, obj('a', 'u1', '1')));
  q.push('ns/b', ev(Added, obj('b', 'u2', '1')));
  await sleep(2);
  await q.stop();
  expect(done).toEqual(['ADDED a@1']);
  q.push('ns/c', ev(Added, obj('c', 'u3', '1')));
  await sleep(30);
  expect(done).toEqual(['ADDED a@1']);
});

test('an event taken for handling is refreshed with the newest cached state', async () => {
  const seen: string[] = [];
  const cache = new Map([['ns/a', obj('a', 'u1', '9')]]);
  const q = new WorkQueue({
    concurrency: 1,
    retry: fast,
    handle: async (e) => {
      seen.push(label(e));
    },
    refresh: (e) => {
      const latest = cache.get(`ns/${e.object.metadata?.name}`);
      return latest ? { ...e, object: latest } : e;
    },
  });
  q.push('ns/a', ev(Added, obj('a', 'u1', '1')));
  q.push('ns/b', ev(Added, obj('b', 'u2', '1')));
  await q.idle();
  expect(seen).toEqual(['ADDED a@9', 'ADDED b@1']);
});

test('a failure that ends after stop is still reported, without a retry', async () => {
  const reports: Array<number | undefined> = [];
  const q = new WorkQueue({
    concurrency: 1,
    retry: fast,
    handle: async () => {
      await sleep(10);
      throw new Error('late');
    },
    onError: (_key, _e, _err, _attempt, retryInMs) => reports.push(retryInMs),
  });
  q.push('ns/a', ev(Added, obj('a', 'u1', '1')));
  await sleep(1);
  await q.stop();
  expect(reports).toEqual([undefined]);
  await sleep(30);
  expect(reports).toEqual([undefined]);
});
