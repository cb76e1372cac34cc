// A pool's `multusName` against the networks the node configuration names, through the compiled
// plugin and the real API server: Spiderpool's namespace for bare names (the installer's
// SPIDERPOOL_NAMESPACE) and Multus's cluster default network for pods without a
// `v1.multus-cni.io/default-network` annotation (conf.yml `clusterNetwork`).
import type { V1Pod } from '@kubernetes/client-node';
import { callPlugin, cniEnv, netConf, type ProcessOutcome, type TestNode } from '../../harness/cni-plugin.js';
import { usePluginBed } from '../../harness/plugin-bed.js';

const bed = usePluginBed('cni-multus', 'multus');
let pool: string;

beforeAll(async () => {
  // A bare multusName: the network macvlan-ens192 in Spiderpool's namespace.
  pool = await bed.fixtures.pool(
    { subnet: '198.18.70.0/24', ips: ['198.18.70.10-198.18.70.19'], multusName: ['macvlan-ens192'] },
    'multus',
  );
}, 120_000);

async function add(node: TestNode, annotations: Record<string, string> = {}): Promise<ProcessOutcome> {
  const pod: V1Pod = await bed.fixtures.pod({
    namespace: bed.namespace,
    nodeName: node.name,
    annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }), ...annotations },
  });
  const ref = { namespace: bed.namespace, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
  return callPlugin(cniEnv('ADD', ref), netConf(node, bed.testbed.kubeconfig));
}

const address = (out: ProcessOutcome) =>
  (out.json?.ips as Array<{ address: string }> | undefined)?.[0]?.address;

test("the cluster default network in Spiderpool's namespace matches the pool's bare multusName", async () => {
  const node = bed.testbed.node('multus-a', {
    multusNamespace: 'spiderpool',
    clusterNetwork: 'macvlan-ens192',
  });
  const out = await add(node);
  expect(out.stdout).toContain('198.18.70.');
  expect(address(out)).toMatch(/^198\.18\.70\.1\d\/24$/);
});

test("a pod's default-network annotation wins, and is read in Spiderpool's namespace too", async () => {
  const node = bed.testbed.node('multus-b', { multusNamespace: 'spiderpool', clusterNetwork: 'other' });
  const annotated = await add(node, { 'v1.multus-cni.io/default-network': 'macvlan-ens192' });
  expect(address(annotated)).toMatch(/^198\.18\.70\./);
  const other = await add(node);
  expect(other.json).toMatchObject({
    code: 103,
    msg: `no usable IPv4 pool for eth0: pool ${pool} skipped: multusName does not include spiderpool/other (the network of eth0)`,
  });
});

test('without a cluster default network, or in another namespace, the pool is left out, saying why', async () => {
  const none = await add(bed.testbed.node('multus-c', { multusNamespace: 'spiderpool' }));
  expect(none.json).toMatchObject({
    msg: expect.stringContaining('eth0 uses the cluster default network and none is set'),
  });
  // The node configuration's default namespace is kube-system (Spiderpool's chart default).
  const elsewhere = await add(bed.testbed.node('multus-d', { clusterNetwork: 'spiderpool/macvlan-ens192' }));
  expect(elsewhere.json).toMatchObject({
    msg: expect.stringContaining('multusName does not include spiderpool/macvlan-ens192'),
  });
});
