// A leader's batches carry the pools they read or wrote to the next batch (cni/allocation/batch.ts,
// CarriedPools), against the in-memory store: a carried pool is not read again; a pool someone else
// wrote in between is caught by the guarded write (409, read again, decide again); a decision on a
// carried pool that would write nothing is taken again on a fresh read; a changed spec sends the
// requests back to the runtime (code 11); a batch with a release reads every pool afresh.
import type { SpiderIPPool } from '../../../api/index.js';
import { type BatchOptions, type CarriedPools, runBatch } from '../../../cni/allocation/batch.js';
import type { AddAnswer, PluginRequest } from '../../../cni/allocation/requests.js';
import type { Answer } from '../../../cni/coordination/wire.js';
import { ErrorCode } from '../../../cni/protocol/errors.js';
import { decodeRecords, encodeRecords } from '../../../ipam/records/codec.js';
import { MemoryStore, quiet } from '../memory-store.js';
import { addRequest } from './helpers.js';

const options: BatchOptions = { nodeName: 'node-1', multus: { multusNamespace: 'kube-system' }, log: quiet };
const v4only = { ...addRequest().switches, enableIPv6: false };

/** A store that counts the pool GETs, with pods p1..p4 naming pool-a (three addresses). */
function world(): MemoryStore & { poolGets: number } {
  const store = Object.assign(new MemoryStore(), { poolGets: 0 });
  const read = store.pool.bind(store);
  store.pool = async (name: string) => {
    store.poolGets++;
    return read(name);
  };
  store.namespaces.set('ns', { metadata: { name: 'ns' } });
  for (const n of [1, 2, 3, 4]) {
    store.pods.set(`ns/p${n}`, {
      metadata: {
        namespace: 'ns',
        name: `p${n}`,
        uid: `u${n}`,
        annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['pool-a'] }) },
      },
      spec: { nodeName: 'node-1', containers: [] },
    });
  }
  store.pools.set('pool-a', {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'pool-a', resourceVersion: '1', generation: 1 },
    spec: { subnet: '198.18.0.0/24', ips: ['198.18.0.10-198.18.0.12'] },
  });
  return store;
}

const add = (n: number) =>
  addRequest({ pod: { namespace: 'ns', name: `p${n}`, uid: `u${n}` }, switches: v4only }) as PluginRequest;

const release = (n: number): PluginRequest => ({
  verb: 'RELEASE',
  reason: 'DEL',
  pod: { namespace: 'ns', name: `p${n}`, uid: `u${n}` },
  switches: v4only,
});

function addressOf(answer: Answer<unknown> | undefined): string {
  if (!answer?.ok) throw new Error(`expected an answer, got ${JSON.stringify(answer)}`);
  return ((answer.value as AddAnswer).result.ips?.[0]?.address ?? '').split('/')[0] as string;
}

const records = (store: MemoryStore) =>
  decodeRecords('pool-a', store.pools.get('pool-a')?.status?.allocatedIPs, 4).map(
    (r) => `${r.ip} ${r.podUid}`,
  );

/** Another writer (another node's leader, the operator) changes the stored pool. */
function elsewhere(store: MemoryStore, change: (pool: SpiderIPPool) => void): void {
  const pool = store.pools.get('pool-a') as SpiderIPPool;
  change(pool);
  pool.metadata.resourceVersion = `${pool.metadata.resourceVersion}-elsewhere`;
}

function setRecords(pool: SpiderIPPool, list: { ip: string; pod: string; podUid: string }[]): void {
  const encoded = encodeRecords(list.map((r) => ({ ...r, value: 0n, nic: 'eth0' })));
  pool.status = {
    ...pool.status,
    allocatedIPCount: list.length,
    ...(encoded ? { allocatedIPs: encoded } : {}),
  };
  if (!encoded) delete pool.status.allocatedIPs;
}

test('the next batch takes the pool the previous one wrote, without reading it', async () => {
  const store = world();
  const carried: CarriedPools = new Map();
  const first = addressOf((await runBatch(store, options, [add(1)], carried))[0]);
  expect(store.poolGets).toBe(1);
  const second = addressOf((await runBatch(store, options, [add(2)], carried))[0]);
  expect(store.poolGets).toBe(1);
  expect(second).not.toBe(first);
  expect(records(store).sort()).toEqual([`${first} u1`, `${second} u2`].sort());
  expect(carried.get('pool-a')?.metadata.resourceVersion).toBe(
    store.pools.get('pool-a')?.metadata.resourceVersion,
  );
});

test('a pool written elsewhere between batches: the write gets a 409, the pool is read again, no address twice', async () => {
  const store = world();
  const carried: CarriedPools = new Map();
  const first = addressOf((await runBatch(store, options, [add(1)], carried))[0]);
  // Another writer takes the address the carried pool would hand out next.
  const taken = first === '198.18.0.10' ? '198.18.0.11' : '198.18.0.10';
  elsewhere(store, (pool) =>
    setRecords(pool, [
      { ip: first, pod: 'ns/p1', podUid: 'u1' },
      { ip: taken, pod: 'other/x', podUid: 'ux' },
    ]),
  );
  const second = addressOf((await runBatch(store, options, [add(2)], carried))[0]);
  expect([first, taken]).not.toContain(second);
  expect(store.poolGets).toBe(2);
  expect(records(store).sort()).toEqual([`${first} u1`, `${taken} ux`, `${second} u2`].sort());
});

test('a carried pool that looks full is read again before the ADD is refused', async () => {
  const store = world();
  const carried: CarriedPools = new Map();
  await runBatch(store, options, [add(1), add(2), add(3)], carried);
  expect(records(store)).toHaveLength(3);
  // The operator frees one address; the carried pool still shows three.
  elsewhere(store, (pool) =>
    setRecords(
      pool,
      decodeRecords('pool-a', pool.status?.allocatedIPs, 4).filter((r) => r.podUid !== 'u3'),
    ),
  );
  const [answer] = await runBatch(store, options, [add(4)], carried);
  expect(addressOf(answer)).toMatch(/^198\.18\.0\.1[0-2]$/);
  expect(
    records(store)
      .map((r) => r.split(' ')[1])
      .sort(),
  ).toEqual(['u1', 'u2', 'u4']);
});

test('a retried ADD whose record was removed meanwhile writes it back instead of trusting the carried pool', async () => {
  const store = world();
  const carried: CarriedPools = new Map();
  // The endpoint write fails: the runtime will retry; the record stays.
  store.failEndpointWrites.push(new Error('injected'));
  await runBatch(store, options, [add(1)], carried);
  expect(records(store)).toHaveLength(1);
  elsewhere(store, (pool) => setRecords(pool, []));
  const address = addressOf((await runBatch(store, options, [add(1)], carried))[0]);
  expect(records(store)).toEqual([`${address} u1`]);
});

test('a pool whose spec changed since it was carried sends the ADD back with code 11; the retry uses the new spec', async () => {
  const store = world();
  const carried: CarriedPools = new Map();
  addressOf((await runBatch(store, options, [add(1)], carried))[0]);
  elsewhere(store, (pool) => {
    pool.spec.disable = true;
    pool.metadata.generation = 2;
  });
  const writes = store.writes.length;
  const [answer] = await runBatch(store, options, [add(2)], carried);
  expect(answer).toMatchObject({ ok: false, error: { code: ErrorCode.tryAgainLater } });
  if (answer && !answer.ok) expect(answer.error.message).toContain('pool pool-a was changed');
  expect(store.writes).toHaveLength(writes);
  // The retry decides on the disabled pool: nothing to hand out.
  const [retried] = await runBatch(store, options, [add(2)], carried);
  expect(retried?.ok).toBe(false);
  if (retried && !retried.ok) expect(retried.error.message).toContain('pool pool-a skipped: disabled');
  expect(records(store).map((r) => r.split(' ')[1])).toEqual(['u1']);
});

test('a batch with a release reads its pools afresh', async () => {
  const store = world();
  const carried: CarriedPools = new Map();
  await runBatch(store, options, [add(1)], carried);
  store.pods.delete('ns/p1');
  const gets = store.poolGets;
  const answers = await runBatch(store, options, [release(1), add(2)], carried);
  expect(answers.map((a) => a.ok)).toEqual([true, true]);
  expect(store.poolGets).toBeGreaterThan(gets);
  expect(records(store).map((r) => r.split(' ')[1])).toEqual(['u2']);
});

test('a default pool listed from the cache a moment behind: looking full, it is read again; its spec changed, the ADD is sent back', async () => {
  const store = world();
  const pool = store.pools.get('pool-a') as SpiderIPPool;
  pool.spec.default = true;
  // A pod that names no pool: Spiderpool's rule 5, the pools with spec.default.
  store.pods.set('ns/d1', {
    metadata: { namespace: 'ns', name: 'd1', uid: 'd1' },
    spec: { nodeName: 'node-1', containers: [] },
  });
  const addD1 = addRequest({ pod: { namespace: 'ns', name: 'd1', uid: 'd1' }, switches: v4only });
  // The cache still shows every address taken; etcd has them free.
  const stale = structuredClone(pool);
  setRecords(stale, [
    { ip: '198.18.0.10', pod: 'other/a', podUid: 'ua' },
    { ip: '198.18.0.11', pod: 'other/b', podUid: 'ub' },
    { ip: '198.18.0.12', pod: 'other/c', podUid: 'uc' },
  ]);
  // Since then the addresses were freed: etcd's pool is newer than the cache's.
  elsewhere(store, () => undefined);
  store.defaultPools = async () => [structuredClone(stale)];
  const [answer] = await runBatch(store, options, [addD1]);
  expect(addressOf(answer)).toMatch(/^198\.18\.0\.1[0-2]$/);
  expect(records(store).map((r) => r.split(' ')[1])).toEqual(['d1']);

  // The cache lags behind a spec change: the listed pool's generation is not the stored one's.
  const listed = structuredClone(store.pools.get('pool-a') as SpiderIPPool);
  elsewhere(store, (p) => {
    p.metadata.generation = 2;
  });
  store.defaultPools = async () => [structuredClone(listed)];
  store.pods.set('ns/d2', {
    metadata: { namespace: 'ns', name: 'd2', uid: 'd2' },
    spec: { nodeName: 'node-1', containers: [] },
  });
  const [sentBack] = await runBatch(store, options, [
    addRequest({ pod: { namespace: 'ns', name: 'd2', uid: 'd2' }, switches: v4only }),
  ]);
  expect(sentBack).toMatchObject({ ok: false, error: { code: ErrorCode.tryAgainLater } });
});
