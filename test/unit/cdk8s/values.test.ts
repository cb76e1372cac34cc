import { Value } from '@sinclair/typebox/value';
import { parseSynthArgs, splitSetList } from '../../../cdk8s/cli.js';
import { applySet, parseKey, resolveValues, ValuesError } from '../../../cdk8s/values/resolve.js';
import { defaultValues, ValuesSchema } from '../../../cdk8s/values/schema.js';
import { spiderpoolPluginDefaults } from '../spiderpool-defaults.js';

const resolve = (sets: string[] = [], files: Array<{ source: string; content: unknown }> = []) =>
  resolveValues({ version: '9.9.9', sets, files });

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ValuesError);
    return (err as Error).message;
  }
  throw new Error('expected a ValuesError');
}

describe('defaults', () => {
  test('satisfy the schema and match Spiderpool’s chart defaults', () => {
    const values = resolve();
    expect(Value.Check(ValuesSchema, values)).toBe(true);
    expect(values.ipam).toEqual({
      ...spiderpoolPluginDefaults,
      clusterSubnetDefaultFlexibleIPNumber: 1,
      gc: { enabled: true, intervalSeconds: 600 },
    });
    expect(values.namespace).toBe('kube-system');
    expect(values.image).toEqual({
      repository: 'ghcr.io/spiderpool-ts/spiderpool-ts',
      tag: '9.9.9',
      pullPolicy: 'IfNotPresent',
    });
    expect(values.operator.replicas).toBe(2);
    expect(values.cniBinDir).toBe('/opt/cni/bin');
  });
});

describe('--set', () => {
  test.each([
    [
      'ipam.enableKubevirtStaticIP=false',
      (v: ReturnType<typeof resolve>) => v.ipam.enableKubevirtStaticIP,
      false,
    ],
    ['ipam.enableStatefulSet=false', (v: ReturnType<typeof resolve>) => v.ipam.enableStatefulSet, false],
    [
      'ipam.enableIPConflictDetection=true',
      (v: ReturnType<typeof resolve>) => v.ipam.enableIPConflictDetection,
      true,
    ],
    ['ipam.gc.intervalSeconds=30', (v: ReturnType<typeof resolve>) => v.ipam.gc.intervalSeconds, 30],
    ['operator.replicas=3', (v: ReturnType<typeof resolve>) => v.operator.replicas, 3],
    ['image.tag=dev', (v: ReturnType<typeof resolve>) => v.image.tag, 'dev'],
    ['namespace=spiderpool', (v: ReturnType<typeof resolve>) => v.namespace, 'spiderpool'],
    ['cniBinDir=/var/lib/cni/bin', (v: ReturnType<typeof resolve>) => v.cniBinDir, '/var/lib/cni/bin'],
  ])('%s', (expression, read, expected) => {
    expect(read(resolve([expression]))).toBe(expected);
  });

  test('builds a list entry from several expressions, with the entry defaults', () => {
    const values = resolve([
      'multus.networkAttachmentDefinitions[0].name=macvlan-ens192',
      'multus.networkAttachmentDefinitions[0].master=ens192',
      'multus.networkAttachmentDefinitions[0].defaultIPv4IPPool={test-ippool,other}',
    ]);
    expect(values.multus.networkAttachmentDefinitions).toEqual([
      {
        name: 'macvlan-ens192',
        namespace: 'kube-system',
        type: 'macvlan',
        master: 'ens192',
        cniVersion: '0.3.1',
        defaultIPv4IPPool: ['test-ippool', 'other'],
        defaultIPv6IPPool: [],
      },
    ]);
  });

  test.each([
    ['ipam.enableKubevirtStaticIP=yes', 'ipam.enableKubevirtStaticIP must be true or false, not "yes"'],
    ['ipam.enableIPV4=true', 'unknown key ipam.enableIPV4'],
    ['nope=1', 'unknown key nope'],
    ['ipam.gc.intervalSeconds=soon', 'ipam.gc.intervalSeconds must be an integer, not "soon"'],
    [
      'ipam.gc.intervalSeconds=0',
      'ipam.gc.intervalSeconds: expected integer to be greater or equal to 1, got 0',
    ],
    ['operator.replicas=0', 'operator.replicas: expected integer to be greater or equal to 1, got 0'],
    [
      'image.pullPolicy=Sometimes',
      'image.pullPolicy must be one of IfNotPresent, Always, Never, not "Sometimes"',
    ],
    ['namespace=Kube_System', 'namespace: expected string to match'],
    ['cniBinDir=opt/cni/bin', 'cniBinDir: expected string to match'],
    ['ipam=false', 'ipam is a group of keys'],
    ['ipam.enableIPv4', '--set ipam.enableIPv4: expected key=value'],
    ['multus.networkAttachmentDefinitions[2].name=x', 'the list has 0 entries'],
    [
      'multus.networkAttachmentDefinitions[0].name=x',
      'multus.networkAttachmentDefinitions[0].master is required',
    ],
    [
      'operator.resources.requests.memory=128MB',
      'operator.resources.requests.memory: expected string to match',
    ],
  ])('%s is refused: %s', (expression, message) => {
    const text = errorOf(() => resolve([expression]));
    expect(text).toContain(message);
  });

  test('the error says which expression it came from', () => {
    expect(errorOf(() => resolve(['ipam.enableIPv6=true', 'ipam.bogus=1']))).toMatch(
      /^--set ipam\.bogus=1: /,
    );
  });

  test('keys parse into segments with list indexes', () => {
    expect(parseKey('a.b[0].c[12]')).toEqual(['a', 'b', 0, 'c', 12]);
    expect(() => parseKey('a..b')).toThrow('is not a key');
  });

  test('applySet changes only the key it names', () => {
    const values = defaultValues('1');
    applySet(values, 'ipam.enableIPv6=false');
    expect({ ...values, ipam: { ...values.ipam, enableIPv6: true } }).toEqual(defaultValues('1'));
  });
});

describe('values files', () => {
  test('merge over the defaults: objects merge, lists replace, entries get their defaults', () => {
    const values = resolve(
      ['ipam.enableIPv6=false'],
      [
        {
          source: 'site.yaml',
          content: {
            ipam: { enableIPv6: true, gc: { intervalSeconds: 120 } },
            multus: { networkAttachmentDefinitions: [{ name: 'macvlan-ens192', master: 'ens192' }] },
          },
        },
      ],
    );
    expect(values.ipam.gc).toEqual({ enabled: true, intervalSeconds: 120 });
    // --set comes after the files.
    expect(values.ipam.enableIPv6).toBe(false);
    expect(values.multus.networkAttachmentDefinitions[0]?.cniVersion).toBe('0.3.1');
  });

  test('an unknown key or bad value names the file, the key and the value', () => {
    const text = errorOf(() =>
      resolve([], [{ source: 'site.yaml', content: { ipam: { enableIPv6: 'no', bogus: 1 } } }]),
    );
    expect(text).toContain('values file site.yaml');
    expect(text).toContain('unknown key ipam.bogus');
    expect(text).toContain('ipam.enableIPv6: expected boolean, got "no"');
  });

  test('a file that is not a mapping is refused', () => {
    expect(errorOf(() => resolve([], [{ source: 'x.yaml', content: ['a'] }]))).toContain(
      'values file x.yaml: expected a mapping',
    );
  });
});

describe('rules between values', () => {
  const pool = [
    'clusterDefaultPool.installIPv4IPPool=true',
    'clusterDefaultPool.ipv4IPRanges={198.18.0.10-198.18.0.20}',
  ];

  test('a default pool with a good subnet, ranges and gateway passes', () => {
    const values = resolve([
      ...pool,
      'clusterDefaultPool.ipv4Subnet=198.18.0.0/16',
      'clusterDefaultPool.ipv4Gateway=198.18.0.1',
    ]);
    expect(values.clusterDefaultPool.installIPv4IPPool).toBe(true);
  });

  test.each([
    [
      ['clusterDefaultPool.ipv4Subnet=198.18.0.1/16'],
      'clusterDefaultPool.ipv4Subnet: "198.18.0.1/16" is not in canonical form; write 198.18.0.0/16',
    ],
    [
      ['clusterDefaultPool.ipv4Subnet=fd00::/64'],
      'clusterDefaultPool.ipv4Subnet: "fd00::/64" is not an IPv4 CIDR',
    ],
    [
      ['clusterDefaultPool.ipv4Subnet=198.19.0.0/16'],
      'clusterDefaultPool.ipv4IPRanges: "198.18.0.10-198.18.0.20" is not an address or range first-last inside 198.19.0.0/16',
    ],
    [
      ['clusterDefaultPool.ipv4Subnet=198.18.0.0/16', 'clusterDefaultPool.ipv4Gateway=10.0.0.1'],
      'clusterDefaultPool.ipv4Gateway: "10.0.0.1" is not an address inside 198.18.0.0/16',
    ],
    [
      ['clusterDefaultPool.ipv4Subnet=198.18.0.0/16', 'ipam.enableIPv4=false'],
      'clusterDefaultPool.installIPv4IPPool needs ipam.enableIPv4=true',
    ],
  ])('%j is refused', (extra, message) => {
    expect(errorOf(() => resolve([...pool, ...extra]))).toContain(message);
  });

  test('two NetworkAttachmentDefinitions with one name are refused', () => {
    const nad = (i: number) => [
      `multus.networkAttachmentDefinitions[${i}].name=macvlan-ens192`,
      `multus.networkAttachmentDefinitions[${i}].master=ens19${i}`,
    ];
    expect(errorOf(() => resolve([...nad(0), ...nad(1)]))).toContain(
      'multus.networkAttachmentDefinitions[1]: kube-system/macvlan-ens192 is defined twice',
    );
  });
});

describe('command line', () => {
  test('--set lists split at commas outside braces, -f and --values repeat', () => {
    const args = parseSynthArgs([
      '--set',
      'ipam.enableIPv6=false,multus.networkAttachmentDefinitions[0].defaultIPv4IPPool={a,b}',
      '--set=operator.replicas=3',
      '-f',
      'a.yaml',
      '--values',
      'b.yaml',
      '--output',
      '/tmp/out',
    ]);
    expect(args).toEqual({
      sets: [
        'ipam.enableIPv6=false',
        'multus.networkAttachmentDefinitions[0].defaultIPv4IPPool={a,b}',
        'operator.replicas=3',
      ],
      valuesFiles: ['a.yaml', 'b.yaml'],
      outputDir: '/tmp/out',
      crdsDir: 'crds',
      help: false,
    });
    expect(splitSetList('a={x,y},b=1,')).toEqual(['a={x,y}', 'b=1']);
  });

  test('an unknown flag is an error naming it', () => {
    expect(() => parseSynthArgs(['--sett', 'a=b'])).toThrow("Unknown option '--sett'");
  });
});
