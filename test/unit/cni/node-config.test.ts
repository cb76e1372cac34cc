import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeConfigDefaults, parseNodeConfig, readNodeConfig } from '../../../cni/node-config.js';
import { spiderpoolPluginDefaults } from '../spiderpool-defaults.js';

test("a missing file means Spiderpool's defaults and this host's name", () => {
  expect(readNodeConfig('/nonexistent/config.json')).toEqual({ ...nodeConfigDefaults, nodeName: hostname() });
  expect(nodeConfigDefaults).toEqual({
    ...spiderpoolPluginDefaults,
    multusNamespace: 'kube-system',
    enableSpiderSubnet: false,
    enableAutoPoolForApplication: true,
    // This implementation's own: the lingering leader (docs/cni.md, "A leader that lingers").
    pluginLeaderLingerMs: 3000,
    pluginLeaderMaxLifeMs: 30000,
  });
});

test("the lingering leader's timings come from the file; out of range is refused naming the key", () => {
  const c = parseNodeConfig('{"pluginLeaderLingerMs": 0, "pluginLeaderMaxLifeMs": 5000}', 'f', 'n1');
  expect([c.pluginLeaderLingerMs, c.pluginLeaderMaxLifeMs]).toEqual([0, 5000]);
  expect(() => parseNodeConfig('{"pluginLeaderLingerMs": -1}', '/etc/x.json')).toThrow(
    /node configuration \/etc\/x.json: pluginLeaderLingerMs: .*-1/,
  );
  expect(() => parseNodeConfig('{"pluginLeaderMaxLifeMs": 10}', '/etc/x.json')).toThrow(
    /pluginLeaderMaxLifeMs: .*10/,
  );
});

test('the pool cap comes from the file; one below 1 is refused naming the key', () => {
  expect(parseNodeConfig('{"ippoolMaxAllocatedIPs": 12000}', 'f', 'n1').ippoolMaxAllocatedIPs).toBe(12000);
  expect(() => parseNodeConfig('{"ippoolMaxAllocatedIPs": 0}', '/etc/x.json')).toThrow(
    /node configuration \/etc\/x.json: ippoolMaxAllocatedIPs: .*0/,
  );
});

test('values in the file win over the defaults; unknown keys are ignored', () => {
  const c = parseNodeConfig(
    JSON.stringify({ enableIPv4: false, enableKubevirtStaticIP: false, future: 1 }),
    'f',
    'n1',
  );
  expect(c).toEqual({
    ...nodeConfigDefaults,
    enableIPv4: false,
    enableKubevirtStaticIP: false,
    nodeName: 'n1',
  });
});

test("Multus's namespace and cluster default network come from the file when it has them", () => {
  const c = parseNodeConfig(
    JSON.stringify({ multusNamespace: 'spiderpool', clusterNetwork: 'kube-system/macvlan-ens192' }),
    'f',
    'n1',
  );
  expect(c).toMatchObject({ multusNamespace: 'spiderpool', clusterNetwork: 'kube-system/macvlan-ens192' });
  expect(parseNodeConfig('{}', 'f', 'n1').clusterNetwork).toBeUndefined();
  expect(() => parseNodeConfig('{"multusNamespace": ""}', '/etc/x.json')).toThrow(
    /node configuration \/etc\/x.json: multusNamespace/,
  );
});

test('a bad value is code 101 naming the file and the key', () => {
  expect(() => parseNodeConfig('{"enableIPv6": "no"}', '/etc/x.json')).toThrow(
    'node configuration /etc/x.json: enableIPv6: expected boolean, got "no"',
  );
  expect(() => parseNodeConfig('{', '/etc/x.json')).toThrow(
    /node configuration \/etc\/x.json: not valid JSON/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'node-config-'));
  try {
    writeFileSync(join(dir, 'c.json'), '[]');
    let code: unknown;
    try {
      readNodeConfig(join(dir, 'c.json'));
    } catch (err) {
      code = (err as { code?: unknown }).code;
    }
    expect(code).toBe(101);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
