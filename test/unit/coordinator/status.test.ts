import { coordinatorStatus } from '../../../coordinator/status.js';

const networks = {
  serviceCIDRs: ['198.18.96.0/20', 'fd00:96::/112'],
  nodePodCIDRs: ['198.18.2.0/24', '198.18.1.0/24', '198.18.1.0/24'],
};

test('Synced with the ServiceCIDRs and the Node podCIDRs, sorted and without repeats', () => {
  expect(coordinatorStatus({ podCIDRType: 'cluster' }, networks)).toEqual({
    phase: 'Synced',
    overlayPodCIDR: ['198.18.1.0/24', '198.18.2.0/24'],
    serviceCIDR: ['198.18.96.0/20', 'fd00:96::/112'],
  });
});

test('podCIDRType none reports no pod CIDRs', () => {
  expect(coordinatorStatus({ podCIDRType: 'none' }, networks).overlayPodCIDR).toEqual([]);
});

test('calico and cilium are refused by name; no ServiceCIDR API is NotReady with the reason', () => {
  expect(coordinatorStatus({ podCIDRType: 'calico' }, networks)).toMatchObject({
    phase: 'NotReady',
    reason: expect.stringMatching(/spec\.podCIDRType calico is not supported/),
  });
  expect(coordinatorStatus(undefined, { nodePodCIDRs: [] })).toMatchObject({
    phase: 'NotReady',
    reason: expect.stringMatching(/ServiceCIDR/),
  });
});
