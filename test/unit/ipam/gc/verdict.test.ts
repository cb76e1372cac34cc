import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { SpiderEndpoint, VirtualMachine, VirtualMachineInstance } from '../../../../api/index.js';
import { endpointVerdict, holderVerdict, type OwnerFacts, ownerKind } from '../../../../ipam/gc/verdict.js';
import { vmiRef } from '../helpers.js';

const switches = { enableKubevirtStaticIP: true, enableStatefulSet: true };
const now = Date.parse('2026-01-01T00:01:00Z');
const ctx = { switches, nowMs: now };

function pod(
  name: string,
  uid: string,
  extra: { meta?: object; spec?: object; status?: object } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', uid, ...(extra.meta ?? {}) },
    spec: { containers: [], nodeName: 'node-1', ...(extra.spec ?? {}) },
    status: { phase: 'Running', ...(extra.status ?? {}) },
  };
}

const stsRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts-uid', controller: true };
const launcher = (uid: string, extra: { meta?: object; status?: object } = {}) =>
  pod(`virt-launcher-vm1-${uid}`, uid, {
    meta: { ownerReferences: [vmiRef], ...(extra.meta ?? {}) },
    spec: { restartPolicy: 'Never' },
    status: extra.status,
  });
const vmi = (extra: object = {}): VirtualMachineInstance => ({
  metadata: { name: 'vm1', namespace: 'ns', ...extra },
});
const vm = (extra: object = {}): VirtualMachine => ({ metadata: { name: 'vm1', namespace: 'ns', ...extra } });
const sts = (replicas: number): V1StatefulSet => ({
  metadata: { name: 'db', namespace: 'ns' },
  spec: { replicas } as V1StatefulSet['spec'],
});

function facts(pods: V1Pod[], more: Omit<OwnerFacts, 'podByUid'> = {}): OwnerFacts {
  return { podByUid: (uid) => pods.find((p) => p.metadata?.uid === uid), ...more };
}

describe('stateless pods', () => {
  const owner = { namespace: 'ns', name: 'web' };

  test.each([
    ['a running pod keeps its addresses', pod('web', 'u1'), false, undefined],
    ['a pending pod keeps them', pod('web', 'u1', { status: { phase: 'Pending' } }), false, undefined],
    [
      'a failed pod that restarts keeps them',
      pod('web', 'u1', { spec: { restartPolicy: 'OnFailure' }, status: { phase: 'Failed' } }),
      false,
      undefined,
    ],
    [
      'an evicted pod gives them back',
      pod('web', 'u1', { status: { phase: 'Failed', reason: 'Evicted' } }),
      true,
      'pod-evicted',
    ],
    [
      'a finished Job pod gives them back',
      pod('web', 'u1', { spec: { restartPolicy: 'Never' }, status: { phase: 'Succeeded' } }),
      true,
      'pod-finished',
    ],
    [
      'a failed pod that never restarts gives them back',
      pod('web', 'u1', { spec: { restartPolicy: 'Never' }, status: { phase: 'Failed' } }),
      true,
      'pod-finished',
    ],
  ])('%s', (_what, holder, release, gcReason) => {
    const v = holderVerdict(owner, 'u1', facts([holder]), ctx);
    expect(v.release).toBe(release);
    if (v.release) {
      expect(v.gcReason).toBe(gcReason);
      expect(v.confirm).toBe(false);
    }
  });

  test('a terminating pod keeps them until its deletionTimestamp (the grace is already in it), then gives them back', () => {
    const terminating = pod('web', 'u1', {
      meta: { deletionTimestamp: '2026-01-01T00:01:30Z', deletionGracePeriodSeconds: 30 },
    });
    const within = holderVerdict(owner, 'u1', facts([terminating]), ctx);
    expect(within).toEqual({
      release: false,
      reason: 'pod ns/web is terminating; its grace period ends at 2026-01-01T00:01:30.000Z',
      recheckAtMs: Date.parse('2026-01-01T00:01:30Z'),
    });
    // Not deadline + grace: the deadline itself.
    const after = holderVerdict(owner, 'u1', facts([terminating]), {
      ...ctx,
      nowMs: Date.parse('2026-01-01T00:01:30Z'),
    });
    expect(after).toMatchObject({ release: true, gcReason: 'pod-terminating', confirm: false });
  });

  test('a pod that is gone gives them back, to be confirmed by a fresh read', () => {
    expect(holderVerdict(owner, 'u1', facts([]), ctx)).toEqual({
      release: true,
      reason: 'pod ns/web with UID u1 is gone',
      gcReason: 'pod-gone',
      confirm: true,
    });
  });

  test('a same-name successor does not keep the old UID alive, and is not judged itself', () => {
    const successor = pod('web', 'u2');
    const v = holderVerdict(owner, 'u1', facts([successor], { named: successor }), ctx);
    expect(v).toMatchObject({ release: true, gcReason: 'pod-gone' });
    expect(holderVerdict(owner, 'u2', facts([successor], { named: successor }), ctx).release).toBe(false);
  });
});

describe('KubeVirt VMs', () => {
  const owner = { namespace: 'ns', name: 'vm1' };

  test('a live launcher pod keeps the addresses even when the VM is gone (the pod still uses them)', () => {
    expect(holderVerdict(owner, 'p1', facts([launcher('p1')]), ctx).release).toBe(false);
  });

  test.each([
    ['VMI present', { vmi: vmi() }, false],
    ['VMI gone, VM present (stopped VM)', { vm: vm() }, false],
    [
      'VMI terminating, owned by a living VM',
      {
        vmi: vmi({
          deletionTimestamp: 'x',
          ownerReferences: [
            { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm1', uid: 'v', controller: true },
          ],
        }),
        vm: vm(),
      },
      false,
    ],
    ['VMI and VM gone', {}, true],
    ['VM terminating, VMI gone', { vm: vm({ deletionTimestamp: 'x' }) }, true],
    ['standalone VMI terminating', { vmi: vmi({ deletionTimestamp: 'x' }) }, true],
  ])('holder pod gone, %s', (_what, objects, release) => {
    const f = facts([], { ...objects, endpoint: endpoint('vm1', 'p1', 'VirtualMachineInstance') });
    const v = holderVerdict(owner, 'p1', f, ctx);
    expect(v.release).toBe(release);
    if (v.release) expect(v).toMatchObject({ gcReason: 'vm-gone', confirm: true });
  });

  test('a finished launcher pod (a migration source) keeps them while the VM lives', () => {
    const done = launcher('p1', { status: { phase: 'Succeeded' } });
    expect(holderVerdict(owner, 'p1', facts([done], { vm: vm(), vmi: vmi() }), ctx).release).toBe(false);
    expect(holderVerdict(owner, 'p1', facts([done]), ctx)).toMatchObject({
      release: true,
      gcReason: 'vm-gone',
    });
  });

  test('with enableKubevirtStaticIP off a finished launcher pod is an ordinary stateless pod', () => {
    const off = { switches: { ...switches, enableKubevirtStaticIP: false }, nowMs: now };
    const done = launcher('p1', { status: { phase: 'Succeeded' } });
    expect(
      holderVerdict(
        { namespace: 'ns', name: done.metadata?.name ?? '' },
        'p1',
        facts([done], { vm: vm(), vmi: vmi() }),
        off,
      ),
    ).toMatchObject({
      release: true,
      gcReason: 'pod-finished',
    });
  });
});

describe('StatefulSet replicas', () => {
  const owner = { namespace: 'ns', name: 'db-2' };
  const replica = (uid: string, extra: { meta?: object; status?: object } = {}) =>
    pod('db-2', uid, { meta: { ownerReferences: [stsRef], ...(extra.meta ?? {}) }, status: extra.status });

  test('a deleted replica whose ordinal is still in range keeps its addresses; scaled below it, they go', () => {
    const f = (replicas: number) => facts([], { statefulSet: sts(replicas) });
    expect(holderVerdict(owner, 'p1', f(3), ctx)).toMatchObject({ release: false });
    expect(holderVerdict(owner, 'p1', f(2), ctx)).toMatchObject({
      release: true,
      gcReason: 'statefulset-replica-gone',
      reason: 'ordinal 2 is outside [0, 2) of StatefulSet db',
    });
  });

  test('a terminating replica is judged by its ordinal, not by its grace period', () => {
    const terminating = replica('p1', { meta: { deletionTimestamp: '2026-01-01T00:00:00Z' } });
    expect(holderVerdict(owner, 'p1', facts([terminating], { statefulSet: sts(3) }), ctx).release).toBe(
      false,
    );
    expect(holderVerdict(owner, 'p1', facts([terminating]), ctx)).toMatchObject({
      release: true,
      gcReason: 'statefulset-replica-gone',
    });
  });

  test('with enableStatefulSet off, a replica that is gone is stateless', () => {
    const off = { switches: { ...switches, enableStatefulSet: false }, nowMs: now };
    expect(holderVerdict(owner, 'p1', facts([], { statefulSet: sts(3) }), off)).toMatchObject({
      release: true,
      gcReason: 'pod-gone',
    });
  });
});

function endpoint(name: string, uid: string, type: string, deleting = false): SpiderEndpoint {
  return {
    metadata: { name, namespace: 'ns', ...(deleting ? { deletionTimestamp: 'x' as unknown as Date } : {}) },
    status: {
      current: { uid, node: 'node-1', ips: [] },
      ownerControllerType: type,
      ownerControllerName: name,
    },
  };
}

describe('the kind of an identity whose pod is gone', () => {
  test.each([
    ['the endpoint says VM', { endpoint: endpoint('x-0', 'u', 'VirtualMachineInstance') }, 'kubevirt-vm'],
    ['the endpoint says StatefulSet', { endpoint: endpoint('x-0', 'u', 'StatefulSet') }, 'statefulset'],
    ['the endpoint says Deployment', { endpoint: endpoint('x-0', 'u', 'Deployment'), vm: vm() }, 'stateless'],
    ['no endpoint, a VMI of that name', { vmi: vmi() }, 'kubevirt-vm'],
    [
      'no endpoint, the StatefulSet its name points at',
      { statefulSet: { metadata: { name: 'x' } } },
      'statefulset',
    ],
    ['nothing', {}, 'stateless'],
  ])('%s', (_what, more, kind) => {
    expect(
      ownerKind({ namespace: 'ns', name: 'x-0' }, facts([], more as Omit<OwnerFacts, 'podByUid'>), switches),
    ).toBe(kind);
  });
});

describe('endpoints', () => {
  test('an endpoint whose stateless pod is gone is deleted; one of a finished pod stays (it goes with the Pod)', () => {
    const ep = endpoint('web', 'u1', 'Pod');
    expect(endpointVerdict({ namespace: 'ns', name: 'web' }, facts([], { endpoint: ep }), ctx)).toMatchObject(
      { delete: true, confirm: true },
    );
    const done = pod('web', 'u1', { spec: { restartPolicy: 'Never' }, status: { phase: 'Succeeded' } });
    expect(endpointVerdict({ namespace: 'ns', name: 'web' }, facts([done], { endpoint: ep }), ctx)).toEqual({
      delete: false,
    });
  });

  test('a VM endpoint is deleted once the VM is gone, kept while it lives; one being deleted is left to its finalizer', () => {
    const ep = endpoint('vm1', 'p1', 'VirtualMachineInstance');
    const owner = { namespace: 'ns', name: 'vm1' };
    expect(endpointVerdict(owner, facts([], { endpoint: ep, vm: vm() }), ctx)).toEqual({ delete: false });
    expect(endpointVerdict(owner, facts([], { endpoint: ep }), ctx)).toMatchObject({ delete: true });
    expect(
      endpointVerdict(
        owner,
        facts([], { endpoint: endpoint('vm1', 'p1', 'VirtualMachineInstance', true) }),
        ctx,
      ),
    ).toEqual({ delete: false });
  });
});
