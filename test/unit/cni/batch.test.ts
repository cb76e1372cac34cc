// The node leader's batch against an in-memory store (no control plane): its steps (reads, pool
// write, endpoint write, answers), a 409 on the guarded pool write, and a failure between the pool
// write and the endpoint write, after which a retried ADD converges on the same address.
import { ApiException, type V1Namespace, type V1Pod } from '@kubernetes/client-node';
import type { SpiderEndpoint, SpiderIPPool } from '../../../api/index.js';
import { type BatchOptions, runBatch } from '../../../cni/allocation/batch.js';
import type { PluginStore } from '../../../cni/allocation/reads.js';
import type { AddAnswer, PluginRequest } from '../../../cni/allocation/requests.js';
import type { Answer } from '../../../cni/coordination/wire.js';
import { CniError, ErrorCode } from '../../../cni/protocol/errors.js';
import { decodeRecords } from '../../../ipam/records/codec.js';
import type { Logger } from '../../../kube/log.js';
import { addRequest } from './helpers.js';

const clone = <T>(value: T): T => (value === undefined ? value : structuredClone(value));
const conflict = () => new ApiException(409, 'Conflict', JSON.stringify({ reason: 'Conflict' }), {});

/** A store that keeps objects in maps, checks resourceVersions like the API server, and fails on cue. */
class MemoryStore implements PluginStore {
  readonly pods = new Map<string, V1Pod>();
  readonly namespaces = new Map<string, V1Namespace>();
  readonly pools = new Map<string, SpiderIPPool>();
  readonly endpoints = new Map<string, SpiderEndpoint>();
  /** Failures to inject into the next writes, in order. */
  readonly failPoolWrites: ('conflict' | 'error')[] = [];
  readonly failEndpointWrites: 'error'[] = [];
  readonly writes: string[] = [];
  private version = 1;

  private nextVersion(): string {
    this.version += 1;
    return String(this.version);
  }

  async pod(namespace: string, name: string) {
    return clone(this.pods.get(`${namespace}/${name}`));
  }
  async namespace(name: string) {
    return clone(this.namespaces.get(name));
  }
  async nodeLabels() {
    return {};
  }
  async replicaSet() {
    return undefined;
  }
  async job() {
    return undefined;
  }
  async statefulSet() {
    return undefined;
  }
  async poolNames() {
    return [...this.pools.keys()];
  }
  async defaultPools() {
    return [...this.pools.values()].filter((p) => p.spec.default).map(clone);
  }
  async pool(name: string) {
    return clone(this.pools.get(name));
  }
  async labelledPools(selector: string) {
    const wanted = selector.split(',').map((kv) => kv.split('=') as [string, string]);
    return [...this.pools.values()]
      .filter((p) => wanted.every(([k, v]) => p.metadata.labels?.[k] === v))
      .map((p) => clone(p) as SpiderIPPool);
  }
  async replacePoolStatus(pool: SpiderIPPool) {
    const name = pool.metadata.name ?? '';
    const injected = this.failPoolWrites.shift();
    if (injected === 'conflict') {
      // Another writer got there first: the stored pool moves on, the write is refused.
      const stored = this.pools.get(name) as SpiderIPPool;
      stored.metadata.resourceVersion = this.nextVersion();
      throw conflict();
    }
    if (injected === 'error') throw new CniError(ErrorCode.tryAgainLater, `writing ${name}: injected`);
    const stored = this.pools.get(name);
    if (!stored || stored.metadata.resourceVersion !== pool.metadata.resourceVersion) throw conflict();
    const written = clone({ ...stored, status: pool.status });
    written.metadata.resourceVersion = this.nextVersion();
    this.pools.set(name, written);
    this.writes.push(`pool ${name}`);
    return clone(written);
  }
  async reservedIPs() {
    return [];
  }
  async endpoint(namespace: string, name: string) {
    return clone(this.endpoints.get(`${namespace}/${name}`));
  }
  async writeEndpoint(endpoint: SpiderEndpoint) {
    const key = `${endpoint.metadata.namespace}/${endpoint.metadata.name}`;
    if (this.failEndpointWrites.shift())
      throw new CniError(ErrorCode.tryAgainLater, `writing spiderendpoint ${key}: injected`);
    const stored = this.endpoints.get(key);
    if ((stored?.metadata.resourceVersion ?? undefined) !== endpoint.metadata.resourceVersion)
      throw conflict();
    const written = clone(endpoint);
    written.metadata.resourceVersion = this.nextVersion();
    written.metadata.uid ??= `uid-${key}`;
    this.endpoints.set(key, written);
    this.writes.push(`endpoint ${key}`);
    return clone(written);
  }
  async deleteEndpoint(namespace: string, name: string, uid: string) {
    const key = `${namespace}/${name}`;
    if (this.endpoints.get(key)?.metadata.uid === uid) this.endpoints.delete(key);
  }
  async vmi() {
    return undefined;
  }
  async vm() {
    return undefined;
  }
  async migration() {
    return undefined;
  }
}

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => quiet,
};
const options: BatchOptions = { nodeName: 'node-1', multus: { multusNamespace: 'kube-system' }, log: quiet };

function world(): MemoryStore {
  const store = new MemoryStore();
  store.namespaces.set('ns', { metadata: { name: 'ns' } });
  for (const [name, uid] of [
    ['p1', 'u1'],
    ['p2', 'u2'],
  ]) {
    store.pods.set(`ns/${name}`, {
      metadata: {
        namespace: 'ns',
        name,
        uid,
        annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['pool-a'] }) },
      },
      spec: { nodeName: 'node-1', containers: [] },
    });
  }
  store.pools.set('pool-a', {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'pool-a', resourceVersion: '1' },
    spec: { subnet: '198.18.0.0/24', ips: ['198.18.0.10-198.18.0.12'] },
  });
  return store;
}

const v4only = { ...addRequest().switches, enableIPv6: false };
const add = (name: string, uid: string) =>
  addRequest({ pod: { namespace: 'ns', name, uid }, switches: v4only });

function addressOf(answer: Answer<unknown> | undefined): string {
  if (!answer?.ok) throw new Error(`expected an answer, got ${JSON.stringify(answer)}`);
  const value = answer.value as AddAnswer;
  return value.result.ips?.[0]?.address ?? '';
}

const records = (store: MemoryStore) =>
  decodeRecords('pool-a', store.pools.get('pool-a')?.status?.allocatedIPs, 4).map(
    (r) => `${r.ip} ${r.pod} ${r.podUid}`,
  );

test('one batch of two ADDs: one pool write, one endpoint write each, then the answers', async () => {
  const store = world();
  const answers = await runBatch(store, options, [add('p1', 'u1'), add('p2', 'u2')] as PluginRequest[]);
  const addresses = answers.map(addressOf);
  expect(new Set(addresses).size).toBe(2);
  expect(addresses.every((a) => a.startsWith('198.18.0.1') && a.endsWith('/24'))).toBe(true);
  expect(store.writes).toEqual(['pool pool-a', 'endpoint ns/p1', 'endpoint ns/p2']);
  expect(records(store).sort()).toEqual(
    [`${addresses[0]?.split('/')[0]} ns/p1 u1`, `${addresses[1]?.split('/')[0]} ns/p2 u2`].sort(),
  );
  expect(store.endpoints.get('ns/p1')?.status?.current?.ips?.[0]?.ipv4).toBe(addresses[0]);
});

test('a 409 on the pool write reads the pool again and writes once more, without a second record', async () => {
  const store = world();
  store.failPoolWrites.push('conflict');
  const [answer] = await runBatch(store, options, [add('p1', 'u1')]);
  expect(addressOf(answer)).toMatch(/^198\.18\.0\.1[0-2]\/24$/);
  expect(store.failPoolWrites).toEqual([]);
  expect(store.writes).toEqual(['pool pool-a', 'endpoint ns/p1']);
  expect(records(store)).toHaveLength(1);
});

test('a failure between the pool write and the endpoint write: the retried ADD gets the same address', async () => {
  const store = world();
  store.failEndpointWrites.push('error');
  const [failed] = await runBatch(store, options, [add('p1', 'u1')]);
  expect(failed?.ok).toBe(false);
  expect(store.failEndpointWrites).toEqual([]);
  // The record was written before the endpoint, carrying the pod's UID.
  expect(records(store)).toHaveLength(1);
  expect(store.endpoints.has('ns/p1')).toBe(false);

  const [retried] = await runBatch(store, options, [add('p1', 'u1')]);
  const address = addressOf(retried);
  expect(records(store)).toEqual([`${address.split('/')[0]} ns/p1 u1`]);
  expect(store.endpoints.get('ns/p1')?.status?.current?.uid).toBe('u1');
});

test('an exhausted pool is refused with an error naming it, and nothing is written', async () => {
  const store = world();
  const pool = store.pools.get('pool-a') as SpiderIPPool;
  pool.spec.ips = ['198.18.0.10'];
  await runBatch(store, options, [add('p1', 'u1')]);
  const writes = store.writes.length;
  const [answer] = await runBatch(store, options, [add('p2', 'u2')]);
  expect(answer?.ok).toBe(false);
  if (answer && !answer.ok) expect(answer.error.message).toContain('pool-a');
  expect(store.writes).toHaveLength(writes);
});
