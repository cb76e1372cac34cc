import { apiVersion, kinds, type MultusConfigSpec, type SpiderMultusConfig } from '../../../api/index.js';
import { nadName, RenderError, renderNetworkAttachmentDefinition } from '../../../multus/render.js';
import { docCases } from './doc-cases.js';

const smc = (
  name: string,
  spec: MultusConfigSpec,
  annotations?: Record<string, string>,
): SpiderMultusConfig => ({
  apiVersion,
  kind: kinds.multusConfig.kind,
  metadata: { name, namespace: 'kube-system', ...(annotations ? { annotations } : {}) },
  spec,
});
const configOf = (o: SpiderMultusConfig) => JSON.parse(renderNetworkAttachmentDefinition(o).config ?? 'null');
const macvlan: MultusConfigSpec = {
  enableCoordinator: true,
  cniType: 'macvlan',
  macvlan: { master: ['eth0'] },
};

describe('each cniType renders the NetworkAttachmentDefinition Spiderpool would', () => {
  test.each(docCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const nad = renderNetworkAttachmentDefinition(smc(c.name, c.spec));
    expect({ name: nad.name, namespace: nad.namespace }).toEqual({ name: c.name, namespace: 'kube-system' });
    expect(JSON.parse(nad.config ?? 'null')).toEqual(c.config);
    expect(nad.annotations).toEqual(c.annotations ?? {});
  });
});

test('the annotations name the NAD, its cniVersion and the config name, and are copied to the NAD', () => {
  const annotations = {
    'multus.spidernet.io/cr-name': 'macvlan-100',
    'multus.spidernet.io/cni-version': '0.4.0',
    'cni.spidernet.io/cniconfig-name': 'macvlan-conf-100',
    'kubectl.kubernetes.io/last-applied-configuration': '{}',
  };
  const o = smc('demo', { ...macvlan, macvlan: { master: ['eth0'], vlanID: 100 } }, annotations);
  const nad = renderNetworkAttachmentDefinition(o);
  expect(nadName(o)).toBe('macvlan-100');
  expect(nad.name).toBe('macvlan-100');
  const { 'kubectl.kubernetes.io/last-applied-configuration': _, ...copied } = annotations;
  expect(nad.annotations).toEqual(copied);
  expect(JSON.parse(nad.config ?? '')).toMatchObject({ cniVersion: '0.4.0', name: 'macvlan-conf-100' });
});

test('ippools become the spiderpool IPAM default pools; disableIPAM leaves the IPAM block out', () => {
  const ippools = { ipv4: ['v4-a', 'v4-b'], ipv6: ['v6-a'] };
  expect(configOf(smc('n', { ...macvlan, macvlan: { master: ['eth0'], ippools } })).plugins[0].ipam).toEqual({
    type: 'spiderpool',
    default_ipv4_ippool: ['v4-a', 'v4-b'],
    default_ipv6_ippool: ['v6-a'],
  });
  const plain = configOf(smc('n', { ...macvlan, disableIPAM: true, macvlan: { master: ['eth0'], ippools } }));
  expect(plain.plugins[0]).toEqual({ type: 'macvlan', master: 'eth0', mode: 'bridge' });
});

test('enableCoordinator false leaves the coordinator out; a coordinator block overrides its fields', () => {
  expect(configOf(smc('n', { ...macvlan, enableCoordinator: false })).plugins).toHaveLength(1);
  const withCoordinator = configOf(
    smc('n', {
      ...macvlan,
      coordinator: {
        mode: 'underlay',
        tunePodRoutes: true,
        podDefaultRouteNIC: 'net1',
        podMACPrefix: '0a:1b',
        txQueueLen: 0,
        hostRuleTable: 500,
        podRPFilter: 0,
        policyRoutes: [{ dst: '10.10.0.0/16', gw: '172.18.0.1' }],
      },
    }),
  );
  expect(withCoordinator.plugins[1]).toEqual({
    txQueueLen: 0,
    tunePodRoutes: true,
    podMACPrefix: '0a:1b',
    mode: 'underlay',
    type: 'coordinator',
    podDefaultRouteNic: 'net1',
    podRPFilter: 0,
    policyRoutes: [{ dst: '10.10.0.0/16', gw: '172.18.0.1' }],
  });
});

test('several masters with a vlanID: ifacer bonds them and the main plugin uses bond.vlan', () => {
  const plugins = configOf(
    smc('n', {
      ...macvlan,
      macvlan: { master: ['eth0', 'eth1'], vlanID: 30, bond: { name: 'bond0', mode: 1 } },
    }),
  ).plugins;
  expect(plugins.slice(0, 2)).toEqual([
    { type: 'ifacer', interfaces: ['eth0', 'eth1'], vlanID: 30, bond: { name: 'bond0', mode: 1 } },
    { type: 'macvlan', master: 'bond0.30', mode: 'bridge', ipam: { type: 'spiderpool' } },
  ]);
});

test('vlanMode auto leaves the vlanId to the vlan plugin', () => {
  const main = configOf(smc('n', { cniType: 'vlan', vlan: { master: ['eth0'], vlanMode: 'auto' } }))
    .plugins[0];
  expect(main).toEqual({ type: 'vlan', master: 'eth0', vlanMode: 'auto', ipam: { type: 'spiderpool' } });
});

test('a custom type without customCNI renders a NAD without config, as Spiderpool does', () => {
  expect(renderNetworkAttachmentDefinition(smc('n', { cniType: 'custom' })).config).toBeUndefined();
});

describe('what cannot be rendered is an error naming the field', () => {
  const cases: Array<[string, MultusConfigSpec, string]> = [
    ['a missing block', { cniType: 'ovs' }, 'spec.ovs: required when spec.cniType is ovs'],
    [
      'several masters without a bond',
      { cniType: 'ipvlan', ipvlan: { master: ['eth0', 'eth1'] } },
      'spec.ipvlan.bond: required with several masters',
    ],
    [
      'custom JSON that is not JSON',
      { cniType: 'custom', customCNI: '{type: bridge' },
      'spec.customCNI: not valid JSON',
    ],
    [
      'a chained plugin that is not a JSON object',
      { ...macvlan, chainCNIJsonData: ['[1]'] },
      'spec.chainCNIJsonData[0]: not a CNI plugin config: not a JSON object',
    ],
  ];
  test.each(cases)('%s', (_what, spec, message) => {
    expect(() => renderNetworkAttachmentDefinition(smc('n', spec))).toThrow(RenderError);
    expect(() => renderNetworkAttachmentDefinition(smc('n', spec))).toThrow(message);
  });
});
