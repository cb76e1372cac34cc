import pc from 'picocolors';
import type { SpiderIPPool, SpiderSubnet } from '../../../../api/index.js';
import {
  percent,
  renderAudit,
  renderHoldings,
  renderUsage,
  serialize,
  table,
  usageBar,
} from '../../../../operator/ctl/format.js';
import { isCtlInvocation } from '../../../../operator/ctl/main.js';
import { addressArgument, type Holding, usageReport } from '../../../../operator/ctl/report.js';

const plain = pc.createColors(false);

function pool(
  name: string,
  subnet: string,
  ips: string[],
  records: Record<string, string> = {},
): SpiderIPPool {
  const allocated = Object.fromEntries(
    Object.entries(records).map(([ip, owner]) => [ip, { pod: owner, podUid: `uid-${ip}` }]),
  );
  return { metadata: { name }, spec: { subnet, ips }, status: { allocatedIPs: JSON.stringify(allocated) } };
}

const subnet = (name: string, cidr: string, ips: string[]): SpiderSubnet => ({
  metadata: { name },
  spec: { subnet: cidr, ips },
});

test('the usage bar fills in proportion and turns yellow at 80%, red at 95%', () => {
  expect(usageBar(0, 10, plain)).toBe('░░░░░░░░░░');
  expect(usageBar(0.25, 8, plain)).toBe('██░░░░░░');
  expect(usageBar(1.5, 4, plain)).toBe('████');
  const colored = pc.createColors(true);
  expect(usageBar(0.5, 2, colored)).toBe(colored.green('█░'));
  expect(usageBar(0.8, 5, colored)).toBe(colored.yellow('████░'));
  expect(usageBar(0.95, 4, colored)).toBe(colored.red('████'));
  expect(percent(0.2)).toBe('20.0%');
  expect(percent(0.04567)).toBe('4.6%');
});

test('tables look like kubectl get: upper-case heads, columns three spaces apart, no borders', () => {
  expect(
    table(
      ['name', 'n'],
      [
        ['a', '1'],
        ['longer', '22'],
      ],
    ),
  ).toBe('NAME     N\na        1\nlonger   22\n');
});

test('pool usage counts records against |ips − excludeIPs|; a subnet sums its pools', () => {
  const books = {
    pools: [
      pool('b-v6', 'fd00::/64', ['fd00::1-fd00::ffff:ffff:ffff']),
      pool('a', '198.18.0.0/24', ['198.18.0.10-198.18.0.19'], {
        '198.18.0.10': 'ns/x',
        '198.18.0.11': 'ns/y',
      }),
      {
        metadata: { name: 'broken' },
        spec: { subnet: 'nonsense', ips: [] },
        status: { allocatedIPCount: 1 },
      },
    ] as SpiderIPPool[],
    subnets: [subnet('s', '198.18.0.0/24', ['198.18.0.10-198.18.0.49'])],
    reservedIPs: [],
  };
  const report = usageReport(books);
  expect(report.pools.map((p) => p.name)).toEqual(['a', 'b-v6', 'broken']);
  expect(report.pools[0]).toEqual({
    name: 'a',
    family: 4,
    subnet: '198.18.0.0/24',
    allocated: 2,
    total: '10',
    free: '8',
    usage: 0.2,
    disabled: false,
  });
  expect(report.pools[1]).toMatchObject({ family: 6, allocated: 0, total: (2n ** 48n - 1n).toString() });
  expect(report.pools[2]).toMatchObject({
    allocated: 1,
    total: '0',
    error: expect.stringContaining('broken'),
  });
  expect(report.subnets).toEqual([
    { name: 's', subnet: '198.18.0.0/24', pools: ['a'], allocated: 2, total: '40', usage: 0.05 },
  ]);
  const text = renderUsage(report, { color: false });
  expect(text).toContain('POOL');
  expect(text).toMatch(/^a\s+198\.18\.0\.0\/24\s+2\s+10\s+8\s+20\.0%\s+████░{16}$/m);
  expect(text).toMatch(/^s\s+198\.18\.0\.0\/24\s+a\s+2\s+40\s+5\.0%/m);
  expect(text).not.toContain('\u001b[');
  expect(renderUsage({ pools: [], subnets: [] }, { color: false })).toBe('No SpiderIPPools.\n');
});

test('JSON and YAML carry the same data', () => {
  const data = { address: '198.18.0.1', holders: [] };
  expect(JSON.parse(serialize(data, 'json'))).toEqual(data);
  expect(serialize(data, 'yaml')).toBe('address: 198.18.0.1\nholders: []\n');
});

test('an address argument is read in either family and made canonical; anything else is named', () => {
  expect(addressArgument('fd00:0::0001')).toEqual({ ip: 'fd00::1', family: 6 });
  expect(addressArgument('198.18.0.1')).toEqual({ ip: '198.18.0.1', family: 4 });
  expect(() => addressArgument('198.18.0.1/24')).toThrow(
    'address "198.18.0.1/24" is not an IPv4 or IPv6 address',
  );
});

test('a holding reads as one block per record; an audit ends with its verdict', () => {
  const h: Holding = {
    address: '198.18.0.1',
    pool: 'p',
    nic: 'eth0',
    identity: 'ns/vm1',
    kind: 'kubevirt-vm',
    podUid: 'u1',
    pod: { namespace: 'ns', name: 'virt-launcher-vm1-x', phase: 'Running', node: 'n1' },
    vm: { namespace: 'ns', name: 'vm1', vm: 'present', vmi: 'present' },
    endpoint: { namespace: 'ns', name: 'vm1', node: 'n1', owner: 'VirtualMachineInstance/vm1' },
    node: 'n1',
    since: '2026-01-01T00:00:00.000Z',
    verdict: { release: false, reason: 'pod ns/virt-launcher-vm1-x is alive' },
  };
  expect(renderHoldings('198.18.0.1', [h], { color: false })).toBe(
    [
      'address:  198.18.0.1 on eth0',
      'pool:     p',
      'identity: ns/vm1 (kubevirt-vm)',
      'pod:      ns/virt-launcher-vm1-x uid u1, Running',
      'vm:       ns/vm1 (VM present, VMI present)',
      'endpoint: ns/vm1, owner VirtualMachineInstance/vm1',
      'node:     n1',
      'since:    2026-01-01T00:00:00.000Z',
      'verdict:  held: pod ns/virt-launcher-vm1-x is alive',
      '',
    ].join('\n'),
  );
  expect(renderHoldings('198.18.0.9', [], { color: false })).toBe(
    '198.18.0.9 is not allocated in any SpiderIPPool.\n',
  );

  const clean = { identities: 3, records: 4, findings: [], consistent: true, unreadable: [] };
  expect(renderAudit(clean, { color: false })).toBe('4 records of 3 identities checked: consistent\n');
  const leaked = renderAudit(
    {
      ...clean,
      consistent: false,
      findings: [
        {
          kind: 'reclaim',
          pool: 'p',
          ip: '198.18.0.2',
          owner: 'ns/a',
          podUid: 'u2',
          gcReason: 'pod-gone',
          reason: 'pod ns/a with UID u2 is gone',
        },
      ],
    },
    { color: false },
  );
  expect(leaked).toMatch(/^reclaim\s+198\.18\.0\.2\s+p\s+ns\/a\s+u2\s+pod ns\/a with UID u2 is gone$/m);
  expect(leaked).toMatch(/checked: 1 problem\n$/);
});

test('the operator executable runs the command line for a command word or under the kubectl plugin name', () => {
  expect(isCtlInvocation('/usr/local/bin/kubectl-spiderpool', ['--kubeconfig', 'x', 'pools'])).toBe(true);
  expect(isCtlInvocation('spiderpool-operator', ['check'])).toBe(true);
  expect(isCtlInvocation('spiderpool-operator', ['--kubeconfig', 'x'])).toBe(false);
  expect(isCtlInvocation('node', [])).toBe(false);
});
