// Which pools a batch reads for each kind of request, decided before any pool is read: the pools a
// pod's annotations, its namespace or the CNI configuration name, the pools its endpoint names, the
// spec.default ones only under Spiderpool's rule 5, and for a release the pools its records are in.
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import type { SpiderEndpoint } from '../../../api/index.js';
import {
  addNeeds,
  clusterDefaultNeeds,
  endpointPools,
  mergeNeeds,
  poolsMatching,
  releasePools,
  selectionNeeds,
} from '../../../cni/allocation/pool-needs.js';
import type { ReleaseRequest } from '../../../cni/allocation/requests.js';
import { selectCandidates } from '../../../ipam/candidates/candidates.js';
import type { Identity } from '../../../ipam/identity/identity.js';
import { pool as poolOf } from '../ipam/helpers.js';
import { addRequest, switches } from './helpers.js';

const releaseRequest = (over: Partial<ReleaseRequest> = {}): ReleaseRequest => ({
  verb: 'RELEASE',
  reason: 'DEL',
  pod: { namespace: 'ns', name: 'p1', uid: 'u1' },
  ifname: 'eth0',
  switches,
  ...over,
});

const pod = (annotations: Record<string, string> = {}): V1Pod => ({
  metadata: { namespace: 'ns', name: 'p1', uid: 'u1', annotations },
});

const namespace = (annotations: Record<string, string> = {}): V1Namespace => ({
  metadata: { name: 'ns', annotations },
});

const identity = (over: Partial<Identity> = {}): Identity => ({
  namespace: 'ns',
  name: 'p1',
  key: 'ns/p1',
  static: false,
  kind: 'stateless',
  ownerControllerType: 'Pod',
  ownerControllerName: 'p1',
  podName: 'p1',
  podUid: 'u1',
  endpointOwnedByPod: true,
  ...over,
});

function endpoint(uid: string, entries: { nic: string; v4?: string; v6?: string }[]): SpiderEndpoint {
  return {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderEndpoint',
    metadata: { namespace: 'ns', name: 'p1' },
    status: {
      current: {
        uid,
        node: 'n1',
        ips: entries.map((e) => ({
          interface: e.nic,
          ...(e.v4 ? { ipv4Pool: e.v4, ipv4: '198.18.0.10/24' } : {}),
          ...(e.v6 ? { ipv6Pool: e.v6, ipv6: 'fd00::10/64' } : {}),
        })),
      },
    },
  } as SpiderEndpoint;
}

const defaults = {
  ifName: 'eth0',
  defaultIPv4Pools: [],
  defaultIPv6Pools: [],
  enableIPv4: true,
  enableIPv6: true,
};
const sorted = (n: { names: string[]; patterns: string[]; defaults: boolean }) => ({
  names: [...n.names].sort(),
  patterns: [...n.patterns].sort(),
  defaults: n.defaults,
});

describe('selectionNeeds: the first of Spiderpool rules 1-5 that says anything', () => {
  it('reads every pool of every NIC that ipam.spidernet.io/ippools names, and nothing else', () => {
    const annotations = {
      'ipam.spidernet.io/ippools': JSON.stringify([
        { interface: 'eth0', ipv4: ['a4'], ipv6: ['a6'] },
        { interface: 'net1', ipv4: ['b4', 'a4'] },
      ]),
      'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['ignored'] }),
    };
    const needs = selectionNeeds({ ...defaults, pod: pod(annotations), namespace: namespace() });
    expect(sorted(needs)).toEqual({ names: ['a4', 'a6', 'b4'], patterns: [], defaults: false });
  });

  it('takes ipam.spidernet.io/ippool when the pod has no ippools annotation', () => {
    const needs = selectionNeeds({
      ...defaults,
      pod: pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['v4'], ipv6: ['v6'] }) }),
    });
    expect(sorted(needs)).toEqual({ names: ['v4', 'v6'], patterns: [], defaults: false });
  });

  it('leaves out the lists of a disabled family', () => {
    const needs = selectionNeeds({
      ...defaults,
      enableIPv6: false,
      pod: pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['v4'], ipv6: ['v6'] }) }),
    });
    expect(needs.names).toEqual(['v4']);
  });

  it('splits wildcard entries from names', () => {
    const needs = selectionNeeds({
      ...defaults,
      pod: pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['v4-*', 'exact'] }) }),
    });
    expect(needs).toEqual({ names: ['exact'], patterns: ['v4-*'], defaults: false });
  });

  it('uses the namespace defaults when the pod names no pools', () => {
    const ns = namespace({ 'ipam.spidernet.io/default-ipv4-ippool': '["ns-v4"]' });
    const needs = selectionNeeds({ ...defaults, defaultIPv4Pools: ['cni-v4'], pod: pod(), namespace: ns });
    expect(needs).toEqual({ names: ['ns-v4'], patterns: [], defaults: false });
  });

  it('falls through to the CNI defaults, then to spec.default pools (rule 5)', () => {
    const cni = selectionNeeds({
      ...defaults,
      defaultIPv4Pools: ['cni-v4'],
      pod: pod(),
      namespace: namespace(),
    });
    expect(cni).toEqual({ names: ['cni-v4'], patterns: [], defaults: false });
    const rule5 = selectionNeeds({ ...defaults, pod: pod(), namespace: namespace() });
    expect(rule5).toEqual({ names: [], patterns: [], defaults: true });
  });

  it('needs no pools for an annotation that cannot be parsed (selection reports it, naming the annotation)', () => {
    const needs = selectionNeeds({ ...defaults, pod: pod({ 'ipam.spidernet.io/ippool': '{not json' }) });
    expect(needs).toEqual({ names: [], patterns: [], defaults: false });
  });
});

describe('selectionNeeds reads every pool selectCandidates may choose (both from selectionRule)', () => {
  const pools = [
    poolOf('a4', { subnet: '198.18.0.0/24' }),
    poolOf('b4', { subnet: '198.18.1.0/24', default: true }),
    poolOf('v-x4', { subnet: '198.18.2.0/24' }),
    poolOf('a6', { subnet: 'fd00::/64' }),
    poolOf('b6', { subnet: 'fd00:1::/64', default: true }),
  ];
  const names = pools.map((p) => p.metadata.name ?? '');
  const ns = (a: Record<string, string> = {}) => namespace(a);
  it.each([
    ['pod ippools', pod({ 'ipam.spidernet.io/ippools': '[{"ipv4":["a4"],"ipv6":["a6"]}]' }), ns(), []],
    ['pod ippool with a wildcard', pod({ 'ipam.spidernet.io/ippool': '{"ipv4":["v-*"]}' }), ns(), []],
    ['namespace defaults', pod(), ns({ 'ipam.spidernet.io/default-ipv6-ippool': '["a6"]' }), ['b4']],
    ['CNI defaults', pod(), ns(), ['a4']],
    ['spec.default pools', pod(), ns(), []],
  ] as const)('%s', (_what, p, n, cniV4) => {
    const chosen = selectCandidates({
      ifName: 'eth0',
      pod: p,
      namespace: n,
      cniConfig: { defaultIPv4IPPool: cniV4 },
      enableIPv4: true,
      enableIPv6: true,
      pools,
    }).current;
    const needs = selectionNeeds({ ...defaults, defaultIPv4Pools: cniV4, pod: p, namespace: n });
    const read = new Set([
      ...needs.names,
      ...poolsMatching(needs.patterns, names),
      ...(needs.defaults ? pools.filter((x) => x.spec.default).map((x) => x.metadata.name ?? '') : []),
    ]);
    const picked = [...(chosen.ipv4 ?? []), ...(chosen.ipv6 ?? [])];
    expect(picked.length).toBeGreaterThan(0);
    for (const name of picked) expect(read).toContain(name);
  });
});

describe('clusterDefaultNeeds (what STATUS judges)', () => {
  it('reads the configured defaults by name, else the spec.default pools', () => {
    expect(clusterDefaultNeeds({ ...defaults, defaultIPv6Pools: ['v6'] })).toEqual({
      names: ['v6'],
      patterns: [],
      defaults: false,
    });
    expect(clusterDefaultNeeds(defaults).defaults).toBe(true);
  });
});

describe('addNeeds', () => {
  it('reads only the endpoint pools when the endpoint already serves this interface (a retried ADD)', () => {
    const needs = addNeeds({
      request: addRequest(),
      pod: pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['other'] }) }),
      identity: identity(),
      endpoint: endpoint('u1', [{ nic: 'eth0', v4: 'kept-v4', v6: 'kept-v6' }]),
    });
    expect(sorted(needs)).toEqual({ names: ['kept-v4', 'kept-v6'], patterns: [], defaults: false });
  });

  it('adds the selection for an interface the endpoint does not serve yet (another NIC)', () => {
    const needs = addNeeds({
      request: addRequest({ ifname: 'net1' }),
      pod: pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['sel'] }) }),
      identity: identity(),
      endpoint: endpoint('u1', [{ nic: 'eth0', v4: 'kept' }]),
    });
    expect(sorted(needs)).toEqual({ names: ['kept', 'sel'], patterns: [], defaults: false });
  });

  it("does not let a stateless pod be served by an earlier pod's endpoint, but still reads its pools", () => {
    const needs = addNeeds({
      request: addRequest(),
      pod: pod(),
      namespace: namespace(),
      identity: identity(),
      endpoint: endpoint('old-uid', [{ nic: 'eth0', v4: 'stale' }]),
    });
    expect(needs).toEqual({ names: ['stale'], patterns: [], defaults: true });
  });

  it("lets a static identity's new pod be served by the endpoint of the old one", () => {
    const needs = addNeeds({
      request: addRequest(),
      pod: pod(),
      namespace: namespace(),
      identity: identity({ static: true, kind: 'kubevirt-vm', name: 'vm1', key: 'ns/vm1' }),
      endpoint: endpoint('old-uid', [{ nic: 'eth0', v4: 'vm-pool' }]),
    });
    expect(needs).toEqual({ names: ['vm-pool'], patterns: [], defaults: false });
  });
});

describe('poolsMatching', () => {
  it('returns the names matching any pattern, in name order, and ignores a malformed pattern', () => {
    const all = ['web-b', 'db-1', 'web-a', 'web-a'];
    expect(poolsMatching(['web-*'], all)).toEqual(['web-a', 'web-b']);
    expect(poolsMatching(['nothing-*'], all)).toEqual([]);
  });
});

describe('endpointPools and mergeNeeds', () => {
  it('names each pool of every NIC and family once', () => {
    const ep = endpoint('u1', [
      { nic: 'eth0', v4: 'a', v6: 'b' },
      { nic: 'net1', v4: 'a' },
    ]);
    expect(endpointPools(ep).sort()).toEqual(['a', 'b']);
    expect(endpointPools(undefined)).toEqual([]);
    const merged = mergeNeeds(
      { names: ['a'], patterns: ['x-*'], defaults: false },
      { names: ['a', 'b'], patterns: ['x-*'], defaults: true },
    );
    expect(merged).toEqual({ names: ['a', 'b'], patterns: ['x-*'], defaults: true });
  });
});

describe('releasePools: where the records of a release are', () => {
  it('trusts the attachment record of the answered ADD', () => {
    expect(releasePools(releaseRequest({ pools: ['p4', 'p6'] }), 'u1', [])).toEqual({
      kind: 'named',
      names: ['p4', 'p6'],
    });
  });

  it("trusts the pod's endpoint when it has an entry for the interface, and adds every endpoint's pools", () => {
    const own = endpoint('u1', [{ nic: 'eth0', v4: 'own' }]);
    const other = endpoint('u0', [{ nic: 'eth0', v4: 'identity' }]);
    const where = releasePools(releaseRequest(), 'u1', [own, other]);
    expect(where.kind).toBe('named');
    expect(where.kind === 'named' && [...where.names].sort()).toEqual(['identity', 'own']);
  });

  it('scans when no record and no endpoint of this pod UID tell (a leader killed between its writes)', () => {
    const stale = endpoint('u0', [{ nic: 'eth0', v4: 'p' }]);
    const where = releasePools(releaseRequest(), 'u1', [stale, undefined]);
    expect(where.kind).toBe('scan');
    expect(where.kind === 'scan' && where.reason).toContain('pod UID u1');
  });

  it('scans when the endpoint of this UID has no entry for the released interface', () => {
    const own = endpoint('u1', [{ nic: 'eth0', v4: 'p' }]);
    expect(releasePools(releaseRequest({ ifname: 'net1' }), 'u1', [own]).kind).toBe('scan');
  });
});
