import type { V1Pod } from '@kubernetes/client-node';
import { defaultNetwork, networkOfNic, parseNetworks } from '../../../ipam/multus/index.js';
import { ipamErrorOf } from './helpers.js';

const settings = { multusNamespace: 'kube-system' };

function pod(annotations: Record<string, string>): V1Pod {
  return { metadata: { name: 'p', namespace: 'app', annotations } };
}

describe('Multus annotations', () => {
  it('parses the comma form, namespaces defaulting', () => {
    expect(parseNetworks('macvlan-a, other/macvlan-b@data0 ,c@x', 'app')).toEqual([
      { namespace: 'app', name: 'macvlan-a' },
      { namespace: 'other', name: 'macvlan-b', interface: 'data0' },
      { namespace: 'app', name: 'c', interface: 'x' },
    ]);
  });

  it('parses the JSON form', () => {
    const text = JSON.stringify([
      { name: 'a', namespace: 'n1', interface: 'pod16477688c0e' },
      { name: 'b', mac: '02:00:00:00:00:01', ips: ['198.18.0.5/24'], 'cni-args': { logicNetworkName: 'x' } },
    ]);
    expect(parseNetworks(text, 'app')).toEqual([
      { namespace: 'n1', name: 'a', interface: 'pod16477688c0e' },
      {
        namespace: 'app',
        name: 'b',
        mac: '02:00:00:00:00:01',
        ips: ['198.18.0.5/24'],
        cniArgs: { logicNetworkName: 'x' },
      },
    ]);
  });

  it.each([
    ['a/b/c', /k8s.v1.cni.cncf.io\/networks\[0\]: "a\/b\/c" is not/],
    ['a,,b', /networks\[1\]: "" is not/],
    ['[{"namespace":"x"}]', /networks\[0\].name: expected a non-empty string/],
    ['{"name":"a"}', /expected a JSON array/],
    ['[{"name":"a","ips":"198.18.0.5"}]', /networks\[0\].ips: expected a list of strings/],
    ['[{"name":"a","cni-args":[1]}]', /networks\[0\].cni-args: expected an object/],
  ])('refuses %s', (text, message) => {
    expect(ipamErrorOf(() => parseNetworks(text, 'app')).message).toMatch(message);
  });

  it('resolves the default network from the pod, else the cluster setting, in Multus namespace', () => {
    expect(defaultNetwork(pod({ 'v1.multus-cni.io/default-network': 'macvlan-0' }), settings)).toEqual({
      namespace: 'kube-system',
      name: 'macvlan-0',
    });
    expect(defaultNetwork(pod({}), { ...settings, clusterDefaultNetwork: 'net/calico' })).toEqual({
      namespace: 'net',
      name: 'calico',
    });
    expect(defaultNetwork(pod({}), settings)).toBeUndefined();
  });
});

describe('networkOfNic', () => {
  const p = pod({
    'v1.multus-cni.io/default-network': 'kube-system/macvlan-0',
    'k8s.v1.cni.cncf.io/networks': 'vlan40, other/vlan30@data1, vlan50',
  });

  it.each([
    ['eth0', undefined, 'kube-system/macvlan-0'],
    ['net1', undefined, 'app/vlan40'],
    ['data1', undefined, 'other/vlan30'],
    ['net3', undefined, 'app/vlan50'],
    ['whatever', 2, 'other/vlan30'],
    ['whatever', 0, 'kube-system/macvlan-0'],
  ])('%s (position %s) belongs to %s', (nic, position, expected) => {
    const found = networkOfNic(p, nic, settings, position);
    expect(found.network ? `${found.network.namespace}/${found.network.name}` : found.reason).toBe(expected);
  });

  it('explains a NIC it cannot place', () => {
    expect(networkOfNic(p, 'net9', settings)).toEqual({
      reason: 'no network in k8s.v1.cni.cncf.io/networks is attached as net9',
    });
    expect(networkOfNic(pod({}), 'eth0', settings)).toMatchObject({
      reason: expect.stringMatching(/cluster default/),
    });
  });
});
