import { stringify } from 'yaml';
import { spiderpoolConf } from '../../../../cdk8s/charts/config.js';
import { defaultValues } from '../../../../cdk8s/values/schema.js';
import { parseConfFile } from '../../../../operator/config/conf-file.js';
import { parseDuration } from '../../../../operator/config/flags.js';
import { loadConfig, parseFlags } from '../../../../operator/config/index.js';

const sources = (argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) => ({
  argv,
  env,
  hostname: 'host',
  pid: 42,
  readFile: (p: string) => {
    const text = files[p];
    if (text === undefined) throw new Error('ENOENT: no such file');
    return text;
  },
});

test("defaults are Spiderpool's: ports 5722/5721/5720, leader election 15s/10s/2s, kube-system", () => {
  const c = loadConfig(sources([]));
  expect(c).toMatchObject({
    webhookPort: 5722,
    metricsPort: 5721,
    healthPort: 5720,
    leaderElect: true,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    namespace: 'kube-system',
    identity: 'host-42',
  });
  expect(c.ipam.enableKubevirtStaticIP).toBe(true);
});

test('flags take both --name=value and --name value; the pod environment fills identity and namespace', () => {
  const c = loadConfig(
    sources(
      [
        '--kubeconfig',
        '/k',
        '--webhook-port=6000',
        '--leader-elect=false',
        '--webhook-url-host',
        '127.0.0.1',
      ],
      {
        POD_NAME: 'op-1',
        POD_NAMESPACE: 'spider',
      },
    ),
  );
  expect(c).toMatchObject({
    kubeconfig: '/k',
    webhookPort: 6000,
    leaderElect: false,
    webhookUrlHost: '127.0.0.1',
    identity: 'op-1',
    namespace: 'spider',
  });
  expect(parseFlags(['--leader-elect']).leaderElect).toBe(true);
});

test.each([
  [['--webhook-port=http'], "flag --webhook-port: expected a port number 0-65535, got 'http'"],
  [['--webhook-port=70000'], "flag --webhook-port: expected a port number 0-65535, got '70000'"],
  [['--leader-elect=yes'], "flag --leader-elect: expected true or false, got 'yes'"],
  [['--lease-duration=soon'], "flag --lease-duration: expected a duration such as 15s or 500ms, got 'soon'"],
  [['--log-level=loud'], "flag --log-level: expected debug, info, warn or error, got 'loud'"],
  [['--workers=0'], "flag --workers: expected a whole number 1-1000, got '0'"],
  [['--kubeconfg=/x'], 'unknown flag --kubeconfg (see --help)'],
  [['--kubeconfig'], 'flag --kubeconfig needs a value'],
  [['stray'], "unexpected argument 'stray' (flags look like --name=value; see --help)"],
])('bad flags %j are refused by name', (argv, message) => {
  expect(() => parseFlags(argv)).toThrow(message);
});

test('durations accept ms, s, m, h and plain seconds', () => {
  expect(parseDuration('1500ms')).toBe(1500);
  expect(parseDuration('15s')).toBe(15_000);
  expect(parseDuration('2m')).toBe(120_000);
  expect(parseDuration('1h')).toBe(3_600_000);
  expect(parseDuration('3')).toBe(3000);
  expect(parseDuration('-3s')).toBeUndefined();
});

test("conf.yml: Spiderpool's keys apply, unused ones are accepted, the rest are named", () => {
  const conf = [
    'ipamUnixSocketPath: /var/run/spidernet/spiderpool.sock',
    'enableIPv4: true',
    'enableIPv6: false',
    'enableKubevirtStaticIP: false',
    'enableSpiderSubnet: true',
    'clusterNetwork: macvlan',
    'gc: {enabled: false, intervalSeconds: 30}',
  ].join('\n');
  expect(parseConfFile(conf, 'conf.yml')).toMatchObject({
    enableIPv6: false,
    enableKubevirtStaticIP: false,
    gcEnabled: false,
    gcIntervalSeconds: 30,
    clusterNetwork: 'macvlan',
  });
  expect(parseConfFile('enableIPv4: true', 'conf.yml').clusterNetwork).toBeUndefined();
  expect(() => parseConfFile('enableIPV4: true', 'conf.yml')).toThrow("conf.yml: unknown key 'enableIPV4'");
  expect(() => parseConfFile('enableIPv4: "yes"', 'conf.yml')).toThrow(
    'conf.yml: enableIPv4: expected true or false, got "yes"',
  );
  expect(() => parseConfFile('gc: {intervalSeconds: 0}', 'conf.yml')).toThrow(
    /conf.yml: gc.intervalSeconds: .*, got 0/,
  );
  expect(() => parseConfFile('a: [', 'conf.yml')).toThrow(/conf.yml: not valid YAML/);
});

test('a missing config file is an error naming the flag and the path', () => {
  expect(() => loadConfig(sources(['--config=/etc/none.yml']))).toThrow(
    "flag --config: cannot read '/etc/none.yml': ENOENT: no such file",
  );
  expect(
    loadConfig(sources(['--config=/c.yml'], {}, { '/c.yml': 'enableStatefulSet: false' })).ipam
      .enableStatefulSet,
  ).toBe(false);
});

test('the conf.yml the installation writes is read as it is, including a user-provided TLS Secret', () => {
  const values = defaultValues('0.0.0');
  const conf = stringify(spiderpoolConf(values));
  const c = loadConfig(
    sources(['--config=/etc/spiderpool/conf.yml'], {}, { '/etc/spiderpool/conf.yml': conf }),
  );
  expect(c.ipam).toMatchObject({
    enableIPv4: values.ipam.enableIPv4,
    enableKubevirtStaticIP: values.ipam.enableKubevirtStaticIP,
    gcEnabled: values.ipam.gc.enabled,
    gcIntervalSeconds: values.ipam.gc.intervalSeconds,
  });
  expect(c.webhookTlsSecret).toBeUndefined();
  const withSecret = stringify(
    spiderpoolConf({ ...values, webhook: { ...values.webhook, tlsSecretName: 'my-tls' } }),
  );
  const files = { '/c.yml': withSecret };
  expect(loadConfig(sources(['--config=/c.yml'], {}, files)).webhookTlsSecret).toBe('my-tls');
  expect(
    loadConfig(sources(['--config=/c.yml', '--webhook-tls-secret=flag-tls'], {}, files)).webhookTlsSecret,
  ).toBe('flag-tls');
});
