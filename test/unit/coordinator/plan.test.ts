import { planHostVeth } from '../../../coordinator/host-veth.js';
import {
  macFromPrefix,
  planNicRouting,
  resolveSettings,
  UnsupportedSetting,
} from '../../../coordinator/plan.js';

const main = [
  { dst: 'default', gateway: '198.18.50.1', dev: 'eth0' },
  { dst: '198.18.50.0/24', dev: 'eth0' },
  { dst: '198.18.51.0/24', dev: 'net1' },
];
const addresses = { eth0: ['198.18.50.10'], net1: ['198.18.51.10'] };

describe('settings: the pod annotation over the plugin config over SpiderCoordinator default', () => {
  test('precedence of the default-route NIC and the defaults', () => {
    expect(resolveSettings({}, undefined, undefined)).toEqual({
      tunePodRoutes: true,
      podDefaultRouteNic: '',
      podMACPrefix: '',
      txQueueLen: 0,
      policyRoutes: [],
      hostRuleTable: 500,
      vethMTU: 1500,
      hijackCIDR: [],
      vethLinkAddress: '',
    });
    const cluster = { podDefaultRouteNIC: 'net2', txQueueLen: 2000 };
    expect(resolveSettings({ podDefaultRouteNic: 'net1' }, cluster, undefined)).toMatchObject({
      podDefaultRouteNic: 'net1',
      txQueueLen: 2000,
    });
    expect(resolveSettings({ podDefaultRouteNic: 'net1' }, cluster, 'eth0')).toMatchObject({
      podDefaultRouteNic: 'eth0',
    });
  });

  test('disabled does nothing; overlay is refused by name', () => {
    expect(resolveSettings({ mode: 'disabled' }, undefined, undefined)).toBe('disabled');
    expect(() => resolveSettings({ mode: 'overlay' }, undefined, undefined)).toThrow(/^mode: overlay/);
    expect(() => resolveSettings({ mode: 'overlay' }, undefined, undefined)).toThrow(UnsupportedSetting);
  });

  test('hijack CIDRs: the pod and service CIDRs of the status unless the config names them, then hijackCIDR', () => {
    const status = { phase: 'Synced', overlayPodCIDR: ['198.18.96.0/20'], serviceCIDR: ['198.18.112.0/20'] };
    const spec = { hijackCIDR: ['198.18.128.0/24'] };
    expect(resolveSettings({}, spec, undefined, status)).toMatchObject({
      hijackCIDR: ['198.18.96.0/20', '198.18.112.0/20', '198.18.128.0/24'],
    });
    // Spiderpool's ParseConfig: a list in the plugin config wins, an empty one falls back.
    expect(
      resolveSettings(
        { serviceCIDR: ['198.18.120.0/21'], overlayPodCIDR: [], hijackCIDR: ['fd00:80::5/64'] },
        spec,
        undefined,
        status,
      ),
    ).toMatchObject({ hijackCIDR: ['198.18.96.0/20', '198.18.120.0/21', 'fd00:80::/64'] });
    // A bare address is its host prefix, as Spiderpool's webhook writes it.
    expect(resolveSettings({ hijackCIDR: ['198.18.20.10'] }, undefined, undefined)).toMatchObject({
      hijackCIDR: ['198.18.20.10/32'],
    });
    expect(() => resolveSettings({ hijackCIDR: ['198.18.0.0/33'] }, undefined, undefined)).toThrow(
      /^hijackCIDR: "198.18.0.0\/33" has an invalid prefix length/,
    );
    expect(() =>
      resolveSettings({}, undefined, undefined, { phase: 'Synced', serviceCIDR: ['x/8'] }),
    ).toThrow(/^serviceCIDR: /);
  });

  test('vethLinkAddress: IPv4 only, named when it is not', () => {
    expect(resolveSettings({}, { vethLinkAddress: '198.18.57.1' }, undefined)).toMatchObject({
      vethLinkAddress: '198.18.57.1',
    });
    expect(() => resolveSettings({ vethLinkAddress: 'fd00::1' }, undefined, undefined)).toThrow(
      /^vethLinkAddress: "fd00::1" is not an IPv4 address/,
    );
  });
});

test('podRPFilter, hostRuleTable and vethMTU: plugin config over SpiderCoordinator; bad values named', () => {
  const cluster = { podRPFilter: 1, hostRuleTable: 700, vethMTU: 1450 };
  expect(resolveSettings({}, cluster, undefined)).toMatchObject(cluster);
  expect(resolveSettings({ podRPFilter: 2, vethMTU: 9000 }, cluster, undefined)).toMatchObject({
    podRPFilter: 2,
    vethMTU: 9000,
    hostRuleTable: 700,
  });
  // Negative: rp_filter is left as it is.
  expect(resolveSettings({ podRPFilter: -1 }, undefined, undefined)).not.toHaveProperty('podRPFilter');
  expect(() => resolveSettings({ podRPFilter: 3 }, undefined, undefined)).toThrow(/^podRPFilter: 3 /);
  expect(() => resolveSettings({ vethMTU: 20 }, undefined, undefined)).toThrow(/^vethMTU: 20 /);
  expect(() => resolveSettings({ hostRuleTable: 0 }, undefined, undefined)).toThrow(/^hostRuleTable: 0 /);
});

test('host reachability: node rules and routes to the NIC’s addresses, pod routes to the node’s of its families', () => {
  expect(
    planHostVeth({
      containerId: '0123456789abcdef',
      podAddresses: ['198.18.54.10', 'fd00:54::10'],
      hostAddresses: ['198.18.53.1', 'fd00:53::1'],
      hostRuleTable: 500,
      podTable: 0,
    }),
  ).toEqual({
    hostVeth: 'veth0123456789a',
    hostRules: [
      { to: '198.18.54.10/32', table: 500 },
      { to: 'fd00:54::10/128', table: 500 },
    ],
    hostRoutes: [
      { dst: '198.18.54.10/32', table: 500 },
      { dst: 'fd00:54::10/128', table: 500 },
    ],
    hostNeighbours: ['198.18.54.10', 'fd00:54::10'],
    podRoutes: [
      { dst: '198.18.53.1/32', table: 0 },
      { dst: 'fd00:53::1/128', table: 0 },
    ],
    podNeighbours: [],
    hijackRoutes: [],
  });
  const v4only = planHostVeth({
    containerId: 'c',
    podAddresses: ['198.18.55.10'],
    hostAddresses: ['198.18.53.1', 'fd00:53::1'],
    hostRuleTable: 600,
    podTable: 101,
  });
  expect(v4only.podRoutes).toEqual([{ dst: '198.18.53.1/32', table: 101 }]);
});

test('the first NIC: neighbour entries for the node, hijack routes via the first node address, replies by veth0', () => {
  const plan = planHostVeth({
    containerId: 'c',
    first: true,
    podAddresses: ['198.18.54.10', 'fd00:54::10'],
    hostAddresses: ['198.18.53.1', '198.18.56.1', 'fd00:53::1'],
    hostRuleTable: 500,
    podTable: 0,
    hijackCIDR: ['198.18.96.0/20', 'fd00:96::/64'],
  });
  expect(plan.podNeighbours).toEqual(['198.18.53.1', '198.18.56.1', 'fd00:53::1']);
  // IPv4 routes through veth0 take the first NIC's address as source; IPv6 ones none (Spiderpool).
  expect(plan.hijackRoutes).toEqual([
    { dst: '198.18.96.0/20', table: 0, via: '198.18.53.1', src: '198.18.54.10' },
    { dst: 'fd00:96::/64', table: 0, via: 'fd00:53::1' },
  ]);
  expect(plan.replyViaVeth).toEqual({
    families: [4, 6],
    defaults: [
      { dst: '0.0.0.0/0', table: 100, via: '198.18.53.1', src: '198.18.54.10' },
      { dst: '::/0', table: 100, via: 'fd00:53::1' },
    ],
  });
  // A later NIC: hijack routes in its own table with the first NIC's source; no marks, no pod neighbours.
  const later = planHostVeth({
    containerId: 'c',
    podAddresses: ['198.18.55.10'],
    firstNicAddresses: ['198.18.54.10'],
    hostAddresses: ['198.18.53.1'],
    hostRuleTable: 500,
    podTable: 101,
    hijackCIDR: ['198.18.96.0/20', 'fd00:96::/64'],
  });
  expect(later.hijackRoutes).toEqual([
    { dst: '198.18.96.0/20', table: 101, via: '198.18.53.1', src: '198.18.54.10' },
  ]);
  expect(later.podNeighbours).toEqual([]);
  expect(later.replyViaVeth).toBeUndefined();
});

test('podMACPrefix: the prefix and the last four bytes of the address', () => {
  expect(macFromPrefix('0a:1B', '198.18.51.10')).toBe('0a:1b:c6:12:33:0a');
  expect(macFromPrefix('0a:1b', 'fd00::12:3456')).toBe('0a:1b:00:12:34:56');
  expect(() => macFromPrefix('01:1b', '198.18.51.10')).toThrow(/podMACPrefix: 01:1b is not unicast/);
});

describe('routing of one NIC', () => {
  test('the first NIC changes nothing', () => {
    expect(
      planNicRouting({ current: 'eth0', index: 0, defaultNic: '', mainRoutes: main, addresses }),
    ).toMatchObject({
      table: 0,
      rules: [],
      routes: [],
    });
  });

  test('a later NIC moves its routes to table 100 + n, with a default route via its gateway', () => {
    const plan = planNicRouting({
      current: 'net1',
      index: 1,
      defaultNic: '',
      mainRoutes: main,
      addresses,
      gateways: ['198.18.51.1'],
    });
    expect(plan).toEqual({
      table: 101,
      movedNic: 'net1',
      rules: [{ from: '198.18.51.10/32', table: 101 }],
      routes: [
        { dst: '198.18.51.0/24', dev: 'net1' },
        { dst: 'default', gateway: '198.18.51.1', dev: 'net1' },
      ],
      leaveMain: [],
      mainDefaults: [],
    });
  });

  test('the chosen default-route NIC keeps main: the previous holder moves to its table', () => {
    const plan = planNicRouting({
      current: 'net1',
      index: 1,
      defaultNic: 'net1',
      mainRoutes: main,
      addresses,
      gateways: ['198.18.51.1'],
    });
    expect(plan).toMatchObject({
      table: 101,
      movedNic: 'eth0',
      rules: [{ from: '198.18.50.10/32', table: 101 }],
      leaveMain: [{ dst: 'default', gateway: '198.18.50.1', dev: 'eth0' }],
      mainDefaults: [{ dst: 'default', gateway: '198.18.51.1', dev: 'net1' }],
    });
  });
});
