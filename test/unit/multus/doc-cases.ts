// SpiderMultusConfig specs from Spiderpool's docs/usage/spider-multus-config.md (v1.2.1) with the
// NetworkAttachmentDefinition config those docs show for them, plus the types the docs show no
// JSON for (ib-sriov, ipoib, ovs, custom), whose expected config follows Spiderpool's renderer
// (pkg/multuscniconfig/multusconfig_informer.go). `spec` is as stored, i.e. after the CRD defaults
// (enableCoordinator true, disableIPAM false, mtu 0, ...) the API server adds. Where the docs'
// JSON differs from what Spiderpool's code renders, the case says so and follows the code.
import type { MultusConfigSpec } from '../../../api/index.js';

export interface DocCase {
  /** Where the expected JSON comes from. */
  source: string;
  name: string;
  spec: MultusConfigSpec;
  config: unknown;
  annotations?: Record<string, string>;
}

const docs = 'docs/usage/spider-multus-config.md';
const stored = { enableCoordinator: true, disableIPAM: false };

export const docCases: DocCase[] = [
  {
    source: `${docs} "Create Macvlan Configurations"`,
    name: 'macvlan-ens192',
    spec: { ...stored, cniType: 'macvlan', macvlan: { master: ['ens192'], mtu: 0 } },
    config: {
      cniVersion: '0.3.1',
      name: 'macvlan-ens192',
      plugins: [
        { type: 'macvlan', master: 'ens192', mode: 'bridge', ipam: { type: 'spiderpool' } },
        { type: 'coordinator' },
      ],
    },
  },
  {
    source: `${docs} "Customize the MTU size of the pod"`,
    name: 'macvlan-mtu',
    spec: { ...stored, cniType: 'macvlan', macvlan: { master: ['ens192'], mtu: 1480 } },
    config: {
      cniVersion: '0.3.1',
      // The docs print name macvlan-ens192 for the NAD macvlan-mtu: the code names the config after the NAD.
      name: 'macvlan-mtu',
      plugins: [
        { type: 'macvlan', mtu: 1480, master: 'ens192', mode: 'bridge', ipam: { type: 'spiderpool' } },
        { type: 'coordinator' },
      ],
    },
  },
  {
    source: `${docs} "Create IPvlan Configurations"`,
    name: 'ipvlan-ens192',
    spec: { ...stored, cniType: 'ipvlan', ipvlan: { master: ['ens192'], mtu: 0 } },
    config: {
      cniVersion: '0.3.1',
      name: 'ipvlan-ens192',
      plugins: [{ type: 'ipvlan', master: 'ens192', ipam: { type: 'spiderpool' } }, { type: 'coordinator' }],
    },
  },
  {
    source: `${docs} "Create Vlan Configurations"`,
    name: 'vlan-ens192',
    spec: {
      ...stored,
      cniType: 'vlan',
      vlan: { master: ['ens192'], vlanID: 100, vlanMode: 'manual', mtu: 0 },
    },
    config: {
      cniVersion: '0.3.1',
      name: 'vlan-ens192',
      plugins: [
        // The code also writes vlanMode (the docs predate the field).
        { type: 'vlan', master: 'ens192', vlanMode: 'manual', vlanId: 100, ipam: { type: 'spiderpool' } },
        { type: 'coordinator' },
      ],
    },
  },
  {
    source: `${docs} "Create Sriov Configuration", basic example`,
    name: 'sriov-demo',
    spec: {
      ...stored,
      cniType: 'sriov',
      sriov: { resourceName: 'spidernet.io/sriov_netdeivce', vlanID: 100, mtu: 0, rdmaIsolation: false },
    },
    config: {
      cniVersion: '0.3.1',
      name: 'sriov-demo',
      plugins: [{ vlan: 100, type: 'sriov', ipam: { type: 'spiderpool' } }, { type: 'coordinator' }],
    },
    annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'spidernet.io/sriov_netdeivce' },
  },
  {
    source: `${docs} "Create Sriov Configuration", rdma (rdmaIsolation) and mtu`,
    name: 'sriov-mtu',
    spec: {
      ...stored,
      cniType: 'sriov',
      sriov: { resourceName: 'spidernet.io/sriov_netdeivce', vlanID: 100, mtu: 8000, rdmaIsolation: true },
    },
    config: {
      cniVersion: '0.3.1',
      name: 'sriov-mtu',
      plugins: [
        { vlan: 100, type: 'sriov', ipam: { type: 'spiderpool' } },
        { type: 'rdma' },
        { type: 'coordinator' },
        { type: 'tuning', mtu: 8000 },
      ],
    },
    annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'spidernet.io/sriov_netdeivce' },
  },
  {
    source: `${docs} "Automatic detection of Pod IP pool matching host PF subnet"`,
    name: 'sriov-match-master-subnet',
    spec: {
      ...stored,
      cniType: 'sriov',
      sriov: {
        resourceName: 'spidernet.io/mellanoxrdma',
        vlanID: 100,
        mtu: 0,
        rdmaIsolation: true,
        ippools: { ipv4: ['rdmarail1-*'], matchMasterSubnet: true },
      },
    },
    config: {
      cniVersion: '0.3.1',
      name: 'sriov-match-master-subnet',
      plugins: [
        // The docs print min/max_tx_rate 0; Spiderpool leaves zero rates out elsewhere, as here.
        {
          vlan: 100,
          type: 'sriov',
          ipam: { type: 'spiderpool', match_master_subnet: true, default_ipv4_ippool: ['rdmarail1-*'] },
        },
        { type: 'rdma' },
        { type: 'coordinator' },
      ],
    },
    annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'spidernet.io/mellanoxrdma' },
  },
  {
    source: `${docs} "Ifacer create vlan interface"`,
    name: 'ipvlan-ens192-vlan100',
    spec: { ...stored, cniType: 'ipvlan', ipvlan: { master: ['ens192'], vlanID: 100, mtu: 0 } },
    config: {
      cniVersion: '0.3.1',
      name: 'ipvlan-ens192-vlan100',
      plugins: [
        { type: 'ifacer', interfaces: ['ens192'], vlanID: 100 },
        // The docs print "mode": "bridge" for ipvlan; Spiderpool's ipvlan config has no mode field.
        { type: 'ipvlan', ipam: { type: 'spiderpool' }, master: 'ens192.100' },
        { type: 'coordinator' },
      ],
    },
  },
  {
    source: `${docs} "Ifacer create bond interface" (its spec with the ipvlan block under ipvlan)`,
    name: 'ipvlan-conf',
    spec: {
      ...stored,
      cniType: 'ipvlan',
      ipvlan: { master: ['ens192', 'ens224'], bond: { name: 'bond0', mode: 1, options: '' }, mtu: 0 },
    },
    config: {
      cniVersion: '0.3.1',
      name: 'ipvlan-conf',
      plugins: [
        { type: 'ifacer', interfaces: ['ens192', 'ens224'], bond: { name: 'bond0', mode: 1 } },
        { type: 'ipvlan', ipam: { type: 'spiderpool' }, master: 'bond0' },
        { type: 'coordinator' },
      ],
    },
  },
  {
    source: `${docs} "ChainCNI Configuration"`,
    name: 'macvlan-conf',
    spec: {
      ...stored,
      cniType: 'macvlan',
      macvlan: { master: ['ens192'], mtu: 0 },
      chainCNIJsonData: [
        '{\n    "type": "tuning",\n    "sysctl": {\n      "net.core.somaxconn": "4096"\n    }\n}\n',
      ],
    },
    config: {
      cniVersion: '0.3.1',
      name: 'macvlan-conf',
      plugins: [
        { type: 'macvlan', master: 'ens192', mode: 'bridge', ipam: { type: 'spiderpool' } },
        // The docs print coordinator before tuning; Spiderpool's code appends the coordinator after
        // the chained plugins, and so does this renderer.
        { type: 'tuning', sysctl: { 'net.core.somaxconn': '4096' } },
        { type: 'coordinator' },
      ],
    },
  },
  {
    source: 'Spiderpool renderer, ib-sriov (no JSON in the docs)',
    name: 'ibsriov-demo',
    spec: {
      ...stored,
      cniType: 'ib-sriov',
      ibsriov: {
        resourceName: 'spidernet.io/mellanoxibsriov',
        linkState: 'enable',
        rdmaIsolation: true,
        enableIbKubernetes: false,
        ippools: { ipv4: ['v4-91'], matchMasterSubnet: false },
      },
    },
    config: {
      cniVersion: '0.3.1',
      name: 'ibsriov-demo',
      plugins: [
        {
          type: 'ib-sriov',
          link_state: 'enable',
          rdmaIsolation: true,
          ibKubernetesEnabled: false,
          ipam: { type: 'spiderpool', default_ipv4_ippool: ['v4-91'] },
        },
        { type: 'coordinator' },
      ],
    },
    annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'spidernet.io/mellanoxibsriov' },
  },
  {
    source: 'Spiderpool renderer, ipoib (no JSON in the docs)',
    name: 'ipoib-demo',
    spec: { ...stored, cniType: 'ipoib', ipoib: { master: 'ibs5f0', ippools: { ipv4: ['v4-91'] } } },
    config: {
      cniVersion: '0.3.1',
      name: 'ipoib-demo',
      plugins: [
        { type: 'ipoib', master: 'ibs5f0', ipam: { type: 'spiderpool', default_ipv4_ippool: ['v4-91'] } },
        { type: 'coordinator' },
      ],
    },
  },
  {
    source: 'Spiderpool renderer, ovs (docs/usage/install/underlay/get-started-ovs.md shows no JSON)',
    name: 'ovs-vlan30',
    spec: {
      ...stored,
      cniType: 'ovs',
      ovs: { bridge: 'br1', vlan: 30, ippools: { ipv4: ['vlan30-v4'], ipv6: ['vlan30-v6'] } },
    },
    config: {
      cniVersion: '0.3.1',
      name: 'ovs-vlan30',
      plugins: [
        {
          vlan: 30,
          type: 'ovs',
          bridge: 'br1',
          ipam: {
            type: 'spiderpool',
            default_ipv4_ippool: ['vlan30-v4'],
            default_ipv6_ippool: ['vlan30-v6'],
          },
        },
        { type: 'coordinator' },
      ],
    },
  },
  {
    source: 'Spiderpool renderer, custom: customCNI is the whole config',
    name: 'custom-bridge',
    spec: {
      cniType: 'custom',
      enableCoordinator: false,
      disableIPAM: false,
      customCNI: '{"cniVersion":"1.0.0","name":"custom-bridge","type":"bridge","bridge":"br0"}',
    },
    config: { cniVersion: '1.0.0', name: 'custom-bridge', type: 'bridge', bridge: 'br0' },
  },
];
