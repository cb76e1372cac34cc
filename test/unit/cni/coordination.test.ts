// The group-commit protocol in one process: several coordinate() calls contend for the same
// abstract socket exactly as separate processes do (the kernel does not care). Process kills are
// tested with compiled binaries in test/integration/cni/coordination.test.ts.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Answer,
  BatchRequestFailed,
  type CoordinationEvent,
  CoordinationTimeout,
  coordinate,
  keepGathering,
  lead,
  quietWindowMs,
  settled,
} from '../../../cni/coordination/coordinate.js';
import { scopeName } from '../../../cni/coordination/scope.js';

const uniqueScope = () => scopeName('node-a', 'https://127.0.0.1:6443', randomUUID());

/** A handler that records its batches and answers each request with request * 10. */
function recorder(delayMs = 0) {
  const batches: number[][] = [];
  return {
    batches,
    handleBatch: async (requests: number[]): Promise<Answer<number>[]> => {
      batches.push([...requests]);
      if (delayMs) await sleep(delayMs);
      return requests.map((r) => ({ ok: true as const, value: r * 10 }));
    },
  };
}

afterEach(async () => {
  await settled();
});

test('scope names are abstract, short and separate nodes and API servers', () => {
  const a = scopeName('node-a', 'https://10.0.0.1:6443');
  expect(a.startsWith('\0spiderpool/v1/')).toBe(true);
  expect(Buffer.byteLength(a)).toBeLessThanOrEqual(107);
  expect(scopeName('node-b', 'https://10.0.0.1:6443')).not.toBe(a);
  expect(scopeName('node-a', 'https://10.0.0.2:6443')).not.toBe(a);
  expect(scopeName('node-a', 'https://10.0.0.1:6443')).toBe(a);
});

test('a lone request leads and is applied in a batch of one', async () => {
  const r = recorder();
  const out = await coordinate(7, { name: uniqueScope(), handleBatch: r.handleBatch });
  expect(out).toEqual({ value: 70, role: 'leader', attempts: 1 });
  await settled();
  expect(r.batches).toEqual([[7]]);
});

test('concurrent requests share batches and each gets its own answer', async () => {
  const r = recorder(20);
  const name = uniqueScope();
  const requests = Array.from({ length: 40 }, (_, i) => i + 1);
  const outs = await Promise.all(requests.map((n) => coordinate(n, { name, handleBatch: r.handleBatch })));
  expect(outs.map((o) => o.value)).toEqual(requests.map((n) => n * 10));
  expect(outs.filter((o) => o.role === 'leader')).toHaveLength(1);
  await settled();
  // Every request applied exactly once, in fewer batches than requests.
  expect(r.batches.flat().sort((a, b) => a - b)).toEqual(requests);
  expect(r.batches.length).toBeLessThan(requests.length);
});

test('requests that arrive while a batch commits join the next batch', async () => {
  const name = uniqueScope();
  const batches: number[][] = [];
  let release!: () => void;
  const firstCommitting = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered!: () => void;
  const inFirst = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const handleBatch = async (requests: number[]): Promise<Answer<number>[]> => {
    batches.push([...requests]);
    if (batches.length === 1) {
      entered();
      await firstCommitting;
    }
    return requests.map((v) => ({ ok: true as const, value: v }));
  };
  const first = coordinate(1, { name, handleBatch });
  await inFirst;
  const late = [2, 3, 4].map((n) => coordinate(n, { name, handleBatch }));
  await sleep(50); // the late ones are connected and waiting while batch 1 is still committing
  release();
  expect((await first).value).toBe(1);
  expect((await Promise.all(late)).map((o) => o.role)).toEqual(['follower', 'follower', 'follower']);
  await settled();
  expect(batches[0]).toEqual([1]);
  expect(batches.slice(1).flat().sort()).toEqual([2, 3, 4]);
});

test('maxBatch bounds a batch; the rest go into the next', async () => {
  const r = recorder(30);
  const name = uniqueScope();
  await Promise.all(
    Array.from({ length: 12 }, (_, i) => coordinate(i, { name, handleBatch: r.handleBatch, maxBatch: 4 })),
  );
  await settled();
  expect(Math.max(...r.batches.map((b) => b.length))).toBeLessThanOrEqual(4);
  expect(r.batches.flat()).toHaveLength(12);
});

test('an error answer reaches only its requester; a throwing handler fails the whole batch', async () => {
  const name = uniqueScope();
  const handleBatch = async (requests: number[]): Promise<Answer<number>[]> =>
    requests.map((v) =>
      v % 2
        ? { ok: true as const, value: v }
        : { ok: false as const, error: { message: `even ${v}`, code: 102 } },
    );
  const results = await Promise.allSettled([1, 2, 3, 4].map((n) => coordinate(n, { name, handleBatch })));
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
  const rejected = results[1] as PromiseRejectedResult;
  expect(rejected.reason).toBeInstanceOf(BatchRequestFailed);
  expect(rejected.reason).toMatchObject({ message: 'even 2', code: 102 });
  await settled();

  const failing = async (): Promise<Answer<number>[]> => {
    throw Object.assign(new Error('API server unreachable'), { code: 11 });
  };
  const name2 = uniqueScope();
  const all = await Promise.allSettled(
    [1, 2, 3].map((n) => coordinate(n, { name: name2, handleBatch: failing })),
  );
  for (const r of all)
    expect(r).toMatchObject({ status: 'rejected', reason: { message: 'API server unreachable', code: 11 } });
});

test('the leader hands over when idle; the next request leads anew', async () => {
  const name = uniqueScope();
  const events: CoordinationEvent[] = [];
  const r = recorder();
  const first = await coordinate(1, {
    name,
    handleBatch: r.handleBatch,
    idleMs: 5,
    onEvent: (e) => events.push(e),
  });
  expect(first.role).toBe('leader');
  await settled();
  expect(events.at(-1)).toMatchObject({ type: 'handover', reason: 'idle', served: 1 });
  const second = await coordinate(2, { name, handleBatch: r.handleBatch });
  expect(second.role).toBe('leader');
});

test('under load the leader hands over after maxLeadMs and nothing is lost or doubled', async () => {
  const name = uniqueScope();
  const applied: number[] = [];
  const handovers: CoordinationEvent[] = [];
  const handleBatch = async (requests: number[]): Promise<Answer<number>[]> => {
    applied.push(...requests);
    await sleep(5);
    return requests.map((v) => ({ ok: true as const, value: v }));
  };
  const outs: Promise<unknown>[] = [];
  for (let i = 0; i < 60; i++) {
    outs.push(
      coordinate(i, {
        name,
        handleBatch,
        maxLeadMs: 15,
        onEvent: (e) => {
          if (e.type === 'handover') handovers.push(e);
        },
      }),
    );
    await sleep(1);
  }
  const values = (await Promise.all(outs)) as Array<{ value: number }>;
  await settled();
  expect(values.map((v) => v.value)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  expect(handovers.some((h) => h.type === 'handover' && h.reason === 'max-lead')).toBe(true);
  // Each request applied exactly once: none was retried, because hand-over answers all it received.
  expect([...applied].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
});

test('a follower whose leader closes without answering retries and leads itself', async () => {
  const name = uniqueScope();
  // A leader that takes the request and vanishes, as one killed between read and answer would.
  const received: string[] = [];
  const vanishing: Server = createServer((socket) => {
    socket.on('data', (d) => {
      received.push(d.toString());
      socket.destroy();
      vanishing.close();
    });
  });
  await new Promise<void>((resolve) => vanishing.listen(name, resolve));
  const r = recorder();
  const events: CoordinationEvent[] = [];
  const out = await coordinate(5, { name, handleBatch: r.handleBatch, onEvent: (e) => events.push(e) });
  expect(received).toEqual(['{"request":5}\n']);
  expect(out).toEqual({ value: 50, role: 'leader', attempts: 2 });
  expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['following', 'retry', 'leading']));
});

test('a follower gives up at its deadline when the leader never answers', async () => {
  const name = uniqueScope();
  const silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(name, resolve));
  try {
    await expect(
      coordinate(1, { name, handleBatch: recorder().handleBatch, deadlineMs: 150 }),
    ).rejects.toBeInstanceOf(CoordinationTimeout);
  } finally {
    silent.close();
  }
});

test('a follower that vanishes before its answer does not disturb the leader or the others', async () => {
  const name = uniqueScope();
  const events: CoordinationEvent[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const handleBatch = async (requests: string[]): Promise<Answer<string>[]> => {
    await gate;
    return requests.map((v) => ({ ok: true as const, value: v.toUpperCase() }));
  };
  const leader = coordinate('a', { name, handleBatch, onEvent: (e) => events.push(e) });
  await sleep(10);
  // A raw follower that sends its request and dies before the answer.
  const { connect } = await import('node:net');
  const dying = connect(name);
  await new Promise<void>((resolve) => dying.on('connect', resolve));
  dying.write('{"request":"b"}\n');
  await sleep(10);
  dying.destroy();
  const other = coordinate('c', { name, handleBatch });
  await sleep(10);
  release();
  expect((await leader).value).toBe('A');
  expect((await other).value).toBe('C');
  await settled();
  expect(events.some((e) => e.type === 'answer-lost')).toBe(true);
});

test('a leader without a request of its own takes the name once the current leader hands over, serves, and hands over when idle', async () => {
  const name = uniqueScope();
  const r = recorder(30);
  // A call leads and is busy for a moment; the lingering one waits for the name meanwhile.
  const first = coordinate(1, { name, handleBatch: r.handleBatch, idleMs: 5 });
  await sleep(5);
  let bound = false;
  const events: CoordinationEvent[] = [];
  const lingering = lead(
    { name, handleBatch: r.handleBatch, idleMs: 200, onEvent: (e) => events.push(e) },
    2_000,
    () => {
      bound = true;
    },
  );
  expect((await first).role).toBe('leader');
  await sleep(1); // the first leader's hand-over
  const deadline = Date.now() + 2_000;
  while (!bound && Date.now() < deadline) await sleep(5);
  expect(bound).toBe(true);
  const later = await Promise.all([2, 3, 4].map((n) => coordinate(n, { name, handleBatch: r.handleBatch })));
  expect(later.map((o) => [o.value, o.role])).toEqual([
    [20, 'follower'],
    [30, 'follower'],
    [40, 'follower'],
  ]);
  expect(await lingering).toBe('idle');
  expect(events.at(-1)).toMatchObject({ type: 'handover', reason: 'idle', served: 3 });
  // The name is free again: the next request leads.
  expect((await coordinate(5, { name, handleBatch: r.handleBatch })).role).toBe('leader');
});

test('a leader without a request gives up when the name stays taken', async () => {
  const name = uniqueScope();
  const holder: Server = createServer();
  await new Promise<void>((resolve) => holder.listen(name, resolve));
  try {
    expect(await lead({ name, handleBatch: recorder().handleBatch }, 30)).toBeUndefined();
  } finally {
    holder.close();
  }
});

test('after maxLeadMs a leader serves on until beforeMaxLeadHandover settles, then hands over; nothing lost or doubled', async () => {
  const name = uniqueScope();
  const applied: number[] = [];
  const handleBatch = async (requests: number[]): Promise<Answer<number>[]> => {
    applied.push(...requests);
    await sleep(3);
    return requests.map((v) => ({ ok: true as const, value: v }));
  };
  let prepared = 0;
  let servedWhilePreparing = 0;
  let preparing = false;
  const lingering = lead<number, number>(
    {
      name,
      handleBatch: async (requests) => {
        if (preparing) servedWhilePreparing += requests.length;
        return handleBatch(requests);
      },
      idleMs: 1_000,
      maxLeadMs: 20,
      beforeMaxLeadHandover: async () => {
        prepared++;
        preparing = true;
        await sleep(60);
        preparing = false;
      },
    },
    1_000,
  );
  await sleep(5);
  const outs: Promise<{ value: number }>[] = [];
  for (let i = 0; i < 50; i++) {
    outs.push(coordinate(i, { name, handleBatch }));
    await sleep(2);
  }
  const values = await Promise.all(outs);
  expect(await lingering).toBe('max-lead');
  expect(prepared).toBe(1);
  expect(servedWhilePreparing).toBeGreaterThan(0);
  expect(values.map((v) => v.value)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  expect([...applied].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
});

test('gatherMs: a request right after a batch waits for others; one after a pause is served at once', async () => {
  const name = uniqueScope();
  const r = recorder();
  const opts = { name, handleBatch: r.handleBatch, idleMs: 2_000, gatherMs: 300 };
  await coordinate(1, opts);
  // Right after the first answer: 2 waits, and 3 (10 ms later) joins its batch.
  const second = coordinate(2, opts);
  await sleep(10);
  const third = coordinate(3, opts);
  await Promise.all([second, third]);
  expect(r.batches).toEqual([[1], [2, 3]]);
  // After a pause longer than gatherMs, a lone request is served without waiting for company.
  await sleep(600);
  const started = performance.now();
  await coordinate(4, opts);
  expect(performance.now() - started).toBeLessThan(250);
  expect(r.batches.at(-1)).toEqual([4]);
});

test('keepGathering: another step only while requests keep coming, the batch is not full and the cap is not reached', () => {
  const opts = { gatherCapMs: 50, maxBatch: 10 };
  expect(keepGathering({ queued: 3, sinceArrivalMs: 5, quietMs: 20, elapsedMs: 5 }, opts)).toBe(true);
  expect(keepGathering({ queued: 3, sinceArrivalMs: 20, quietMs: 20, elapsedMs: 25 }, opts)).toBe(false);
  expect(keepGathering({ queued: 10, sinceArrivalMs: 1, quietMs: 20, elapsedMs: 5 }, opts)).toBe(false);
  expect(keepGathering({ queued: 3, sinceArrivalMs: 1, quietMs: 20, elapsedMs: 50 }, opts)).toBe(false);
});

test('quietWindowMs: three recent gaps between requests, at least one step, at most gatherQuietMs', () => {
  const opts = { gatherMs: 5, gatherQuietMs: 50 };
  expect(quietWindowMs(4, opts)).toBe(12);
  expect(quietWindowMs(1, opts)).toBe(5);
  expect(quietWindowMs(30, opts)).toBe(50);
});

/** Sends `count` requests, one every `everyMs`, after a first one that leads (idle long enough to stay). */
async function stream(
  opts: { gatherMs: number; gatherQuietMs: number; gatherCapMs: number },
  count: number,
  everyMs: number,
) {
  const r = recorder();
  const name = uniqueScope();
  const options = { name, handleBatch: r.handleBatch, idleMs: 2_000, ...opts };
  await coordinate(0, options);
  const outs: Promise<{ value: number }>[] = [];
  for (let i = 1; i <= count; i++) {
    outs.push(coordinate(i, options));
    await sleep(everyMs);
  }
  const values = (await Promise.all(outs)).map((o) => o.value);
  expect(values).toEqual(Array.from({ length: count }, (_, i) => (i + 1) * 10));
  return r.batches.slice(1);
}

test('gather: a batch waits as long as requests keep coming, past one step of gatherMs', async () => {
  // 40 requests 10 ms apart span 400 ms, more than one 300 ms step: all join one batch.
  const batches = await stream({ gatherMs: 300, gatherQuietMs: 300, gatherCapMs: 5_000 }, 40, 10);
  expect(batches).toHaveLength(1);
});

test('gather: gatherCapMs bounds how long a batch waits for more', async () => {
  // The same stream with steps of 50 ms but at most 100 ms of gathering: several batches.
  const batches = await stream({ gatherMs: 50, gatherQuietMs: 50, gatherCapMs: 100 }, 40, 10);
  expect(batches.length).toBeGreaterThanOrEqual(3);
  expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
});
