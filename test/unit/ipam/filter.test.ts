import type { V1Pod } from '@kubernetes/client-node';
import fc from 'fast-check';
import type { LabelSelector, SpiderIPPool } from '../../../api/index.js';
import {
  describeSkipped,
  type FilterContext,
  filterInputsNeeded,
  filterPools,
  poolSkipReason,
} from '../../../ipam/filter/filters.js';
import { labelSelectorMatches } from '../../../ipam/filter/label-selector.js';
import { choosePools, planNics } from '../../../ipam/selection/choose.js';
import { affinityRank, sortPools } from '../../../ipam/sort/sort.js';
import { ipamErrorOf, pool } from './helpers.js';

describe('labelSelectorMatches', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each([
    [{}, true],
    [{ matchLabels: { app: 'web' } }, true],
    [{ matchLabels: { app: 'db' } }, false],
    [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    [{ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
  ] as [LabelSelector, boolean][])('%j → %s', (selector, expected) => {
    expect(labelSelectorMatches(selector, labels)).toBe(expected);
  });

  it.each([
    [{ key: 'a', operator: 'Gt', values: ['1'] }, 'sel.matchExpressions[0].operator: unknown operator "Gt"'],
    [{ key: 'a', operator: 'In' }, 'sel.matchExpressions[0]: operator In needs values'],
    [
      { key: 'a', operator: 'Exists', values: ['x'] },
      'sel.matchExpressions[0]: operator Exists takes no values',
    ],
  ])('refuses %j', (req, message) => {
    expect(ipamErrorOf(() => labelSelectorMatches({ matchExpressions: [req] }, {}, 'sel')).message).toBe(
      message,
    );
  });
});

const v4 = (name: string, extra: Partial<SpiderIPPool['spec']> = {}) =>
  pool(name, { subnet: '198.18.0.0/24', ...extra });

const thePod: V1Pod = {
  metadata: {
    name: 'web-1',
    namespace: 'shop',
    labels: { app: 'web' },
    annotations: {
      'v1.multus-cni.io/default-network': 'macvlan-0',
      'k8s.v1.cni.cncf.io/networks': 'vlan40, infra/vlan30@data1',
    },
  },
};

const ctx = (over: Partial<FilterContext> = {}): FilterContext => ({
  family: 4,
  nic: 'eth0',
  pod: thePod,
  nodeName: 'node-2',
  nodeLabels: { zone: 'a' },
  namespaceLabels: { team: 'shop' },
  multus: { multusNamespace: 'kube-system' },
  ...over,
});

describe('poolSkipReason', () => {
  it.each([
    ['usable', v4('p'), ctx(), undefined],
    [
      'terminating',
      { ...v4('p'), metadata: { name: 'p', deletionTimestamp: new Date() } },
      ctx(),
      'terminating',
    ],
    ['disabled', v4('p', { disable: true }), ctx(), 'disabled'],
    ['family', pool('p', { subnet: 'fd00::/64' }), ctx(), 'an IPv6 pool, IPv4 wanted'],
    ['nodeName', v4('p', { nodeName: ['node-1'] }), ctx(), 'nodeName does not include node-2'],
    [
      'nodeName wins over nodeAffinity',
      v4('p', { nodeName: ['node-2'], nodeAffinity: { matchLabels: { zone: 'b' } } }),
      ctx(),
      undefined,
    ],
    [
      'nodeAffinity',
      v4('p', { nodeAffinity: { matchLabels: { zone: 'b' } } }),
      ctx(),
      'nodeAffinity does not match the labels of node node-2',
    ],
    ['namespaceName', v4('p', { namespaceName: ['other'] }), ctx(), 'namespaceName does not include shop'],
    [
      'namespaceName wins over namespaceAffinity',
      v4('p', { namespaceName: ['shop'], namespaceAffinity: { matchLabels: { team: 'x' } } }),
      ctx(),
      undefined,
    ],
    [
      'namespaceAffinity',
      v4('p', { namespaceAffinity: { matchLabels: { team: 'x' } } }),
      ctx(),
      'namespaceAffinity does not match the labels of namespace shop',
    ],
    [
      'podAffinity',
      v4('p', { podAffinity: { matchLabels: { app: 'db' } } }),
      ctx(),
      'podAffinity does not match the labels of pod web-1',
    ],
    [
      'invalid selector',
      v4('p', { podAffinity: { matchExpressions: [{ key: 'a', operator: 'Gt' }] } }),
      ctx(),
      'invalid spec.podAffinity.matchExpressions[0].operator: unknown operator "Gt"',
    ],
    [
      'multus default network, bare name in Multus namespace',
      v4('p', { multusName: ['macvlan-0'] }),
      ctx(),
      undefined,
    ],
    [
      'multus default network mismatch',
      v4('p', { multusName: ['kube-system/other'] }),
      ctx(),
      'multusName does not include kube-system/macvlan-0 (the network of eth0)',
    ],
    [
      'multus secondary by implicit name',
      v4('p', { multusName: ['shop/vlan40'] }),
      ctx({ nic: 'net1' }),
      undefined,
    ],
    [
      'multus secondary by interface',
      v4('p', { multusName: ['infra/vlan30'] }),
      ctx({ nic: 'data1' }),
      undefined,
    ],
    [
      'multus by position',
      v4('p', { multusName: ['infra/vlan30'] }),
      ctx({ nic: 'x', position: 2 }),
      undefined,
    ],
    [
      'multus unknown NIC',
      v4('p', { multusName: ['infra/vlan30'] }),
      ctx({ nic: 'net7' }),
      'multusName cannot be checked: no network in k8s.v1.cni.cncf.io/networks is attached as net7',
    ],
  ] as [string, SpiderIPPool, FilterContext, string | undefined][])('%s', (_, p, c, reason) => {
    expect(poolSkipReason(p, c)).toBe(reason);
  });

  it('does not need a default network for pools without multusName (Spiderpool 1.2 filters them all)', () => {
    const bare: V1Pod = { metadata: { name: 'x', namespace: 'shop' } };
    expect(poolSkipReason(v4('p'), ctx({ pod: bare }))).toBeUndefined();
  });

  it('asks for node or namespace labels only when a pool needs them', () => {
    expect(filterInputsNeeded([v4('a'), v4('b', { nodeName: ['n'], nodeAffinity: {} })])).toEqual({
      nodeLabels: false,
      namespaceLabels: false,
    });
    expect(filterInputsNeeded([v4('a', { nodeAffinity: {} }), v4('b', { namespaceAffinity: {} })])).toEqual({
      nodeLabels: true,
      namespaceLabels: true,
    });
    const { nodeLabels: _, ...withoutNode } = ctx();
    expect(ipamErrorOf(() => poolSkipReason(v4('p', { nodeAffinity: {} }), withoutNode)).field).toBe(
      'nodeLabels',
    );
  });

  it('words skipped pools for events', () => {
    const { skipped } = filterPools([v4('vlan40-v4', { nodeName: ['node-1'] })], ctx());
    expect(skipped.map(describeSkipped)).toEqual([
      'pool vlan40-v4 skipped: nodeName does not include node-2',
    ]);
  });
});

describe('sortPools', () => {
  const pools = [
    v4('plain-b'),
    v4('multus', { multusName: ['x'] }),
    v4('ns-aff', { namespaceAffinity: {} }),
    v4('plain-a'),
    v4('pod-node', { podAffinity: {}, nodeName: ['n'] }),
    v4('ns-name', { namespaceName: ['n'] }),
    v4('node-aff', { nodeAffinity: {} }),
    v4('pod', { podAffinity: {} }),
    v4('node-name', { nodeName: ['n'] }),
  ];

  it("ranks by Spiderpool's affinity precedence, then the user's order, then the name", () => {
    const names = (ps: SpiderIPPool[]) => ps.map((p) => p.metadata.name);
    expect(names(sortPools(pools, ['plain-b', 'plain-a']))).toEqual([
      'pod-node',
      'pod',
      'node-name',
      'node-aff',
      'ns-name',
      'ns-aff',
      'multus',
      'plain-b',
      'plain-a',
    ]);
    expect(names(sortPools(pools)).slice(-2)).toEqual(['plain-a', 'plain-b']);
    expect(affinityRank(v4('x'))).toEqual([false, false, false, false, false, false]);
  });

  it('gives the same order for any permutation of the input', () => {
    const arbPool = fc
      .record({
        podAffinity: fc.boolean(),
        nodeName: fc.boolean(),
        nodeAffinity: fc.boolean(),
        namespaceName: fc.boolean(),
        namespaceAffinity: fc.boolean(),
        multusName: fc.boolean(),
      })
      .map((f) => {
        const spec: SpiderIPPool['spec'] = { subnet: '198.18.0.0/24' };
        if (f.podAffinity) spec.podAffinity = {};
        if (f.nodeName) spec.nodeName = ['n'];
        if (f.nodeAffinity) spec.nodeAffinity = {};
        if (f.namespaceName) spec.namespaceName = ['n'];
        if (f.namespaceAffinity) spec.namespaceAffinity = {};
        if (f.multusName) spec.multusName = ['m'];
        return spec;
      });
    const arbPools = fc
      .uniqueArray(fc.stringMatching(/^[a-z]{1,4}$/), { minLength: 1, maxLength: 12 })
      .chain((names) =>
        fc.tuple(fc.tuple(...names.map((n) => arbPool.map((spec) => pool(n, spec)))), fc.subarray(names)),
      )
      .chain(([ps, order]) =>
        fc.tuple(fc.constant(ps), fc.constant(order), fc.shuffledSubarray(ps, { minLength: ps.length })),
      );
    fc.assert(
      fc.property(arbPools, ([ps, order, shuffled]) => {
        const a = sortPools(ps, order).map((p) => p.metadata.name);
        const b = sortPools(shuffled, order).map((p) => p.metadata.name);
        expect(b).toEqual(a);
        // Rank never increases along the sorted list.
        const ranks = sortPools(ps, order).map((p) => affinityRank(p).map(Number).join(''));
        expect([...ranks].sort().reverse()).toEqual(ranks);
      }),
    );
  });
});

describe('choosePools and planNics', () => {
  const all = [
    v4('vlan40-v4', { nodeName: ['node-1'] }),
    v4('vlan30-v4'),
    v4('vlan20-v4', { podAffinity: { matchLabels: { app: 'web' } } }),
    pool('vlan40-v6', { subnet: 'fd00::/64' }),
  ];

  it('looks up, filters and sorts, keeping the reasons of skipped pools', () => {
    const choice = choosePools(['vlan40-v4', 'vlan30-v4', 'gone', 'vlan20-v4'], all, ctx());
    expect(choice.pools.map((p) => p.metadata.name)).toEqual(['vlan20-v4', 'vlan30-v4']);
    expect(choice.skipped).toEqual([
      { pool: 'gone', reason: 'not found' },
      { pool: 'vlan40-v4', reason: 'nodeName does not include node-2' },
    ]);
  });

  it('fails with every reason when nothing is usable', () => {
    const error = ipamErrorOf(() => choosePools(['vlan40-v4', 'vlan40-v6'], all, ctx()));
    expect(error.code).toBe('NoCandidatePool');
    expect(error.message).toBe(
      'no usable IPv4 pool for eth0: pool vlan40-v4 skipped: nodeName does not include node-2; pool vlan40-v6 skipped: an IPv6 pool, IPv4 wanted',
    );
  });

  it('plans every family of every NIC', () => {
    const { family: _f, nic: _n, ...base } = ctx();
    const plan = planNics(
      [
        { nic: 'eth0', cleanGateway: false, ipv4: ['vlan30-v4'], ipv6: ['vlan40-v6'] },
        { nic: 'net1', cleanGateway: true, position: 1, ipv4: ['vlan20-v4'] },
      ],
      all,
      base,
    );
    expect(
      plan.map((p) => [p.nic, p.position, p.cleanGateway, p.families.map((f) => [f.family, f.pools.length])]),
    ).toEqual([
      [
        'eth0',
        undefined,
        false,
        [
          [4, 1],
          [6, 1],
        ],
      ],
      ['net1', 1, true, [[4, 1]]],
    ]);
  });
});
