// The KubeVirt lifecycle on the real control plane with KubeVirt v1.6.0's own CRDs: VM, VMI,
// migration and launcher Pod objects shaped as KubeVirt makes them (ownerReferences VM → VMI → Pod,
// so the garbage collector cascades deletions as it does for KubeVirt), records and endpoints
// written by the compiled plugin's ADD (fixtures/compiled-plugin.ts), and the operator as its service
// account. The test plays virt-controller's part where it deletes objects (VMI and launcher pods when
// a VM or VMI goes) and writes the migration outcomes; test/e2e/kubevirt runs KubeVirt's own
// controller. The migration design these tests hold is docs/kubevirt.md.

import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { kubevirtApiVersion, type kubevirtKinds } from '../../../api/index.js';
import { isNotFound } from '../../../kube/errors.js';
import { uniqueName } from '../../harness/clients.js';
import { eventually } from '../../harness/wait.js';
import {
  bare,
  endpointDeleted,
  releaseLogged,
  startOperator,
  useOperatorWorld,
} from './fixtures/ipam-world.js';
import {
  createVMI as createVMIIn,
  createVM as createVMIn,
  type KubeVirtObject,
  kubevirtResource,
  launcherPod,
} from './fixtures/kubevirt-objects.js';
import type { OperatorProcess } from './operator-process.js';

let objects: CustomObjectsApi;

const bed = useOperatorWorld({
  world: { kubevirt: true },
  namespace: 'kv',
  pool: { subnet: '198.18.20.0/24', ips: ['198.18.20.10-198.18.20.250'] },
  operator: {
    identity: 'kubevirt-op',
    conf: { gc: { intervalSeconds: 3600 } },
    args: ['--log-level=debug'],
  },
});

beforeAll(() => {
  objects = bed.world.cluster.kc.makeApiClient(CustomObjectsApi);
});

type Obj = KubeVirtObject;

const kv = (kind: keyof typeof kubevirtKinds) => kubevirtResource(kind, bed.ns);
const createVM = (name: string, runStrategy = 'Always') => createVMIn(objects, bed.ns, name, runStrategy);
const createVMI = (name: string, vm?: Obj) => createVMIIn(objects, bed.ns, name, vm);

let launchers = 0;

/** A virt-launcher pod as KubeVirt renders it (a fixed name instead of generateName). */
async function launcher(vmi: Obj, node: string, migration?: Obj): Promise<V1Pod> {
  return bed.world.fixtures.core.createNamespacedPod({
    namespace: bed.ns,
    body: launcherPod(vmi, {
      name: `virt-launcher-${vmi.metadata.name}-${launchers++}`,
      node,
      migration,
      labels: { 'vm.kubevirt.io/name': vmi.metadata.name },
      spec: { terminationGracePeriodSeconds: 60 },
    }),
  });
}

/** A VM running in one launcher pod on node-a, with its address recorded as the plugin records it. */
async function runningVM(opts: { standalone?: boolean } = {}) {
  const name = uniqueName('vm');
  const vm = opts.standalone ? undefined : await createVM(name);
  const vmi = await createVMI(name, vm);
  const pod = await launcher(vmi, 'node-a');
  const ip = bare(await bed.world.plugin.add(pod, bed.pool));
  return { name, vm, vmi, pod, ip };
}

async function holders(): Promise<Map<string, { pod: string; podUid: string }>> {
  const state = await bed.world.fixtures.poolState(bed.pool);
  return new Map(state.records.map((r) => [r.ip, { pod: r.pod, podUid: r.podUid }]));
}

const released = (ip: string, what: string) =>
  eventually(`${ip} released (${what})`, async () => !(await holders()).has(ip), { timeoutMs: 15_000 });

/** Deletes the object; one the garbage collector already removed (a deleted VM's VMI) is fine. */
async function deleteObject(kind: keyof typeof kubevirtKinds, name: string): Promise<void> {
  await objects
    .deleteNamespacedCustomObject({ ...kv(kind), name, propagationPolicy: 'Background' })
    .catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
}

/**
 * What KubeVirt does when a VMI goes (a stopped or deleted VM, a deleted VMI): the VMI is deleted and
 * virt-controller deletes its launcher pods gracefully (no kubelet here: they stay Terminating).
 */
async function stopVMI(name: string, ...pods: V1Pod[]): Promise<void> {
  await deleteObject('vmi', name);
  for (const p of pods)
    await bed.world.fixtures.core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace: bed.ns });
}

async function setPodPhase(pod: V1Pod, phase: string): Promise<void> {
  const name = pod.metadata?.name ?? '';
  const current = await bed.world.fixtures.core.readNamespacedPod({ name, namespace: bed.ns });
  await bed.world.fixtures.core.replaceNamespacedPodStatus({
    name,
    namespace: bed.ns,
    body: { ...current, status: { ...current.status, phase } },
  });
}

/** Pods the garbage collector left Terminating (no kubelet here) are removed at once. */
async function removeLaunchers(...pods: V1Pod[]): Promise<void> {
  for (const p of pods) await bed.world.fixtures.deletePod(bed.ns, p.metadata?.name ?? '');
}

/** The operator judged the identity after `sinceMs` and kept its addresses because the VM lives. */
const kept = (name: string, sinceMs: number) =>
  bed.op.waitForLog(
    `${name} judged and kept`,
    (l) =>
      l.msg === 'addresses kept' &&
      l.object === `${bed.ns}/${name}` &&
      Date.parse(l.time) >= sinceMs &&
      String(l.reason).startsWith('the VM keeps its addresses'),
    15_000,
  );

test('a running VM deleted: its address and endpoint are freed within seconds (not at the next scan)', async () => {
  const { name, pod, ip } = await runningVM();
  expect((await holders()).get(ip)).toEqual({ pod: `${bed.ns}/${name}`, podUid: pod.metadata?.uid });
  const started = Date.now();
  await deleteObject('vm', name);
  await stopVMI(name, pod);
  await released(ip, 'VM deleted');
  expect(Date.now() - started).toBeLessThan(15_000);
  await endpointDeleted(bed, name, 'the VM endpoint deleted');
  // The operator logs right after its write, so the line may trail the pool the test just read.
  const line = await releaseLogged(bed, name);
  expect(line.reason).toBe('vm-gone');
  await removeLaunchers(pod);
}, 60_000);

test('a stopped VM keeps its address; deleting it frees the address within seconds', async () => {
  const { name, vmi, pod, ip } = await runningVM();
  // Stop: KubeVirt deletes the VMI and its pod; the VM stays.
  const stopped = Date.now();
  await stopVMI(vmi.metadata.name, pod);
  await removeLaunchers(pod);
  await kept(name, stopped);
  expect((await holders()).get(ip)?.pod).toBe(`${bed.ns}/${name}`);
  expect(await bed.world.fixtures.endpoint(bed.ns, name)).toBeDefined();

  await deleteObject('vm', name);
  await released(ip, 'stopped VM deleted');
  await endpointDeleted(bed, name, 'the VM endpoint deleted');
}, 60_000);

test('a standalone VMI deleted frees its address', async () => {
  const { name, pod, ip } = await runningVM({ standalone: true });
  await stopVMI(name, pod);
  await released(ip, 'standalone VMI deleted');
  await removeLaunchers(pod);
}, 60_000);

test('a VMI deleted while its VM lives keeps the address (the VM restarts with it)', async () => {
  const { name, vm, pod, ip } = await runningVM();
  const deleted = Date.now();
  await stopVMI(name, pod);
  // The launcher pod is Terminating and the VMI gone; the VM still holds the address.
  await kept(name, deleted);
  expect((await holders()).get(ip)?.podUid).toBe(pod.metadata?.uid);
  // The restarted VM's new pod takes the same address over.
  await removeLaunchers(pod);
  const vmi2 = await createVMI(name, vm);
  const pod2 = await launcher(vmi2, 'node-b');
  expect(bare(await bed.world.plugin.add(pod2, bed.pool))).toBe(ip);
  expect((await holders()).get(ip)?.podUid).toBe(pod2.metadata?.uid);
}, 60_000);

async function migrate(vmi: Obj, source: V1Pod) {
  const vmim = (await objects.createNamespacedCustomObject({
    ...kv('vmim'),
    body: {
      apiVersion: kubevirtApiVersion,
      kind: 'VirtualMachineInstanceMigration',
      metadata: { name: uniqueName('mig'), labels: { 'kubevirt.io/vmi-name': vmi.metadata.name } },
      spec: { vmiName: vmi.metadata.name },
    },
  })) as Obj;
  const target = await launcher(vmi, 'node-b', vmim);
  const state = {
    migrationUid: vmim.metadata.uid,
    sourcePod: source.metadata?.name,
    targetPod: target.metadata?.name,
    sourceNode: 'node-a',
    targetNode: 'node-b',
  };
  return { vmim, target, state };
}

type Outcome = 'Succeeded' | 'Failed' | 'Aborted';

/** The end of a migration as virt-handler and virt-controller write it (an abort ends as a failure). */
async function finishMigration(vmi: Obj, vmim: Obj, state: object, outcome: Outcome) {
  // The VMI has no status subresource: KubeVirt writes its status with the object.
  const fresh = (await objects.getNamespacedCustomObject({ ...kv('vmi'), name: vmi.metadata.name })) as Obj;
  const migrationState = {
    ...state,
    completed: true,
    ...(outcome === 'Succeeded' ? {} : { failed: true }),
    ...(outcome === 'Aborted' ? { abortRequested: true, abortStatus: 'Succeeded' } : {}),
  };
  await objects.replaceNamespacedCustomObject({
    ...kv('vmi'),
    name: vmi.metadata.name,
    body: { ...fresh, status: { ...(fresh.status ?? {}), migrationState } },
  });
  const m = (await objects.getNamespacedCustomObject({ ...kv('vmim'), name: vmim.metadata.name })) as Obj;
  await objects.replaceNamespacedCustomObjectStatus({
    ...kv('vmim'),
    name: vmim.metadata.name,
    body: { ...m, status: { phase: outcome === 'Succeeded' ? 'Succeeded' : 'Failed', migrationState } },
  });
}

/** The VM's records in the pool: address and holding pod UID. */
async function vmRecords(name: string): Promise<{ ip: string; podUid: string }[]> {
  return (await bed.world.fixtures.poolState(bed.pool)).records
    .filter((r) => r.pod === `${bed.ns}/${name}`)
    .map((r) => ({ ip: r.ip, podUid: r.podUid }));
}

/** Exactly one holder: one record for the VM's address, naming `pod`, and the endpoint naming it too. */
async function heldOnlyBy(name: string, ip: string, pod: V1Pod, node: string): Promise<void> {
  const uid = pod.metadata?.uid;
  await eventually(`${pod.metadata?.name} the only holder`, async () => {
    const records = await vmRecords(name);
    const ep = await bed.world.fixtures.endpoint(bed.ns, name);
    return (
      records.length === 1 &&
      records[0]?.ip === ip &&
      records[0]?.podUid === uid &&
      ep?.status?.current.uid === uid &&
      ep.status.current.node === node
    );
  });
}

/**
 * The target's ADD, as the compiled plugin makes it with IP conflict detection on: the source's
 * address, nothing taken over, and no conflict probe (the probe would fail here: the call names no
 * network namespace, so a probed ADD cannot succeed).
 */
async function targetAdd(target: V1Pod, source: V1Pod, name: string, ip: string): Promise<void> {
  const probed = { enableKubevirtStaticIP: true, enableIPConflictDetection: true };
  expect(bare(await bed.world.plugin.add(target, bed.pool, { switches: probed }))).toBe(ip);
  expect(await vmRecords(name)).toEqual([{ ip, podUid: source.metadata?.uid }]);
  expect((await bed.world.fixtures.endpoint(bed.ns, name))?.status?.current.uid).toBe(source.metadata?.uid);
}

test('the conflict probe runs for a launcher pod that is not a migration target (so skipping it is observable)', async () => {
  const name = uniqueName('vm');
  const vmi = await createVMI(name, await createVM(name));
  const pod = await launcher(vmi, 'node-a');
  const probed = { enableKubevirtStaticIP: true, enableIPConflictDetection: true };
  await expect(bed.world.plugin.add(pod, bed.pool, { switches: probed })).rejects.toThrow(
    'IP conflict detection could not run',
  );
  await bed.world.plugin.del(pod, bed.pool, { switches: probed });
  await deleteObject('vm', name);
  await stopVMI(name, pod);
  await removeLaunchers(pod);
}, 60_000);

test('a live migration that succeeds: the target shares the address while it runs, then holds it alone (by rewrite)', async () => {
  const { name, vmi, pod: source, ip } = await runningVM();
  const { vmim, target, state } = await migrate(vmi, source);
  await targetAdd(target, source, name, ip);
  await setPodPhase(target, 'Running');
  await finishMigration(vmi, vmim, state, 'Succeeded');
  await setPodPhase(source, 'Succeeded');
  await heldOnlyBy(name, ip, target, 'node-b');
  const endpoint = await bed.world.fixtures.endpoint(bed.ns, name);
  expect(endpoint?.status?.current.ips).toEqual([
    expect.objectContaining({ interface: 'eth0', ipv4: `${ip}/24` }),
  ]);
  const events = await bed.world.fixtures.core.listNamespacedEvent({
    namespace: bed.ns,
    fieldSelector: `involvedObject.uid=${target.metadata?.uid}`,
  });
  expect(events.items.find((e) => e.reason === 'MigrationHandover')?.message).toBe(
    `migration ${vmim.metadata.uid} succeeded: target pod ${target.metadata?.name} holds the addresses (on node-b)`,
  );
}, 60_000);

test.each(['Failed', 'Aborted'] as const)(
  'a live migration that ends %s leaves the source the only holder; no record names the dead target',
  async (outcome) => {
    const { name, vmi, pod: source, ip } = await runningVM();
    const { vmim, target, state } = await migrate(vmi, source);
    await targetAdd(target, source, name, ip);
    const ended = Date.now();
    await finishMigration(vmi, vmim, state, outcome);
    await setPodPhase(target, 'Failed');
    // The operator looked at the ended migration and left the holder where the plugin put it.
    await bed.op.waitForLog(
      'the ended migration judged',
      (l) =>
        l.msg === 'migration: nothing to hand over' &&
        l.object === `${bed.ns}/${name}` &&
        Date.parse(l.time) >= ended &&
        l.reason === 'the source pod holds the addresses',
    );
    await heldOnlyBy(name, ip, source, 'node-a');
  },
  60_000,
);

test("a target's ADD retried after its migration failed took the address over; the operator gives it back to the source", async () => {
  const { name, vmi, pod: source, ip } = await runningVM();
  const { vmim, target, state } = await migrate(vmi, source);
  // The migration has failed (VMIM final) when the target's ADD comes: the plugin sees a launcher pod
  // of a live VM with no migration in progress, and moves the records to it.
  const m = (await objects.getNamespacedCustomObject({ ...kv('vmim'), name: vmim.metadata.name })) as Obj;
  await objects.replaceNamespacedCustomObjectStatus({
    ...kv('vmim'),
    name: vmim.metadata.name,
    body: { ...m, status: { phase: 'Failed' } },
  });
  expect(bare(await bed.world.plugin.add(target, bed.pool))).toBe(ip);
  expect(await vmRecords(name)).toEqual([{ ip, podUid: target.metadata?.uid }]);
  await setPodPhase(target, 'Failed');
  await finishMigration(vmi, vmim, state, 'Failed');
  await heldOnlyBy(name, ip, source, 'node-a');
}, 60_000);

/**
 * SIGKILLs the operator (no lease release, nothing flushed) and starts another in its place, returned
 * once it leads: it waits out the dead one's Lease first, which a loaded machine can stretch well past
 * the 4 s the Lease lasts, so the checks that follow time what the new leader does, not its start.
 */
async function killAndRestartOperator(): Promise<OperatorProcess[]> {
  const killed = bed.op;
  killed.signal('SIGKILL');
  await eventually('the operator gone', () => !killed.running);
  bed.op = await startOperator(bed.world.cluster, {
    identity: uniqueName('kubevirt-op'),
    conf: { gc: { intervalSeconds: 3600 } },
    args: ['--log-level=debug'],
  });
  await bed.op.waitForLog('the new operator leads', (l) => l.msg === 'became leader', 60_000);
  return [killed, bed.op];
}

const releaseLines = (ops: OperatorProcess[], name: string) =>
  ops.flatMap((o) => o.find((l) => l.msg === 'addresses released' && l.object === `${bed.ns}/${name}`));

test('the operator SIGKILLed in the middle of a VM deletion and restarted: the address is freed, once', async () => {
  const { name, pod, ip } = await runningVM();
  await deleteObject('vm', name);
  await sleep(Math.random() * 300); // somewhere in the operator's handling of the deletion
  const deletion = stopVMI(name, pod);
  const ops = await killAndRestartOperator();
  await deletion;
  await released(ip, 'VM deleted, operator restarted');
  await endpointDeleted(bed, name, 'the VM endpoint deleted');
  expect(await vmRecords(name)).toEqual([]);
  // At most one release (none logged when the killed operator wrote it and died before its log line).
  expect(releaseLines(ops, name).length).toBeLessThanOrEqual(1);
  const state = await bed.world.fixtures.poolState(bed.pool);
  expect(state.allocatedIPCount).toBe(state.records.length);
  await removeLaunchers(pod);
}, 90_000);

test('the operator SIGKILLed in the middle of a live migration and restarted: the VM keeps its address, one holder', async () => {
  const { name, vmi, pod: source, ip } = await runningVM();
  const { vmim, target, state } = await migrate(vmi, source);
  await targetAdd(target, source, name, ip);
  await setPodPhase(target, 'Running');
  const finishing = (async () => {
    await sleep(Math.random() * 300);
    await finishMigration(vmi, vmim, state, 'Succeeded');
    await setPodPhase(source, 'Succeeded');
  })();
  const ops = await killAndRestartOperator();
  await finishing;
  await heldOnlyBy(name, ip, target, 'node-b');
  expect(releaseLines(ops, name)).toEqual([]);
}, 90_000);

test('with enableKubevirtStaticIP off, launcher pods are ordinary stateless pods: a finished one loses its address', async () => {
  await bed.op.stop();
  bed.op = await startOperator(bed.world.cluster, {
    identity: 'kubevirt-off-op',
    conf: { enableKubevirtStaticIP: false, gc: { intervalSeconds: 3600 } },
  });
  const name = uniqueName('vm');
  const vm = await createVM(name);
  const vmi = await createVMI(name, vm);
  const pod = await launcher(vmi, 'node-a');
  const off = { enableKubevirtStaticIP: false, enableStatefulSet: true };
  const ip = bare(await bed.world.plugin.add(pod, bed.pool, { switches: off }));
  // Keyed by the pod, owned by it, like any other pod.
  expect((await holders()).get(ip)?.pod).toBe(`${bed.ns}/${pod.metadata?.name}`);
  await setPodPhase(pod, 'Succeeded');
  await released(ip, 'finished launcher pod, VM still there');
  const line = await releaseLogged(bed, pod.metadata?.name as string);
  expect(line.reason).toBe('pod-finished');
}, 60_000);
