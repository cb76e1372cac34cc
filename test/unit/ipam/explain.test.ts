import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { explainNoAddress } from '../../../ipam/selection/explain.js';
import { pool } from './helpers.js';

const multus = { multusNamespace: 'kube-system' };

function pod(annotations: Record<string, string> = {}, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name: 'web', namespace: 'ns', uid: 'u', annotations, labels },
    spec: { containers: [], nodeName: 'node-1' },
  };
}

const full = (n: number) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`198.18.1.${i + 1}`, { pod: `ns/p${i}`, podUid: `u${i}` }]),
  );

const pools = [
  pool('a', { subnet: '198.18.0.0/24', ips: ['198.18.0.10-198.18.0.20'], nodeName: ['node-2'] }),
  pool(
    'b',
    { subnet: '198.18.1.0/24', ips: ['198.18.1.1-198.18.1.2'] },
    { allocatedIPs: JSON.stringify(full(2)) },
  ),
  pool('c', { subnet: '198.18.2.0/24', ips: ['198.18.2.1-198.18.2.9'], disable: true }),
  pool('d', { subnet: '198.18.3.0/24', ips: ['198.18.3.1-198.18.3.9'] }),
];

const explain = (p: V1Pod, namespace?: V1Namespace) =>
  explainNoAddress({
    pod: p,
    ...(namespace ? { namespace } : {}),
    pools,
    enableIPv4: true,
    enableIPv6: true,
    nodeName: 'node-1',
    multus,
  });

test('every candidate filtered or exhausted: a Warning that says why for each', () => {
  const e = explain(
    pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['a', 'b', 'c', 'missing'] }) }),
  );
  expect(e).toEqual({
    blocked: true,
    message:
      'pools from ipam.spidernet.io/ippool: eth0 IPv4: pool missing not found; pool a skipped: nodeName does not include node-1; pool c skipped: disabled; pool b exhausted (2 allocated)',
  });
});

test('a usable pool with free addresses: it is the plugin that has not answered', () => {
  const e = explain(pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['a', 'd'] }) }));
  expect(e.blocked).toBe(false);
  expect(e.message).toBe(
    "pools from ipam.spidernet.io/ippool: eth0 IPv4: usable pools d (9 free) (pool a skipped: nodeName does not include node-1); the CNI plugin has recorded no allocation yet (see the kubelet's events and the plugin's log on node-1)",
  );
});

test('no selection rule applies: the pod, its namespace and spec.default name no pool', () => {
  const e = explain(pod(), { metadata: { name: 'ns' } });
  expect(e.blocked).toBe(true);
  expect(e.message).toMatch(/^no pool can be chosen: no pool selection rule applies/);
});

test('named ippools without eth0 are explained from their first NIC', () => {
  const e = explain(
    pod({ 'ipam.spidernet.io/ippools': JSON.stringify([{ interface: 'net1', ipv4: ['b'] }]) }),
  );
  expect(e.message).toBe('pools from ipam.spidernet.io/ippools: net1 IPv4: pool b exhausted (2 allocated)');
});
