import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { replaceIfChanged, writeFileAtomic } from '../../../cni/install/atomic.js';
import { convertConfYml } from '../../../cni/install/conf-yml.js';
import { installSettings } from '../../../cni/install/installer.js';
import { renderKubeconfig, serverUrl } from '../../../cni/install/kubeconfig.js';

test('the server URL brackets an IPv6 host', () => {
  expect(serverUrl('10.96.0.1', '443')).toBe('https://10.96.0.1:443');
  expect(serverUrl('fd00:10:96::1', '443')).toBe('https://[fd00:10:96::1]:443');
  expect(serverUrl('[fd00::1]', '6443')).toBe('https://[fd00::1]:6443');
});

test('the kubeconfig names the server, the CA by its host path and the token', () => {
  const doc = parse(
    renderKubeconfig({
      server: 'https://10.96.0.1:443',
      caFile: '/etc/cni/net.d/spiderpool.d/ca.crt',
      token: 't0k',
    }),
  );
  expect(doc).toEqual({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'local',
        cluster: {
          server: 'https://10.96.0.1:443',
          'certificate-authority': '/etc/cni/net.d/spiderpool.d/ca.crt',
        },
      },
    ],
    users: [{ name: 'spiderpool', user: { token: 't0k' } }],
    contexts: [{ name: 'spiderpool', context: { cluster: 'local', user: 'spiderpool' } }],
    'current-context': 'spiderpool',
  });
});

test("conf.yml keeps only the plugin's switches, checked by the installation's conf.yml schema", () => {
  const yml = [
    'ipamUnixSocketPath: /var/run/spidernet/spiderpool.sock',
    'enableIPv4: true',
    'enableIPv6: false',
    'enableStatefulSet: true',
    'enableKubevirtStaticIP: false',
    'enableSpiderSubnet: false',
    'clusterSubnetDefaultFlexibleIPNumber: 1',
  ].join('\n');
  expect(convertConfYml(yml, 'conf.yml', 'node-1')).toEqual({
    enableIPv4: true,
    enableIPv6: false,
    enableStatefulSet: true,
    enableKubevirtStaticIP: false,
    enableSpiderSubnet: false,
    nodeName: 'node-1',
  });
  expect(convertConfYml('', 'conf.yml')).toEqual({});
  // Multus's cluster default network (Spiderpool's conf.yml key) and Spiderpool's namespace.
  expect(convertConfYml('clusterNetwork: kube-system/macvlan', 'conf.yml', 'n', 'spiderpool')).toEqual({
    clusterNetwork: 'kube-system/macvlan',
    nodeName: 'n',
    multusNamespace: 'spiderpool',
  });
  expect(convertConfYml('clusterNetwork: ""', 'conf.yml')).toEqual({});
  // The lingering leader's timings (this implementation's keys) travel to the plugin.
  expect(convertConfYml('pluginLeaderLingerMs: 1500\npluginLeaderMaxLifeMs: 60000', 'conf.yml')).toEqual({
    pluginLeaderLingerMs: 1500,
    pluginLeaderMaxLifeMs: 60000,
  });
  // The pool cap (Spiderpool's SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS) travels to the plugin too.
  expect(convertConfYml('ippoolMaxAllocatedIPs: 12000', 'conf.yml')).toEqual({
    ippoolMaxAllocatedIPs: 12000,
  });
  expect(() => convertConfYml('ippoolMaxAllocatedIPs: 0', 'conf.yml')).toThrow(
    /conf.yml: ippoolMaxAllocatedIPs: .*got 0/,
  );
  expect(() => convertConfYml('clusterNetwork: 5', 'conf.yml')).toThrow(
    'conf.yml: clusterNetwork: expected a string, got 5',
  );
  expect(() => convertConfYml('enableIPv6: "no"', '/etc/conf.yml')).toThrow(
    '/etc/conf.yml: enableIPv6: expected true or false, got "no"',
  );
  expect(() => convertConfYml('- a', 'conf.yml')).toThrow(
    'conf.yml: expected a mapping of settings, got ["a"]',
  );
  // The same strictness as the operator: a misspelt key is an error, not silently ignored.
  expect(() => convertConfYml('enableIPV6: false', 'conf.yml')).toThrow("conf.yml: unknown key 'enableIPV6'");
  expect(() => convertConfYml('a: [', 'conf.yml')).toThrow(/conf.yml: not valid YAML/);
});

test('settings come from the environment; bad values name the variable', () => {
  const s = installSettings({
    KUBERNETES_SERVICE_HOST: 'fd00::1',
    KUBERNETES_SERVICE_PORT: '443',
    SPIDERPOOL_NODE_NAME: 'n1',
  });
  expect(s).toMatchObject({
    server: 'https://[fd00::1]:443',
    binDir: '/host/opt/cni/bin',
    configDir: '/host/etc/cni/net.d/spiderpool.d',
    hostConfigDir: '/etc/cni/net.d/spiderpool.d',
    tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    nodeName: 'n1',
    watchIntervalMs: 1000,
  });
  expect(s.nodeConfigFile).toBeUndefined();
  expect(s.namespace).toBeUndefined();
  expect(
    installSettings({
      KUBERNETES_SERVICE_HOST: 'h',
      KUBERNETES_SERVICE_PORT: '1',
      SPIDERPOOL_NAMESPACE: 'spiderpool',
    }).namespace,
  ).toBe('spiderpool');
  expect(() => installSettings({ KUBERNETES_SERVICE_PORT: '443' })).toThrow(
    /^KUBERNETES_SERVICE_HOST: missing/,
  );
  expect(() => installSettings({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: 'https' })).toThrow(
    'KUBERNETES_SERVICE_PORT: "https" is not a port number',
  );
  expect(() =>
    installSettings({
      KUBERNETES_SERVICE_HOST: 'h',
      KUBERNETES_SERVICE_PORT: '1',
      SPIDERPOOL_WATCH_INTERVAL_MS: '5',
    }),
  ).toThrow(/^SPIDERPOOL_WATCH_INTERVAL_MS/);
});

test('atomic writes leave no temporary file and rewrite only changed content', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  try {
    const path = join(dir, 'f');
    writeFileAtomic(path, 'one', 0o600);
    expect(readFileSync(path, 'utf8')).toBe('one');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(replaceIfChanged(path, 'one')).toBe(false);
    expect(replaceIfChanged(path, 'two')).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('two');
    writeFileSync(join(dir, 'keep'), '');
    expect(readdirSync(dir).sort()).toEqual(['f', 'keep']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
