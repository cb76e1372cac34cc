import type { SpiderMultusConfig } from '../../../api/index.js';
import {
  coordinatorDefaults,
  multusConfigDefaults,
  validateMultusConfig,
} from '../../../multus/admission.js';

const smc = (spec: SpiderMultusConfig['spec'], annotations?: Record<string, string>): SpiderMultusConfig => ({
  metadata: { name: 'net', namespace: 'ns', ...(annotations ? { annotations } : {}) },
  spec,
});
const macvlan = { cniType: 'macvlan' as const, macvlan: { master: ['eth0'] } };

test('a custom network loses its coordinator; a manual vlan gets vlanID 0', () => {
  expect(multusConfigDefaults(smc({ cniType: 'custom', enableCoordinator: true, coordinator: {} }))).toEqual([
    { op: 'add', path: '/spec/enableCoordinator', value: false },
    { op: 'remove', path: '/spec/coordinator' },
  ]);
  expect(multusConfigDefaults(smc({ cniType: 'vlan', vlan: { master: ['eth0'] } }))).toEqual([
    { op: 'add', path: '/spec/vlan/vlanID', value: 0 },
  ]);
  expect(multusConfigDefaults(smc(macvlan))).toEqual([]);
});

test('SpiderCoordinator gets podCIDRType auto when it has none', () => {
  expect(coordinatorDefaults(undefined)).toEqual([
    { op: 'add', path: '/spec', value: { podCIDRType: 'auto' } },
  ]);
  expect(coordinatorDefaults({ mode: 'underlay' })).toEqual([
    { op: 'add', path: '/spec/podCIDRType', value: 'auto' },
  ]);
  expect(coordinatorDefaults({ podCIDRType: 'none' })).toEqual([]);
});

test.each([
  [
    smc(macvlan, { 'multus.spidernet.io/cr-name': 'Bad_Name' }),
    'metadata.annotations[multus.spidernet.io/cr-name]',
  ],
  [
    smc(macvlan, { 'multus.spidernet.io/cni-version': '2.0.0' }),
    'metadata.annotations[multus.spidernet.io/cni-version]',
  ],
  [smc({ ...macvlan, chainCNIJsonData: ['{}'] }), 'spec.chainCNIJsonData[0]'],
  [smc({ cniType: 'ipvlan', ipvlan: { master: ['a', 'b'] } }), 'spec.ipvlan.bond'],
])('a refusal names the field (%#)', (object, field) => {
  expect(validateMultusConfig(object, undefined, undefined)?.field).toBe(field);
});

test('the NAD of another SpiderMultusConfig is refused; its own or a foreign one is not', () => {
  expect(validateMultusConfig(smc(macvlan), undefined, { ownerMultusConfig: 'other' })).toMatchObject({
    field: 'metadata.annotations',
    type: 'Forbidden',
  });
  expect(validateMultusConfig(smc(macvlan), undefined, { ownerMultusConfig: 'net' })).toBeUndefined();
  expect(validateMultusConfig(smc(macvlan), undefined, {})).toBeUndefined();
});

test('a render error shows the offending value', () => {
  expect(validateMultusConfig(smc({ cniType: 'custom', customCNI: '{nope' }), undefined, undefined)).toEqual({
    field: 'spec.customCNI',
    type: 'Invalid',
    value: '{nope',
    detail: 'not valid JSON',
  });
});
