import { defaults, logSettingsOf, parseNetConf } from '../../../cni/protocol/config.js';
import { cniFailure } from './helpers.js';

const ipam = { type: 'spiderpool' };
const conf = (extra: Record<string, unknown> = {}, ipamExtra: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'macvlan-net',
    type: 'macvlan',
    master: 'v0',
    ipam: { ...ipam, ...ipamExtra },
    ...extra,
  });

test('defaults apply when only the type is given', () => {
  const c = parseNetConf(conf(), 'ADD');
  expect(c.cniVersion).toBe('1.0.0');
  expect(c.name).toBe('macvlan-net');
  expect(c.ipam).toEqual({
    type: 'spiderpool',
    defaultIPv4Pools: [],
    defaultIPv6Pools: [],
    cleanGateway: false,
    matchMasterSubnet: false,
  });
  expect(c.kubeconfigPath).toBe('/etc/cni/net.d/spiderpool.d/spiderpool.kubeconfig');
  expect(c.nodeConfigPath).toBe('/etc/cni/net.d/spiderpool.d/config.json');
  expect(c.stateDir).toBe('/var/lib/cni/spiderpool/macvlan-net');
  expect(c.log).toEqual({
    level: 'info',
    filePath: '/var/log/spidernet/spiderpool.log',
    maxSizeMB: 100,
    maxAgeDays: 30,
    maxCount: 10,
  });
  expect(c.raw.master).toBe('v0');
});

test("Spiderpool's IPAM keys are read", () => {
  const c = parseNetConf(
    conf(
      {},
      {
        log_level: 'DEBUG',
        log_file_path: '/tmp/x.log',
        log_file_max_size: 5,
        log_file_max_age: -1,
        log_file_max_count: 0,
        default_ipv4_ippool: ['v4-a', 'v4-*'],
        default_ipv6_ippool: ['v6-a'],
        clean_gateway: true,
        match_master_subnet: true,
        ipam_unix_socket_path: '/var/run/spidernet/spiderpool.sock',
        node_config_path: '/tmp/node.json',
        state_dir: '/tmp/state',
      },
    ),
    'DEL',
  );
  expect(c.ipam).toEqual({
    type: 'spiderpool',
    defaultIPv4Pools: ['v4-a', 'v4-*'],
    defaultIPv6Pools: ['v6-a'],
    cleanGateway: true,
    matchMasterSubnet: true,
  });
  // Zero and negative sizes mean Spiderpool's defaults.
  expect(c.log).toEqual({
    level: 'debug',
    filePath: '/tmp/x.log',
    maxSizeMB: 5,
    maxAgeDays: 30,
    maxCount: 10,
  });
  expect(c.nodeConfigPath).toBe('/tmp/node.json');
  // One folder per network, so GC of one network never sees another's attachments.
  expect(c.stateDir).toBe('/tmp/state/macvlan-net');
});

test('the kubeconfig path is read inside ipam (Whereabouts) or at the top (Calico); ipam wins', () => {
  expect(parseNetConf(conf({ kubernetes: { kubeconfig: '/top' } }), 'ADD').kubeconfigPath).toBe('/top');
  expect(parseNetConf(conf({}, { kubernetes: { kubeconfig: '/in' } }), 'ADD').kubeconfigPath).toBe('/in');
  expect(
    parseNetConf(conf({ kubernetes: { kubeconfig: '/top' } }, { kubernetes: { kubeconfig: '/in' } }), 'ADD')
      .kubeconfigPath,
  ).toBe('/in');
});

test.each([
  [{}, { log_file_max_size: '100' }, 'ipam.log_file_max_size: expected integer, got "100"'],
  [{}, { default_ipv4_ippool: 'pool-a' }, 'ipam.default_ipv4_ippool: expected array, got "pool-a"'],
  [{}, { default_ipv6_ippool: ['ok', 7] }, 'ipam.default_ipv6_ippool[1]: expected string, got 7'],
  [{}, { clean_gateway: 'yes' }, 'ipam.clean_gateway: expected boolean, got "yes"'],
  [{}, { kubernetes: { kubeconfig: 3 } }, 'ipam.kubernetes.kubeconfig: expected string, got 3'],
  [{}, { log_level: 'verbose' }, 'ipam.log_level: "verbose" is not one of debug, info, warn, error'],
  [{ ipam: undefined }, {}, 'ipam: missing'],
  [{ ipam: { log_level: 'info' } }, {}, 'ipam.type: missing'],
  [{ name: undefined }, {}, 'name: missing network name'],
  [{ name: 'bad name' }, {}, 'name: "bad name" must start'],
])('bad config %j %j is code 7: %s', (extra, ipamExtra, message) => {
  const err = cniFailure(() => parseNetConf(conf(extra, ipamExtra), 'ADD'));
  expect(err.code).toBe(7);
  expect(err.message).toContain(message);
});

test('malformed JSON is code 6 and says where', () => {
  const err = cniFailure(() => parseNetConf('{"cniVersion": "1.0.0", "name": ', 'ADD'));
  expect(err.code).toBe(6);
  expect(err.message).toMatch(/^network configuration \(stdin\): not valid JSON/);
  expect(cniFailure(() => parseNetConf('[1]', 'ADD')).message).toContain('not a JSON object');
});

test('versions: unsupported is code 1, missing is code 1, garbage is code 6', () => {
  expect(cniFailure(() => parseNetConf(conf({ cniVersion: '0.2.0' }), 'ADD'))).toMatchObject({
    code: 1,
    message: expect.stringContaining('cniVersion: 0.2.0 is not supported'),
  });
  expect(cniFailure(() => parseNetConf(conf({ cniVersion: undefined }), 'ADD'))).toMatchObject({
    code: 1,
    message: expect.stringContaining('cniVersion: missing'),
  });
  expect(cniFailure(() => parseNetConf(conf({ cniVersion: 'one' }), 'ADD'))).toMatchObject({ code: 6 });
});

test.each([
  ['CHECK', '0.3.1', '0.4.0'],
  ['GC', '1.0.0', '1.1.0'],
  ['STATUS', '1.0.0', '1.1.0'],
] as const)('%s needs at least %s → %s', (verb, old, minimum) => {
  const err = cniFailure(() => parseNetConf(conf({ cniVersion: old, prevResult: { ips: [] } }), verb));
  expect(err.code).toBe(1);
  expect(err.message).toContain(`${verb} needs ${minimum}`);
});

test('CHECK needs a prevResult and reads it in its version', () => {
  expect(cniFailure(() => parseNetConf(conf(), 'CHECK')).message).toBe(
    'prevResult: required for CHECK but missing',
  );
  const c = parseNetConf(
    conf({
      cniVersion: '0.4.0',
      prevResult: {
        cniVersion: '0.4.0',
        interfaces: [{ name: 'net1', sandbox: '/var/run/netns/x' }],
        ips: [{ version: '4', address: '198.18.0.5/24', gateway: '198.18.0.1', interface: 0 }],
        routes: [{ dst: '0.0.0.0/0', gw: '198.18.0.1' }],
      },
    }),
    'CHECK',
  );
  expect(c.prevResult?.ips).toEqual([{ address: '198.18.0.5/24', gateway: '198.18.0.1', interface: 0 }]);
  const bad = cniFailure(() =>
    parseNetConf(conf({ prevResult: { ips: [{ version: '6', address: '198.18.0.5/24' }] } }), 'CHECK'),
  );
  expect(bad.message).toContain('prevResult.ips[0].version');
});

test('GC reads the valid attachments under either spelling, and none means undefined', () => {
  const list = [{ containerID: 'c1', ifname: 'eth0' }];
  expect(
    parseNetConf(conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': list }), 'GC').validAttachments,
  ).toEqual(list);
  expect(
    parseNetConf(conf({ cniVersion: '1.1.0', 'cni.dev/attachments': list }), 'GC').validAttachments,
  ).toEqual(list);
  expect(parseNetConf(conf({ cniVersion: '1.1.0' }), 'GC').validAttachments).toBeUndefined();
  const err = cniFailure(() =>
    parseNetConf(conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'c' }] }), 'GC'),
  );
  expect(err.message).toContain('cni.dev/valid-attachments[0].ifname: missing');
});

test('the log file of a broken config is still found when it can be', () => {
  expect(logSettingsOf('{"ipam": {"log_file_path": "/tmp/a.log", "log_file_max_size": "x"}}').filePath).toBe(
    '/tmp/a.log',
  );
  expect(logSettingsOf('{').filePath).toBe(defaults.logFilePath);
});

test('an ADD with match_master_subnet true is refused naming the key (SR-IOV only in Spiderpool)', () => {
  expect(() => parseNetConf(conf({}, { match_master_subnet: true }), 'ADD')).toThrow(
    /ipam\.match_master_subnet: true is not served: .*SR-IOV/,
  );
  expect(parseNetConf(conf({}, { match_master_subnet: false }), 'ADD').ipam.matchMasterSubnet).toBe(false);
});
