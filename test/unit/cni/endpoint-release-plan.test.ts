// What becomes of SpiderEndpoints after ADDs and releases, and what a release gives back, on plain
// objects.
import type { V1OwnerReference, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { IPAllocationDetail, SpiderEndpoint } from '../../../api/index.js';
import { endpointAfterAdd, endpointAfterRelease } from '../../../cni/allocation/endpoint-plan.js';
import { planRelease, releaseSubject } from '../../../cni/allocation/release-plan.js';
import type { ReleaseRequest } from '../../../cni/allocation/requests.js';
import type { Identity } from '../../../ipam/identity/identity.js';
import type { NicNetwork } from '../../../ipam/network/nic-network.js';
import type { PoolRecord } from '../../../ipam/records/codec.js';
import { cniFailure, switches } from './helpers.js';

const stateless: Identity = {
  namespace: 'ns',
  name: 'p1',
  key: 'ns/p1',
  static: false,
  kind: 'stateless',
  ownerControllerType: 'Deployment',
  ownerControllerName: 'web',
  podName: 'p1',
  podUid: 'u1',
  endpointOwnedByPod: true,
};
const vm: Identity = {
  ...stateless,
  name: 'vm1',
  key: 'ns/vm1',
  static: true,
  kind: 'kubevirt-vm',
  ownerControllerType: 'VirtualMachineInstance',
  ownerControllerName: 'vm1',
  podName: 'virt-launcher-vm1-x',
  podUid: 'u2',
  endpointOwnedByPod: false,
};

const net = (nic: string, ip: string): NicNetwork => ({
  nic,
  cleanGateway: false,
  ips: [{ family: 4, address: `${ip}/24`, ip, prefix: 24, gateway: '10.1.0.1', pool: 'a' }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
});

const detail = (nic: string, ip: string): IPAllocationDetail => ({
  interface: nic,
  vlan: 0,
  ipv4: `${ip}/24`,
  ipv4Pool: 'a',
  ipv4Gateway: '10.1.0.1',
  cleanGateway: false,
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
});

function endpoint(
  name: string,
  uid: string,
  ips: IPAllocationDetail[],
  extra: Partial<SpiderEndpoint['metadata']> = {},
): SpiderEndpoint {
  return {
    metadata: {
      namespace: 'ns',
      name,
      uid: `se-${name}`,
      resourceVersion: '3',
      finalizers: ['spiderpool.spidernet.io'],
      ...extra,
    },
    status: {
      current: { uid, node: 'n0', ips },
      ownerControllerType: 'Deployment',
      ownerControllerName: 'web',
    },
  };
}

describe('endpointAfterAdd', () => {
  test('a new stateless endpoint: finalizer, ownerReference to the Pod, the pod as holder', () => {
    expect(endpointAfterAdd(undefined, stateless, 'n1', [net('eth0', '10.1.0.5')])).toEqual({
      kind: 'write',
      endpoint: {
        apiVersion: 'spiderpool.spidernet.io/v2beta1',
        kind: 'SpiderEndpoint',
        metadata: {
          name: 'p1',
          namespace: 'ns',
          finalizers: ['spiderpool.spidernet.io'],
          ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p1', uid: 'u1' }],
        },
        status: {
          current: { uid: 'u1', node: 'n1', ips: [detail('eth0', '10.1.0.5')] },
          ownerControllerType: 'Deployment',
          ownerControllerName: 'web',
        },
      },
    });
  });

  test('the same pod adds a NIC; nothing changed is no write; an earlier pod of the name is replaced', () => {
    const mine = endpoint('p1', 'u1', [detail('eth0', '10.1.0.5')], {
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p1', uid: 'u1' }],
    });
    const added = endpointAfterAdd(mine, stateless, 'n0', [net('net1', '10.1.0.6')]);
    expect(added.kind === 'write' && added.endpoint.status?.current.ips.map((e) => e.interface)).toEqual([
      'eth0',
      'net1',
    ]);
    expect(added.kind === 'write' && added.endpoint.metadata.resourceVersion).toBe('3');
    expect(endpointAfterAdd(mine, stateless, 'n0', [net('eth0', '10.1.0.5')])).toEqual({ kind: 'none' });
    const old = endpoint('p1', 'u-old', [detail('eth0', '10.1.0.9'), detail('net1', '10.1.0.8')], {
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p1', uid: 'u-old' }],
    });
    const replaced = endpointAfterAdd(old, stateless, 'n1', [net('eth0', '10.1.0.5')]);
    expect(replaced.kind === 'write' && replaced.endpoint.status?.current).toEqual({
      uid: 'u1',
      node: 'n1',
      ips: [detail('eth0', '10.1.0.5')],
    });
    expect(replaced.kind === 'write' && replaced.endpoint.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Pod', name: 'p1', uid: 'u1' },
    ]);
  });

  test("a static identity's new pod becomes the holder and keeps the other NICs; no ownerReference", () => {
    const held = endpoint('vm1', 'u-old', [detail('eth0', '10.1.0.5'), detail('net1', '10.1.0.6')]);
    const change = endpointAfterAdd(held, vm, 'n2', [net('eth0', '10.1.0.5')]);
    expect(change.kind).toBe('write');
    if (change.kind !== 'write') return;
    expect(change.endpoint.status?.current).toMatchObject({ uid: 'u2', node: 'n2' });
    expect(change.endpoint.status?.current.ips.map((e) => e.interface)).toEqual(['eth0', 'net1']);
    expect(change.endpoint.metadata.ownerReferences).toBeUndefined();
  });

  test('an endpoint being deleted is a try-again-later', () => {
    const terminating = endpoint('p1', 'u-old', [], { deletionTimestamp: new Date() });
    expect(cniFailure(() => endpointAfterAdd(terminating, stateless, 'n1', []))).toMatchObject({ code: 11 });
  });
});

describe('endpointAfterRelease', () => {
  const two = endpoint('p1', 'u1', [detail('eth0', '10.1.0.5'), detail('net1', '10.1.0.6')]);

  test("only the released pod's endpoint is touched", () => {
    expect(endpointAfterRelease(two, { podUid: 'u-other', deleteWhenEmpty: true })).toEqual({ kind: 'none' });
    expect(endpointAfterRelease(undefined, { podUid: 'u1', deleteWhenEmpty: true })).toEqual({
      kind: 'none',
    });
  });

  test('DEL: the finalizer goes; the endpoint too when the pod is gone', () => {
    const kept = endpointAfterRelease(two, { podUid: 'u1', deleteWhenEmpty: false });
    expect(kept.kind === 'write' && kept.endpoint.metadata.finalizers).toEqual([]);
    expect(kept.kind === 'write' && kept.endpoint.status?.current.ips).toHaveLength(2);
    expect(endpointAfterRelease(two, { podUid: 'u1', deleteWhenEmpty: true })).toMatchObject({
      kind: 'delete',
      endpoint: { metadata: { finalizers: [] } },
    });
  });

  test('GC of one NIC, or a conflict on one address, takes out only that', () => {
    const gc = endpointAfterRelease(two, { podUid: 'u1', nic: 'net1', deleteWhenEmpty: true });
    expect(gc.kind === 'write' && gc.endpoint.status?.current.ips.map((e) => e.interface)).toEqual(['eth0']);
    expect(gc.kind === 'write' && gc.endpoint.metadata.finalizers).toEqual(['spiderpool.spidernet.io']);
    const dual = endpoint('p1', 'u1', [{ ...detail('eth0', '10.1.0.5'), ipv6: 'fd00::5/64', ipv6Pool: 'b' }]);
    const conflict = endpointAfterRelease(dual, {
      podUid: 'u1',
      nic: 'eth0',
      ips: ['10.1.0.5'],
      deleteWhenEmpty: true,
    });
    expect(conflict.kind === 'write' && conflict.endpoint.status?.current.ips).toEqual([
      {
        interface: 'eth0',
        vlan: 0,
        cleanGateway: false,
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
        ipv6: 'fd00::5/64',
        ipv6Pool: 'b',
      },
    ]);
    const single = endpoint('p1', 'u1', [detail('eth0', '10.1.0.5')]);
    expect(endpointAfterRelease(single, { podUid: 'u1', nic: 'eth0', deleteWhenEmpty: true })).toMatchObject({
      kind: 'delete',
      endpoint: { status: { current: { ips: [] } } },
    });
  });
});

describe('releaseSubject and planRelease', () => {
  const del = (name: string, uid?: string, over: Partial<ReleaseRequest> = {}): ReleaseRequest => ({
    verb: 'RELEASE',
    reason: 'DEL',
    pod: { namespace: 'ns', name, ...(uid ? { uid } : {}) },
    switches,
    ...over,
  });
  const podOf = (name: string, uid: string, owner?: V1OwnerReference, phase = 'Running'): V1Pod => ({
    metadata: { namespace: 'ns', name, uid, ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: { containers: [], restartPolicy: 'Never' },
    status: { phase },
  });
  const none = () => [];
  const record = (pod: string, podUid: string): PoolRecord => ({
    ip: '10.1.0.5',
    value: 1n,
    pod,
    podUid,
    nic: 'eth0',
  });
  const vmi: V1OwnerReference = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    name: 'vm1',
    uid: 'x',
    controller: true,
  };
  const sts: V1OwnerReference = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    name: 'web',
    uid: 'y',
    controller: true,
  };
  const statefulSet = (replicas: number): V1StatefulSet => ({
    metadata: { name: 'web' },
    spec: { replicas } as never,
  });

  test('no UID from anywhere, or a pod still alive: nothing is released', () => {
    expect(releaseSubject(del('p1'), undefined, none)).toEqual({
      keep: expect.objectContaining({ because: 'pod-unknown' }),
    });
    expect(releaseSubject(del('p1', 'u1'), podOf('p1', 'u1'), none)).toEqual({
      keep: expect.objectContaining({ because: 'pod-alive' }),
    });
    // A conflict releases what a live pod just got.
    expect(releaseSubject(del('p1', 'u1', { reason: 'conflict' }), podOf('p1', 'u1'), none)).toMatchObject({
      subject: { kind: 'stateless' },
    });
  });

  test('a finished pod releases what its UID holds, and its endpoint loses the finalizer only', () => {
    const subject = releaseSubject(del('p1', 'u1'), podOf('p1', 'u1', undefined, 'Succeeded'), none);
    if (!('subject' in subject)) throw new Error('expected a subject');
    expect(subject.subject).toMatchObject({ name: 'p1', kind: 'stateless', podPresent: true });
    expect(planRelease(del('p1', 'u1'), subject.subject, {})).toEqual({
      kind: 'release',
      owner: 'ns/p1',
      requests: [{ owner: 'ns/p1', podUid: 'u1' }],
      endpoint: { podUid: 'u1', deleteWhenEmpty: false },
      reason: 'pod ns/p1 is not alive',
    });
  });

  test('a pod that is gone: a VM identity is found from the records and kept while the VM is valid', () => {
    const subject = releaseSubject(del('virt-launcher-vm1-x', 'u2'), undefined, () => [
      record('ns/vm1', 'u2'),
    ]);
    if (!('subject' in subject)) throw new Error('expected a subject');
    expect(subject.subject).toMatchObject({ name: 'vm1', kind: 'kubevirt-vm', podPresent: false });
    const vmiObject = { metadata: { name: 'vm1' } };
    expect(planRelease(del('virt-launcher-vm1-x', 'u2'), subject.subject, { vmi: vmiObject })).toMatchObject({
      kind: 'keep',
      because: 'identity-valid',
    });
    expect(planRelease(del('virt-launcher-vm1-x', 'u2'), subject.subject, {})).toMatchObject({
      kind: 'release',
      owner: 'ns/vm1',
      endpoint: { deleteWhenEmpty: true },
      reason: 'the VMI is gone and the VM is gone',
    });
  });

  test('a pod that is gone with a StatefulSet-like name: its endpoint or its StatefulSet decides', () => {
    const subject = releaseSubject(del('web-1', 'u3'), undefined, none);
    if (!('subject' in subject)) throw new Error('expected a subject');
    expect(subject.subject).toMatchObject({ kind: 'statefulset-or-stateless', statefulSet: 'web' });
    expect(planRelease(del('web-1', 'u3'), subject.subject, { statefulSet: statefulSet(2) })).toMatchObject({
      kind: 'keep',
    });
    expect(planRelease(del('web-1', 'u3'), subject.subject, { statefulSet: statefulSet(1) })).toMatchObject({
      kind: 'release',
    });
    const deploymentEndpoint = endpoint('web-1', 'u3', []);
    expect(
      planRelease(del('web-1', 'u3'), subject.subject, {
        statefulSet: statefulSet(2),
        endpoint: deploymentEndpoint,
      }),
    ).toMatchObject({ kind: 'release' });
  });

  test("an identity the attachment record names, and a present StatefulSet pod's own controller", () => {
    const hinted = releaseSubject(
      del('virt-launcher-vm1-x', 'u2', { identity: { key: 'ns/vm1', static: true } }),
      undefined,
      none,
    );
    expect(hinted).toMatchObject({ subject: { name: 'vm1', kind: 'kubevirt-vm' } });
    const present = releaseSubject(del('web-0', 'u4'), podOf('web-0', 'u4', sts, 'Failed'), none);
    expect(present).toMatchObject({ subject: { name: 'web-0', kind: 'statefulset', statefulSet: 'web' } });
    const vmPod = releaseSubject(
      del('virt-launcher-vm1-x', 'u2'),
      podOf('virt-launcher-vm1-x', 'u2', vmi, 'Failed'),
      none,
    );
    expect(vmPod).toMatchObject({ subject: { name: 'vm1', kind: 'kubevirt-vm' } });
  });

  test('GC releases one NIC; a conflict releases the given addresses even of a valid identity', () => {
    const subject = {
      podUid: 'u2',
      namespace: 'ns',
      podName: 'x',
      name: 'vm1',
      kind: 'kubevirt-vm' as const,
      podPresent: true,
    };
    const conflict = del('x', 'u2', { reason: 'conflict', nic: 'eth0', ips: ['10.1.0.5', '10.1.0.6'] });
    expect(planRelease(conflict, subject, { vmi: { metadata: { name: 'vm1' } } })).toMatchObject({
      kind: 'release',
      requests: [
        { owner: 'ns/vm1', podUid: 'u2', nic: 'eth0', ip: '10.1.0.5' },
        { owner: 'ns/vm1', podUid: 'u2', nic: 'eth0', ip: '10.1.0.6' },
      ],
      reason: 'address conflict',
    });
    const gc = planRelease(
      del('p1', 'u1', { reason: 'GC', nic: 'net1' }),
      { ...subject, name: 'p1', kind: 'stateless', podPresent: false },
      {},
    );
    expect(gc).toMatchObject({
      requests: [{ owner: 'ns/p1', podUid: 'u2', nic: 'net1' }],
      endpoint: { nic: 'net1', deleteWhenEmpty: true },
    });
  });
});
