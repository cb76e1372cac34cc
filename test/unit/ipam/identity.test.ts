import type { V1OwnerReference, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { VirtualMachine, VirtualMachineInstance } from '../../../api/index.js';
import { identityOf } from '../../../ipam/identity/identity.js';
import { migrationMarks } from '../../../ipam/identity/migration.js';
import { topController, topControllerLookup } from '../../../ipam/identity/owners.js';
import {
  podAliveness,
  statefulSetOrdinal,
  statefulSetPodValidity,
  vmIdentityValidity,
} from '../../../ipam/identity/validity.js';
import { ipamErrorOf } from './helpers.js';

const on = { enableKubevirtStaticIP: true, enableStatefulSet: true };
const off = { enableKubevirtStaticIP: false, enableStatefulSet: false };

const ref = (apiVersion: string, kind: string, name: string, controller = true): V1OwnerReference => ({
  apiVersion,
  kind,
  name,
  uid: `${name}-uid`,
  controller,
});

function pod(name: string, owners: V1OwnerReference[] = [], extra: Partial<V1Pod['metadata']> = {}): V1Pod {
  return { metadata: { name, namespace: 'ns', uid: `${name}-uid`, ownerReferences: owners, ...extra } };
}

const launcher = pod('virt-launcher-vm1-abcde', [ref('kubevirt.io/v1', 'VirtualMachineInstance', 'vm1')]);
const stsPod = pod('db-2', [ref('apps/v1', 'StatefulSet', 'db')]);
const rsPod = pod('web-5d8f-x2x', [ref('apps/v1', 'ReplicaSet', 'web-5d8f')]);

describe('identityOf', () => {
  it('keys a launcher pod by its VMI (the VM name) when KubeVirt static IPs are on', () => {
    expect(identityOf(launcher, on)).toEqual({
      namespace: 'ns',
      name: 'vm1',
      key: 'ns/vm1',
      static: true,
      kind: 'kubevirt-vm',
      ownerControllerType: 'VirtualMachineInstance',
      ownerControllerName: 'vm1',
      podName: 'virt-launcher-vm1-abcde',
      podUid: 'virt-launcher-vm1-abcde-uid',
      endpointOwnedByPod: false,
    });
  });

  it('treats a launcher pod as stateless with the switch off', () => {
    expect(identityOf(launcher, off)).toMatchObject({
      key: 'ns/virt-launcher-vm1-abcde',
      static: false,
      kind: 'stateless',
      ownerControllerType: 'VirtualMachineInstance',
      endpointOwnedByPod: true,
    });
  });

  it('keeps StatefulSet pods static under their own name', () => {
    expect(identityOf(stsPod, on)).toMatchObject({ key: 'ns/db-2', static: true, kind: 'statefulset' });
    expect(identityOf(stsPod, off)).toMatchObject({ static: false, ownerControllerType: 'StatefulSet' });
  });

  it('only counts the controller reference, not other owners', () => {
    const p = pod('x', [ref('kubevirt.io/v1', 'VirtualMachineInstance', 'vm1', false)]);
    expect(identityOf(p, on)).toMatchObject({
      kind: 'stateless',
      ownerControllerType: 'Pod',
      ownerControllerName: 'x',
    });
  });

  it('uses the resolved top controller for stateless pods', () => {
    expect(identityOf(rsPod, on)).toMatchObject({
      ownerControllerType: 'ReplicaSet',
      ownerControllerName: 'web-5d8f',
    });
    const rs = { name: 'web-5d8f', ownerReferences: [ref('apps/v1', 'Deployment', 'web')] };
    expect(identityOf(rsPod, on, topController(rsPod.metadata ?? {}, rs))).toMatchObject({
      ownerControllerType: 'Deployment',
      ownerControllerName: 'web',
    });
  });

  it('names the missing field of an incomplete pod', () => {
    expect(ipamErrorOf(() => identityOf({ metadata: { name: 'a', namespace: 'ns' } }, on)).field).toBe(
      'pod.metadata.uid',
    );
  });
});

describe('top controllers', () => {
  it('says which object must be read to find the top controller', () => {
    expect(topControllerLookup(rsPod.metadata ?? {})).toMatchObject({ kind: 'ReplicaSet', name: 'web-5d8f' });
    expect(
      topControllerLookup(pod('j', [ref('batch/v1', 'Job', 'nightly-123')]).metadata ?? {}),
    ).toMatchObject({
      kind: 'Job',
    });
    expect(topControllerLookup(stsPod.metadata ?? {})).toBeUndefined();
    expect(topControllerLookup(pod('bare').metadata ?? {})).toBeUndefined();
  });

  it('climbs Job → CronJob and stops at third-party kinds', () => {
    const jobPod = pod('j', [ref('batch/v1', 'Job', 'nightly-123')]);
    const job = { name: 'nightly-123', ownerReferences: [ref('batch/v1', 'CronJob', 'nightly')] };
    expect(topController(jobPod.metadata ?? {}, job)).toMatchObject({ kind: 'CronJob', name: 'nightly' });
    expect(topController(launcher.metadata ?? {})).toMatchObject({
      kind: 'VirtualMachineInstance',
      name: 'vm1',
    });
    // A ReplicaSet that nobody controls is its own top.
    expect(topController(rsPod.metadata ?? {}, { name: 'web-5d8f' })).toMatchObject({ kind: 'ReplicaSet' });
  });
});

describe('vmIdentityValidity (Spiderpool IsValidVMPod)', () => {
  const vmOwned = { ownerReferences: [ref('kubevirt.io/v1', 'VirtualMachine', 'vm1')] };
  const vmi = (meta: Partial<VirtualMachineInstance['metadata']> = {}): VirtualMachineInstance => ({
    metadata: { name: 'vm1', ...meta },
  });
  const vm = (meta: Partial<VirtualMachine['metadata']> = {}): VirtualMachine => ({
    metadata: { name: 'vm1', ...meta },
  });
  const deleting = { deletionTimestamp: new Date() };

  it.each([
    ['VMI exists', vmi(), undefined, true],
    ['VMI exists, VM gone', vmi(vmOwned), undefined, true],
    ['standalone VMI terminating', vmi(deleting), vm(), false],
    ['VM-owned VMI terminating, VM present (restart)', vmi({ ...vmOwned, ...deleting }), vm(), true],
    ['VM-owned VMI terminating, VM terminating', vmi({ ...vmOwned, ...deleting }), vm(deleting), false],
    ['no VMI, VM present (stopped VM)', undefined, vm(), true],
    ['no VMI, VM terminating', undefined, vm(deleting), false],
    ['no VMI, no VM', undefined, undefined, false],
  ] as const)('%s → valid=%s', (_, theVmi, theVm, valid) => {
    const result = vmIdentityValidity(theVmi, theVm);
    expect(result.valid).toBe(valid);
    expect(result.reason.length).toBeGreaterThan(0);
  });
});

describe('statefulSetPodValidity', () => {
  const sts = (
    replicas?: number,
    start?: number,
    extra: Partial<V1StatefulSet['metadata']> = {},
  ): V1StatefulSet => {
    const s: V1StatefulSet = {
      metadata: { name: 'db', ...extra },
      spec: { selector: {}, serviceName: 'db', template: {} },
    };
    if (replicas !== undefined && s.spec) s.spec.replicas = replicas;
    if (start !== undefined && s.spec) s.spec.ordinals = { start };
    return s;
  };

  it('keeps ordinals within [start, start+replicas)', () => {
    expect(statefulSetPodValidity('db-2', sts(3)).valid).toBe(true);
    expect(statefulSetPodValidity('db-3', sts(3))).toEqual({
      valid: false,
      reason: 'ordinal 3 is outside [0, 3) of StatefulSet db',
    });
    expect(statefulSetPodValidity('db-5', sts(3, 5)).valid).toBe(true);
    expect(statefulSetPodValidity('db-4', sts(3, 5)).valid).toBe(false);
    expect(statefulSetPodValidity('db-0', sts()).valid).toBe(true); // replicas default to 1
    expect(statefulSetPodValidity('db-1', sts()).valid).toBe(false);
  });

  it('lets go when the StatefulSet is gone or terminating, or the name is not its replica', () => {
    expect(statefulSetPodValidity('db-0', undefined).valid).toBe(false);
    expect(statefulSetPodValidity('db-0', sts(3, 0, { deletionTimestamp: new Date() })).valid).toBe(false);
    expect(statefulSetPodValidity('dbx-0', sts(3)).valid).toBe(false);
  });

  it('splits names at the last dash', () => {
    expect(statefulSetOrdinal('my-db-12')).toEqual({ statefulSet: 'my-db', ordinal: 12 });
    expect(statefulSetOrdinal('db-01')).toBeUndefined();
    expect(statefulSetOrdinal('db')).toBeUndefined();
  });
});

describe('podAliveness', () => {
  it.each([
    [{}, {}, true],
    [{ deletionTimestamp: new Date() }, {}, false],
    [{}, { status: { phase: 'Succeeded' }, spec: { containers: [], restartPolicy: 'OnFailure' } }, false],
    [{}, { status: { phase: 'Succeeded' }, spec: { containers: [], restartPolicy: 'Always' } }, true],
    [{}, { status: { phase: 'Failed' }, spec: { containers: [], restartPolicy: 'Never' } }, false],
    [{}, { status: { phase: 'Failed' }, spec: { containers: [], restartPolicy: 'OnFailure' } }, true],
    [{}, { status: { phase: 'Failed', reason: 'Evicted' } }, false],
  ] as const)('%j %j → alive=%s', (meta, rest, alive) => {
    expect(podAliveness({ ...rest, metadata: { name: 'p', ...meta } } as V1Pod).valid).toBe(alive);
  });
});

describe('live migration', () => {
  const target = pod('virt-launcher-vm1-zzzzz', [ref('kubevirt.io/v1', 'VirtualMachineInstance', 'vm1')], {
    annotations: { 'kubevirt.io/migrationJobName': 'kubevirt-migrate-vm-abc' },
    labels: { 'kubevirt.io/migrationJobUID': 'mig-2' },
  });

  it('reads the marks of a target pod', () => {
    expect(migrationMarks(target)).toEqual({
      migrationJobName: 'kubevirt-migrate-vm-abc',
      migrationJobUID: 'mig-2',
    });
    expect(migrationMarks(launcher)).toBeUndefined();
  });
});
