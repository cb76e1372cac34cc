import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import type { SpiderIPPool } from '../../../api/index.js';
import { parseIPPoolsAnnotation } from '../../../ipam/candidates/annotations.js';
import { type CandidateInput, podNamesPools, selectCandidates } from '../../../ipam/candidates/candidates.js';
import { compileWildcard, expandPoolList, hasWildcard } from '../../../ipam/candidates/wildcard.js';
import { ipamErrorOf, pool } from './helpers.js';

describe('wildcards (Go filepath.Match semantics)', () => {
  it.each([
    ['vlan*', 'vlan40-v4', true],
    ['vlan*', 'avlan', false],
    ['vlan??-v4', 'vlan40-v4', true],
    ['vlan?-v4', 'vlan40-v4', false],
    ['vlan[34]0-*', 'vlan30-v6', true],
    ['vlan[^34]0-*', 'vlan30-v6', false],
    ['vlan[0-9]*', 'vlan7', true],
    ['vlan\\*', 'vlan*', true],
    ['vlan\\*', 'vlanX', false],
    ['a.b', 'axb', false],
  ])('%s matches %s: %s', (pattern, name, matches) => {
    expect(compileWildcard(pattern).test(name)).toBe(matches);
  });

  it.each([['vlan[40'], ['vlan\\'], ['[]'], ['[a-]'], ['[-a]'], ['[z-a]']])(
    'refuses the malformed pattern %s',
    (p) => {
      expect(ipamErrorOf(() => compileWildcard(p, 'f')).message).toMatch(/^f: bad pattern/);
    },
  );

  it('tells patterns from names', () => {
    expect(hasWildcard('vlan-40')).toBe(false);
    expect(hasWildcard('vlan-[4]0')).toBe(true);
  });

  it('expands in the given order, patterns to sorted matches, without repeating a name', () => {
    const pools = ['v-c', 'v-a', 'w-1', 'v-b'];
    expect(expandPoolList(['w-1', 'v-*', 'v-a'], pools, 'x')).toEqual(['w-1', 'v-a', 'v-b', 'v-c']);
    expect(expandPoolList(['none-*'], pools, 'x')).toEqual([]);
  });

  it('refuses a name written twice, naming the entry', () => {
    const error = ipamErrorOf(() => expandPoolList(['a', 'b', 'a'], [], 'ipam.spidernet.io/ippool.ipv4'));
    expect(error.message).toBe('ipam.spidernet.io/ippool.ipv4[2]: pool "a" is listed twice');
  });
});

describe('annotation parsing', () => {
  it.each([
    ['[{"interface":"eth0","ipv4":"v4"}]', 'ipam.spidernet.io/ippools[0].ipv4: expected an array of strings'],
    ['[{"interface":"eth0"},{"ipv4":[1]}]', 'ipam.spidernet.io/ippools[1].ipv4[0]: expected a string'],
    ['[{"interfce":"eth0"}]', 'ipam.spidernet.io/ippools[0].interfce: unknown key'],
    ['[{"cleangateway":"yes"}]', 'ipam.spidernet.io/ippools[0].cleangateway: expected true or false'],
    ['{"interface":"eth0"}', 'ipam.spidernet.io/ippools: expected an array'],
    ['[{', /^ipam.spidernet.io\/ippools: not valid JSON/],
  ])('reports %s as %s', (text, message) => {
    expect(ipamErrorOf(() => parseIPPoolsAnnotation(text)).message).toMatch(message);
  });
});

const v4 = (name: string, extra: Partial<SpiderIPPool['spec']> = {}) =>
  pool(name, { subnet: '198.18.0.0/24', ...extra });
const v6 = (name: string, extra: Partial<SpiderIPPool['spec']> = {}) =>
  pool(name, { subnet: 'fd00::/64', ...extra });

const allPools = [
  v4('vlan40-v4'),
  v4('vlan30-v4'),
  v6('vlan40-v6'),
  v6('vlan30-v6'),
  v4('default-v4', { default: true }),
  v4('default-b-v4', { default: true }),
  v6('default-v6', { default: true }),
];

function podWith(annotations: Record<string, string> = {}): V1Pod {
  return { metadata: { name: 'p', namespace: 'ns', uid: 'u', annotations } };
}

const ns = (annotations: Record<string, string> = {}): V1Namespace => ({
  metadata: { name: 'ns', annotations },
});

function input(over: Partial<CandidateInput>): CandidateInput {
  return {
    ifName: 'eth0',
    pod: podWith(),
    namespace: ns(),
    enableIPv4: true,
    enableIPv6: true,
    pools: allPools,
    ...over,
  };
}

describe('selectCandidates', () => {
  it('takes the pod ippools annotation first, planning every named NIC', () => {
    const pod = podWith({
      'ipam.spidernet.io/ippools': JSON.stringify([
        { interface: 'eth0', ipv4: ['vlan40-v4'], ipv6: ['vlan40-v6'] },
        { interface: 'net1', ipv4: ['vlan3*'], cleangateway: true },
      ]),
      'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['ignored'] }),
    });
    const c = selectCandidates(input({ pod, ifName: 'net1' }));
    expect(c.source).toBe('pod-ippools');
    expect(c.nics).toEqual([
      { nic: 'eth0', cleanGateway: false, ipv4: ['vlan40-v4'], ipv6: ['vlan40-v6'] },
      { nic: 'net1', cleanGateway: true, ipv4: ['vlan30-v4'] },
    ]);
    expect(c.current.nic).toBe('net1');
  });

  it('maps unnamed ippools items to NICs by position, using Multus interface names', () => {
    const pod = podWith({
      'ipam.spidernet.io/ippools': JSON.stringify([
        { ipv4: ['vlan40-v4'] },
        { ipv4: ['vlan30-v4'] },
        { ipv6: ['vlan30-v6'] },
      ]),
      'k8s.v1.cni.cncf.io/networks': 'macvlan-a, other/macvlan-b@data0',
    });
    const c = selectCandidates(input({ pod, ifName: 'data0' }));
    expect(c.nics.map((n) => [n.nic, n.position])).toEqual([
      ['eth0', 0],
      ['net1', 1],
      ['data0', 2],
    ]);
    expect(c.current).toMatchObject({ nic: 'data0', ipv6: ['vlan30-v6'] });
  });

  it.each([
    [
      [{ interface: 'eth0', ipv4: ['a'] }, { ipv4: ['b'] }],
      'eth0',
      /either every item names its interface or none/,
    ],
    [
      [
        { interface: 'eth0', ipv4: ['a'] },
        { interface: 'eth0', ipv4: ['b'] },
      ],
      'eth0',
      /interface eth0 is listed twice/,
    ],
    [[{ interface: 'eth0', ipv4: ['vlan40-v4'] }], 'net1', /interface net1 is not listed/],
    [[], 'eth0', /expected at least one item/],
    [
      [{ interface: 'eth0', ipv4: ['vlan40-v4', 'vlan40-v4'] }],
      'eth0',
      /ippools\[0\].ipv4\[1\]: pool "vlan40-v4" is listed twice/,
    ],
  ])('enforces the ippools rules: %j for %s', (items, ifName, message) => {
    const pod = podWith({ 'ipam.spidernet.io/ippools': JSON.stringify(items) });
    expect(ipamErrorOf(() => selectCandidates(input({ pod, ifName }))).message).toMatch(message);
  });

  it('takes the pod ippool annotation for the current NIC, cleanGateway from the CNI config', () => {
    const pod = podWith({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['vlan*-v4'] }) });
    const c = selectCandidates(input({ pod, ifName: 'net2', cniConfig: { cleanGateway: true } }));
    expect(c).toMatchObject({ source: 'pod-ippool', current: { nic: 'net2', cleanGateway: true } });
    expect(c.current.ipv4).toEqual(['vlan30-v4', 'vlan40-v4']);
    expect(c.current.ipv6).toBeUndefined();
  });

  it('falls back to the namespace annotations, then the CNI config, then spec.default pools', () => {
    const nsPools = ns({ 'ipam.spidernet.io/default-ipv6-ippool': '["vlan40-v6"]' });
    expect(selectCandidates(input({ namespace: nsPools })).current).toEqual({
      nic: 'eth0',
      cleanGateway: false,
      ipv6: ['vlan40-v6'],
    });
    const cniConfig = { defaultIPv4IPPool: ['vlan30-v4'], defaultIPv6IPPool: ['vlan30-v6'] };
    expect(selectCandidates(input({ cniConfig })).current).toMatchObject({
      ipv4: ['vlan30-v4'],
      ipv6: ['vlan30-v6'],
    });
    expect(selectCandidates(input({ cniConfig, namespace: nsPools })).source).toBe('namespace');
    const c = selectCandidates(input({}));
    expect(c.source).toBe('cluster-default');
    expect(c.current).toMatchObject({ ipv4: ['default-b-v4', 'default-v4'], ipv6: ['default-v6'] });
  });

  it('drops a disabled family and skips a family with no pools', () => {
    const pod = podWith({
      'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['vlan40-v4'], ipv6: ['vlan40-v6'] }),
    });
    expect(selectCandidates(input({ pod, enableIPv6: false })).current).toEqual({
      nic: 'eth0',
      cleanGateway: false,
      ipv4: ['vlan40-v4'],
    });
    const v6only = podWith({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv6: ['vlan40-v6'] }) });
    expect(ipamErrorOf(() => selectCandidates(input({ pod: v6only, enableIPv6: false }))).code).toBe(
      'NoCandidatePool',
    );
  });

  it('matches wildcards only against pools of the family, and reports a pattern that matches nothing', () => {
    const pod = podWith({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['vlan40-*'] }) });
    expect(selectCandidates(input({ pod })).current.ipv4).toEqual(['vlan40-v4']);
    const none = podWith({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv6: ['*-v4'] }) });
    expect(ipamErrorOf(() => selectCandidates(input({ pod: none }))).message).toBe(
      'ipam.spidernet.io/ippool.ipv6: no IPv6 pool matches ["*-v4"]',
    );
  });

  it('names the namespace annotation when it is malformed', () => {
    const bad = ns({ 'ipam.spidernet.io/default-ipv4-ippool': '"vlan40-v4"' });
    expect(ipamErrorOf(() => selectCandidates(input({ namespace: bad }))).message).toBe(
      'ipam.spidernet.io/default-ipv4-ippool: expected an array of strings',
    );
  });

  it('says so when no rule applies at all', () => {
    const c = () => selectCandidates(input({ pools: [v4('plain')] }));
    expect(ipamErrorOf(c)).toMatchObject({
      code: 'NoCandidatePool',
      message: expect.stringMatching(/no pool selection rule/),
    });
  });

  it('needs the namespace only when the pod names no pools', () => {
    expect(podNamesPools(podWith())).toBe(false);
    expect(podNamesPools(podWith({ 'ipam.spidernet.io/ippool': '{}' }))).toBe(true);
    const { namespace: _, ...rest } = input({});
    expect(ipamErrorOf(() => selectCandidates(rest)).field).toBe('namespace');
  });
});
