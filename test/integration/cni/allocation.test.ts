// The compiled plugin (dist/bin/spiderpool), called as a runtime calls an IPAM plugin, against the
// real API server as the plugin's own service account under its synthesized RBAC. Every call goes
// through the node-local coordination exactly as in production; "nodes" are separate node
// configurations, so each has its own leader and they race each other on the same pool.
import type { V1Pod } from '@kubernetes/client-node';
import { callPlugin, cniEnv, netConf, type ProcessOutcome, type TestNode } from '../../harness/cni-plugin.js';
import { type ClusterFixtures, PluginTestbed } from '../../harness/spiderpool-api.js';

let testbed: PluginTestbed;
let fixtures: ClusterFixtures;
let nodes: TestNode[];
let namespaces: string[];

beforeAll(async () => {
  testbed = await PluginTestbed.start('cni-alloc');
  fixtures = testbed.fixtures;
  nodes = ['node-a', 'node-b', 'node-c', 'node-d'].map((n) => testbed.node(n));
  namespaces = await Promise.all([1, 2, 3, 4].map(() => fixtures.namespace('alloc')));
}, 120_000);

afterAll(() => testbed?.close());

const ref = (pod: V1Pod) => ({
  namespace: pod.metadata?.namespace ?? '',
  name: pod.metadata?.name ?? '',
  uid: pod.metadata?.uid ?? '',
});

function call(command: string, node: TestNode, pod: V1Pod, opts: { ifname?: string } = {}) {
  return callPlugin(cniEnv(command, ref(pod), opts), netConf(node, testbed.kubeconfig));
}

const address = (out: ProcessOutcome) =>
  (out.json?.ips as Array<{ address: string }> | undefined)?.[0]?.address;

async function createPods(count: number, pool: string, first = 0): Promise<V1Pod[]> {
  const pods: V1Pod[] = [];
  for (let start = 0; start < count; start += 25) {
    const chunk = Array.from({ length: Math.min(25, count - start) }, (_, k) => first + start + k);
    pods.push(
      ...(await Promise.all(
        chunk.map((i) =>
          fixtures.pod({
            namespace: namespaces[i % namespaces.length] as string,
            name: `p${i}`,
            nodeName: (nodes[i % nodes.length] as TestNode).name,
            annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }) },
          }),
        ),
      )),
    );
  }
  return pods;
}

test('200 concurrent ADDs on four nodes take a pool of exactly 200 addresses; the 201st fails naming it; DEL gives every one back', async () => {
  const pool = await fixtures.pool({
    subnet: '198.18.20.0/24',
    ips: ['198.18.20.1-198.18.20.200'],
    gateway: '198.18.20.254',
  });
  const pods = await createPods(200, pool);
  const nodeOf = (i: number) => nodes[i % nodes.length] as TestNode;

  const outs = await Promise.all(pods.map((pod, i) => call('ADD', nodeOf(i), pod)));
  const failures = outs.filter((o) => o.code !== 0).map((o) => o.stdout);
  expect(failures).toEqual([]);
  const addresses = outs.map(address);
  expect(new Set(addresses).size).toBe(200);

  const state = await fixtures.poolState(pool);
  expect(state.allocatedIPCount).toBe(200);
  expect(state.totalIPCount).toBe(200);
  expect(state.records).toHaveLength(200);
  // Each pod holds exactly the address it was answered, under its own UID.
  const byUid = new Map(state.records.map((r) => [r.podUid, r]));
  pods.forEach((pod, i) => {
    const record = byUid.get(pod.metadata?.uid ?? '');
    expect({ ip: record?.ip, pod: record?.pod }).toEqual({
      ip: addresses[i]?.split('/')[0],
      pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`,
    });
  });
  const endpoint = await fixtures.endpoint(pods[7]?.metadata?.namespace ?? '', 'p7');
  expect(endpoint?.status?.current).toMatchObject({
    uid: pods[7]?.metadata?.uid,
    node: nodeOf(7).name,
    ips: [{ interface: 'eth0', ipv4: addresses[7], ipv4Pool: pool, ipv4Gateway: '198.18.20.254' }],
  });
  expect(endpoint?.metadata.finalizers).toEqual(['spiderpool.spidernet.io']);
  expect(endpoint?.metadata.ownerReferences).toEqual([
    { apiVersion: 'v1', kind: 'Pod', name: 'p7', uid: pods[7]?.metadata?.uid },
  ]);

  // The 201st pod finds the pool exhausted, and the error names the pool.
  const [extra] = await createPods(1, pool, 200);
  const exhausted = await call('ADD', nodeOf(0), extra as V1Pod);
  expect(exhausted.code).toBe(1);
  expect(exhausted.json).toMatchObject({ code: 102, msg: expect.stringContaining(`pool ${pool}`) });
  expect((await fixtures.poolState(pool)).records).toHaveLength(200);

  // A retried ADD of a pod returns the address it already has.
  const again = await call('ADD', nodeOf(3), pods[3] as V1Pod);
  expect(address(again)).toBe(addresses[3]);

  // DEL of a pod that is still alive keeps its address (its sandbox is being recreated).
  expect((await call('DEL', nodeOf(5), pods[5] as V1Pod)).code).toBe(0);
  expect((await fixtures.poolState(pool)).records).toHaveLength(200);

  // Once the pods are deleted, DEL gives every address back, and a second DEL is fine.
  const all = [...pods, extra as V1Pod];
  for (let start = 0; start < all.length; start += 25)
    await Promise.all(
      all.slice(start, start + 25).map((p) => fixtures.deletePod(ref(p).namespace, ref(p).name)),
    );
  const dels = await Promise.all(all.map((pod, i) => call('DEL', nodeOf(i), pod)));
  expect(dels.filter((o) => o.code !== 0).map((o) => o.stdout)).toEqual([]);
  const empty = await fixtures.poolState(pool);
  expect({ count: empty.allocatedIPCount, records: empty.allocatedIPs }).toEqual({
    count: 0,
    records: undefined,
  });
  expect(await fixtures.endpoint(pods[7]?.metadata?.namespace ?? '', 'p7')).toBeUndefined();
  const twice = await Promise.all(all.slice(0, 10).map((pod, i) => call('DEL', nodeOf(i), pod)));
  expect(twice.map((o) => o.code)).toEqual(Array(10).fill(0));
}, 300_000);
