// The ADD decisions on plain objects: who holds the addresses, whether they come from the endpoint or
// are allocated, which pools in which order, and what the result of a NIC carries.
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { SpiderEndpoint, SpiderIPPool, VirtualMachineInstanceMigration } from '../../../api/index.js';
import {
  type AddInput,
  migrationInProgress,
  networksOf,
  planAdd,
  resultOf,
  wantsOf,
} from '../../../cni/allocation/add-plan.js';
import { IpamError } from '../../../ipam/errors.js';
import { pool } from '../ipam/helpers.js';
import { addRequest, cniFailure, switches } from './helpers.js';

const request = addRequest;

function pod(
  over: {
    name?: string;
    uid?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    owner?: V1OwnerReference;
  } = {},
): V1Pod {
  return {
    metadata: {
      namespace: 'ns',
      name: over.name ?? 'p1',
      uid: over.uid ?? 'u1',
      ...(over.annotations ? { annotations: over.annotations } : {}),
      ...(over.labels ? { labels: over.labels } : {}),
      ...(over.owner ? { ownerReferences: [over.owner] } : {}),
    },
    spec: { containers: [] },
    status: { phase: 'Pending' },
  };
}

const v4a = pool('v4a', { subnet: '10.1.0.0/24', ips: ['10.1.0.10-10.1.0.20'], gateway: '10.1.0.1' });
const v4b = pool('v4b', {
  subnet: '10.2.0.0/24',
  ips: ['10.2.0.10-10.2.0.20'],
  gateway: '10.2.0.1',
  routes: [{ dst: '10.9.0.0/16', gw: '10.2.0.254' }],
});
const v6a = pool('v6a', { subnet: 'fd00:1::/64', ips: ['fd00:1::10-fd00:1::20'], gateway: 'fd00:1::1' });
const pools: SpiderIPPool[] = [v4a, v4b, v6a];
const byName = new Map(pools.map((p) => [p.metadata.name ?? '', p]));

const input = (over: Partial<AddInput> = {}): AddInput => ({
  request: request(),
  nodeName: 'node1',
  multus: { multusNamespace: 'kube-system' },
  pod: pod({
    annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['v4b', 'v4a'], ipv6: ['v6a'] }) },
  }),
  pools,
  ...over,
});

const vmiOwner: V1OwnerReference = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  name: 'vm1',
  uid: 'vmi-uid',
  controller: true,
};
const stsOwner: V1OwnerReference = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  name: 'web',
  uid: 'sts-uid',
  controller: true,
};

function endpoint(
  name: string,
  uid: string,
  ips: NonNullable<SpiderEndpoint['status']>['current']['ips'],
): SpiderEndpoint {
  return {
    metadata: { namespace: 'ns', name, resourceVersion: '7' },
    status: { current: { uid, node: 'node0', ips }, ownerControllerType: 'Pod', ownerControllerName: name },
  };
}

const entry = {
  interface: 'eth0',
  ipv4: '10.1.0.15/24',
  ipv4Pool: 'v4a',
  ipv4Gateway: '10.1.0.1',
  cleanGateway: false,
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
};

describe('planAdd', () => {
  test('a stateless pod gets an allocation plan: families in order, pools in the user order', () => {
    const plan = planAdd(input());
    expect(plan).toMatchObject({
      kind: 'allocate',
      source: 'allocated',
      identity: { key: 'ns/p1', kind: 'stateless', static: false, podUid: 'u1' },
      nics: [
        {
          nic: 'eth0',
          cleanGateway: false,
          families: [
            { family: 4, pools: ['v4b', 'v4a'] },
            { family: 6, pools: ['v6a'] },
          ],
        },
      ],
      probe: false,
    });
    if (plan.kind !== 'allocate') throw new Error('expected allocate');
    expect(wantsOf(3, plan)).toEqual([
      {
        request: 3,
        nic: 'eth0',
        family: 4,
        pools: ['v4b', 'v4a'],
        owner: 'ns/p1',
        podUid: 'u1',
        takeOver: false,
      },
      { request: 3, nic: 'eth0', family: 6, pools: ['v6a'], owner: 'ns/p1', podUid: 'u1', takeOver: false },
    ]);
  });

  test('pods that are gone, finished or of another UID get nothing, with the reason', () => {
    const deleting = pod();
    deleting.metadata = { ...deleting.metadata, deletionTimestamp: new Date() };
    expect(cniFailure(() => planAdd(input({ pod: deleting })))).toMatchObject({
      code: 106,
      message: 'pod ns/p1: the pod is being deleted; it gets no address',
    });
    expect(cniFailure(() => planAdd(input({ pod: pod({ uid: 'u2' }) })))).toMatchObject({
      code: 106,
      message: expect.stringContaining('has UID u2, CNI_ARGS K8S_POD_UID names u1'),
    });
  });

  test('a retried ADD (same pod UID, entry for the NIC) is served from the endpoint; a stale endpoint is not', () => {
    const served = planAdd(input({ endpoint: endpoint('p1', 'u1', [entry]) }));
    expect(served).toMatchObject({
      kind: 'allocate',
      source: 'endpoint',
      nics: [{ nic: 'eth0', families: [{ family: 4, pools: ['v4a'] }], stored: entry }],
    });
    const stale = planAdd(input({ endpoint: endpoint('p1', 'u-old', [entry]) }));
    expect(stale).toMatchObject({ kind: 'allocate', source: 'allocated' });
  });

  test('a StatefulSet pod of a new UID takes its endpoint over (static identity)', () => {
    const p = pod({
      name: 'web-0',
      uid: 'u9',
      owner: stsOwner,
      annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['v4a'] }) },
    });
    const plan = planAdd(
      input({
        request: request({ pod: { namespace: 'ns', name: 'web-0', uid: 'u9' } }),
        pod: p,
        endpoint: endpoint('web-0', 'u-old', [entry]),
      }),
    );
    expect(plan).toMatchObject({
      kind: 'allocate',
      source: 'endpoint',
      identity: { kind: 'statefulset', static: true, podUid: 'u9' },
    });
    if (plan.kind !== 'allocate') throw new Error('expected allocate');
    expect(wantsOf(0, plan)[0]).toMatchObject({ takeOver: true, owner: 'ns/web-0', podUid: 'u9' });
  });

  test('ipam.spidernet.io/ippools plans every NIC; NICs the endpoint holds for the pod are left alone', () => {
    const p = pod({
      annotations: {
        'ipam.spidernet.io/ippools': JSON.stringify([
          { interface: 'eth0', ipv4: ['v4a'] },
          { interface: 'net1', ipv4: ['v4b'], cleangateway: true },
        ]),
      },
    });
    expect(planAdd(input({ pod: p }))).toMatchObject({
      nics: [
        { nic: 'eth0', cleanGateway: false, families: [{ family: 4, pools: ['v4a'] }] },
        { nic: 'net1', cleanGateway: true, families: [{ family: 4, pools: ['v4b'] }] },
      ],
    });
    const held = { ...entry, interface: 'net1', ipv4Pool: 'v4b', ipv4: '10.2.0.11/24' };
    const plan = planAdd(input({ pod: p, endpoint: endpoint('p1', 'u1', [held]) }));
    expect(plan).toMatchObject({ source: 'allocated', nics: [{ nic: 'eth0' }] });
    // ... and the NIC the endpoint holds is served from it by its own ADD.
    expect(
      planAdd(
        input({ pod: p, request: request({ ifname: 'net1' }), endpoint: endpoint('p1', 'u1', [held]) }),
      ),
    ).toMatchObject({ source: 'endpoint' });
  });

  test('a KubeVirt launcher pod: the VM identity must be valid; a migration target is served from the endpoint only', () => {
    const launcher = pod({
      name: 'virt-launcher-vm1-abcde',
      uid: 'u5',
      owner: vmiOwner,
      annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['v4a'] }) },
    });
    const base = {
      request: request({ pod: { namespace: 'ns', name: 'virt-launcher-vm1-abcde', uid: 'u5' } }),
      pod: launcher,
    };
    expect(
      cniFailure(() =>
        planAdd(
          input({ ...base, vmValidity: { valid: false, reason: 'the VMI is gone and the VM is gone' } }),
        ),
      ),
    ).toMatchObject({
      code: 106,
      message:
        'VM ns/vm1: the VMI is gone and the VM is gone; launcher pod ns/virt-launcher-vm1-abcde gets no address',
    });
    const valid = { valid: true, reason: 'the VMI exists' };
    const se = endpoint('vm1', 'u-source', [entry]);
    expect(planAdd(input({ ...base, vmValidity: valid, endpoint: se }))).toMatchObject({
      kind: 'allocate',
      source: 'endpoint',
      identity: { key: 'ns/vm1', kind: 'kubevirt-vm' },
    });
    const migrating = planAdd(input({ ...base, vmValidity: valid, endpoint: se, activeMigration: true }));
    expect(migrating).toMatchObject({
      kind: 'migration-source',
      network: { nic: 'eth0', ips: [{ address: '10.1.0.15/24', gateway: '10.1.0.1' }] },
    });
    expect(
      cniFailure(() => planAdd(input({ ...base, vmValidity: valid, activeMigration: true }))),
    ).toMatchObject({ code: 11 });
  });

  test('with enableKubevirtStaticIP off a launcher pod is stateless', () => {
    const launcher = pod({
      name: 'virt-launcher-vm1-abcde',
      owner: vmiOwner,
      annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['v4a'] }) },
    });
    const plan = planAdd(
      input({
        pod: launcher,
        request: request({
          pod: { namespace: 'ns', name: 'virt-launcher-vm1-abcde', uid: 'u1' },
          switches: { ...switches, enableKubevirtStaticIP: false },
        }),
      }),
    );
    expect(plan).toMatchObject({ identity: { key: 'ns/virt-launcher-vm1-abcde', kind: 'stateless' } });
  });

  test('bad annotations are the core errors naming the field; the CNI config defaults apply when the pod names none', () => {
    const bad = pod({ annotations: { 'ipam.spidernet.io/routes': '[{"dst":"10.0.0.0/8"}]' } });
    expect(() => planAdd(input({ pod: bad }))).toThrow(IpamError);
    const plain = planAdd(
      input({
        pod: pod(),
        namespace: { metadata: { name: 'ns' } },
        request: request({ defaultIPv4Pools: ['v4*'] }),
      }),
    );
    expect(plain).toMatchObject({ nics: [{ families: [{ family: 4, pools: ['v4a', 'v4b'] }] }] });
  });
});

describe("planAdd and Multus: a pool's multusName against the node configuration's networks", () => {
  const mv = pool('mv', { subnet: '10.3.0.0/24', ips: ['10.3.0.10-10.3.0.20'], multusName: ['macvlan'] });
  const naming = pod({ annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['mv'] }) } });
  const plan =
    (multus: AddInput['multus'], p = naming) =>
    () =>
      planAdd(input({ pod: p, pools: [mv], multus }));

  test("a bare multusName is in Spiderpool's namespace, and the cluster default network names eth0's", () => {
    expect(plan({ multusNamespace: 'spiderpool', clusterDefaultNetwork: 'macvlan' })()).toMatchObject({
      nics: [{ nic: 'eth0', families: [{ family: 4, pools: ['mv'] }] }],
    });
    expect(
      plan({ multusNamespace: 'spiderpool', clusterDefaultNetwork: 'spiderpool/macvlan' })(),
    ).toMatchObject({
      nics: [{ families: [{ pools: ['mv'] }] }],
    });
  });

  test('another namespace, or no cluster default network, leaves the pool out, saying why', () => {
    expect(plan({ multusNamespace: 'kube-system', clusterDefaultNetwork: 'spiderpool/macvlan' })).toThrow(
      'multusName does not include spiderpool/macvlan',
    );
    expect(plan({ multusNamespace: 'spiderpool' })).toThrow(
      /multusName cannot be checked: eth0 uses the cluster default network and none is set/,
    );
  });

  test("the pod's default-network annotation wins over the cluster default network", () => {
    const annotated = pod({
      annotations: {
        'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['mv'] }),
        'v1.multus-cni.io/default-network': 'macvlan',
      },
    });
    expect(
      plan({ multusNamespace: 'spiderpool', clusterDefaultNetwork: 'other' }, annotated)(),
    ).toMatchObject({
      nics: [{ families: [{ pools: ['mv'] }] }],
    });
  });
});

describe('networksOf and resultOf', () => {
  test('new addresses are built from their pools; addresses the endpoint still records keep its routes', () => {
    const p = pod({
      annotations: { 'ipam.spidernet.io/routes': JSON.stringify([{ dst: '10.50.0.0/16', gw: '10.2.0.9' }]) },
    });
    const plan = planAdd(
      input({
        pod: p,
        namespace: { metadata: { name: 'ns' } },
        request: request({ defaultIPv4Pools: ['v4b'] }),
      }),
    );
    if (plan.kind !== 'allocate') throw new Error('expected allocate');
    const held = () => ({
      kind: 'allocated' as const,
      pool: 'v4b',
      family: 4 as const,
      ip: '10.2.0.10',
      address: '10.2.0.10/24',
      prefix: 24,
    });
    const { networks, unmatchedRoutes } = networksOf(plan, held, byName);
    expect(unmatchedRoutes).toEqual([]);
    expect(resultOf(networks[0] as never)).toEqual({
      ips: [{ address: '10.2.0.10/24', gateway: '10.2.0.1' }],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.2.0.1' },
        { dst: '10.9.0.0/16', gw: '10.2.0.254' },
        { dst: '10.50.0.0/16', gw: '10.2.0.9' },
      ],
    });

    const storedEntry = {
      ...entry,
      routes: [
        { dst: '0.0.0.0/0', gw: '10.1.0.1' },
        { dst: '10.77.0.0/16', gw: '10.1.0.7' },
      ],
    };
    const fromEndpoint = planAdd(input({ endpoint: endpoint('p1', 'u1', [storedEntry]) }));
    if (fromEndpoint.kind !== 'allocate') throw new Error('expected allocate');
    const same = () => ({
      kind: 'reused' as const,
      pool: 'v4a',
      family: 4 as const,
      ip: '10.1.0.15',
      address: '10.1.0.15/24',
      prefix: 24,
    });
    expect(networksOf(fromEndpoint, same, byName).networks[0]?.routes).toEqual(storedEntry.routes);
    // The record was lost and the pool gave another address: the NIC is built afresh.
    const other = () => ({
      kind: 'allocated' as const,
      pool: 'v4a',
      family: 4 as const,
      ip: '10.1.0.16',
      address: '10.1.0.16/24',
      prefix: 24,
    });
    expect(networksOf(fromEndpoint, other, byName).networks[0]).toMatchObject({
      ips: [{ address: '10.1.0.16/24' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
    });
  });
});

describe('migrationInProgress', () => {
  const target = pod({
    annotations: { 'kubevirt.io/migrationJobName': 'mig1' },
    labels: { 'kubevirt.io/migrationJobUID': 'mig-uid' },
  });
  const migration = (phase: string, uid = 'mig-uid'): VirtualMachineInstanceMigration => ({
    metadata: { name: 'mig1', uid },
    status: { phase },
  });

  test.each([
    ['a running migration that the label names', target, migration('Scheduling'), true],
    ['no migration object', target, undefined, false],
    [
      'a finished migration (the pod was the target of an earlier one)',
      target,
      migration('Succeeded'),
      false,
    ],
    ['a failed migration', target, migration('Failed'), false],
    ['another migration of the same name', target, migration('Running', 'other-uid'), false],
    ['a pod without marks', pod(), migration('Running'), false],
  ])('%s', (_what, p, m, expected) => {
    expect(migrationInProgress(p, m)).toBe(expected);
  });
});
