// The operator's release decisions without a control plane: the identity GC and the KubeVirt
// controller over ClusterIO, which runs its guarded read-modify-writes over the shared in-memory store
// (test/unit/memory-store.ts) instead of the API server. The watch caches are listers over the same
// maps, so they never lag here; the GC's fresh reads go to the store through ClusterIO.
import type { V1Pod } from '@kubernetes/client-node';
import type { SpiderEndpoint, SpiderIPPool } from '../../../../api/index.js';
import { decodeRecords } from '../../../../ipam/records/codec.js';
import { ClusterIO } from '../../../../operator/controllers/cluster-io.js';
import { FactSource } from '../../../../operator/controllers/facts.js';
import { IdentityGc } from '../../../../operator/controllers/identity-gc.js';
import { KubeVirtController } from '../../../../operator/controllers/kubevirt.js';
import { RecordIndex } from '../../../../operator/controllers/record-index.js';
import { type ResourceEvent, ResourceEventType } from '../../../../operator/framework/events.js';
import { NotLeaderError } from '../../../../operator/framework/operator.js';
import { OperatorMetrics } from '../../../../operator/observability/metrics.js';
import { lister, MemoryStore, quiet } from '../../memory-store.js';

const kubevirt = 'kubevirt.io/v1';
const switches = { enableKubevirtStaticIP: true, enableStatefulSet: true };
const launcherUid = 'launcher-1';

/** VM ns/vm1 running in launcher pod launcher-1, holding 198.18.0.10 from pool-a, and its endpoint. */
function world(): MemoryStore {
  const store = new MemoryStore();
  const vm = {
    apiVersion: kubevirt,
    kind: 'VirtualMachine',
    metadata: { namespace: 'ns', name: 'vm1', uid: 'vm-1' },
  };
  store.vms.set('ns/vm1', vm);
  store.vmis.set('ns/vm1', {
    apiVersion: kubevirt,
    kind: 'VirtualMachineInstance',
    metadata: {
      namespace: 'ns',
      name: 'vm1',
      uid: 'vmi-1',
      ownerReferences: [
        { apiVersion: kubevirt, kind: 'VirtualMachine', name: 'vm1', uid: 'vm-1', controller: true },
      ],
    },
  });
  store.pods.set('ns/virt-launcher-vm1-x7k2p', {
    metadata: {
      namespace: 'ns',
      name: 'virt-launcher-vm1-x7k2p',
      uid: launcherUid,
      ownerReferences: [
        { apiVersion: kubevirt, kind: 'VirtualMachineInstance', name: 'vm1', uid: 'vmi-1', controller: true },
      ],
    },
    spec: { nodeName: 'node-1', containers: [] },
    status: { phase: 'Running' },
  });
  store.pools.set('pool-a', {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'pool-a', resourceVersion: '1' },
    spec: { subnet: '198.18.0.0/24', ips: ['198.18.0.10-198.18.0.20'] },
    status: {
      allocatedIPs: JSON.stringify({ '198.18.0.10': { pod: 'ns/vm1', podUid: launcherUid, nic: 'eth0' } }),
      allocatedIPCount: 1,
    },
  });
  store.endpoints.set('ns/vm1', {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderEndpoint',
    metadata: {
      namespace: 'ns',
      name: 'vm1',
      uid: 'ep-1',
      resourceVersion: '1',
      finalizers: ['spiderpool.spidernet.io'],
    },
    status: {
      current: {
        uid: launcherUid,
        node: 'node-1',
        ips: [{ interface: 'eth0', ipv4: '198.18.0.10/24', ipv4Pool: 'pool-a' }],
      },
      ownerControllerType: 'VirtualMachineInstance',
      ownerControllerName: 'vm1',
    },
  });
  return store;
}

/** What KubeVirt and the kubelet do when the VM is deleted: the VM, its VMI and launcher pod go. */
function deleteVM(store: MemoryStore): void {
  store.vms.delete('ns/vm1');
  store.vmis.delete('ns/vm1');
  store.pods.delete('ns/virt-launcher-vm1-x7k2p');
}

/** The operator's pieces over `store`, writing only while `leading.now` is true. */
function operator(store: MemoryStore, leading = { now: true }) {
  const io = new ClusterIO(store, (what) => {
    if (!leading.now) throw new NotLeaderError(what);
  });
  const caches = () => ({
    pods: lister(store.pods),
    endpoints: lister(store.endpoints),
    vms: lister(store.vms),
    vmis: lister(store.vmis),
    statefulSets: lister(store.statefulSets),
  });
  const recordIndex = new RecordIndex();
  const index = () => {
    recordIndex.sync([...store.pools.values()]);
    return recordIndex;
  };
  const events: string[] = [];
  const recorder = {
    record: async (object: { kind?: string }, _type: string, reason: string) => {
      events.push(`${object.kind} ${reason}`);
    },
  };
  const rechecks: string[] = [];
  const gc = new IdentityGc({
    io,
    facts: new FactSource(caches, io, switches),
    index,
    recorder,
    metrics: new OperatorMetrics({ processMetrics: false }),
    log: quiet,
    switches,
    recheck: (pod: V1Pod) => rechecks.push(pod.metadata?.uid ?? ''),
  });
  const kv = new KubeVirtController({ gc, io, index, caches, recorder, log: quiet, gcEnabled: true });
  const vmDeleted: ResourceEvent = {
    type: ResourceEventType.Deleted,
    meta: {
      id: 'vm',
      name: 'vm1',
      namespace: 'ns',
      resourceVersion: '9',
      apiVersion: kubevirt,
      kind: 'VirtualMachine',
    },
    object: {
      apiVersion: kubevirt,
      kind: 'VirtualMachine',
      metadata: { namespace: 'ns', name: 'vm1', uid: 'vm-1' },
    },
  };
  return { io, gc, kv, vmDeleted, events, rechecks };
}

const records = (store: MemoryStore) =>
  decodeRecords('pool-a', store.pools.get('pool-a')?.status?.allocatedIPs, 4).map(
    (r) => `${r.ip} ${r.pod} ${r.podUid}`,
  );
const owner = { namespace: 'ns', name: 'vm1' };

test('a VM deleted: its record and its endpoint are released once, and a second pass writes nothing', async () => {
  const store = world();
  const op = operator(store);
  deleteVM(store);
  await op.kv.reconcileVM(op.vmDeleted);
  expect(records(store)).toEqual([]);
  expect(store.endpoints.get('ns/vm1')?.metadata.deletionTimestamp).toBeDefined();
  expect(store.writes).toEqual(['pool pool-a', 'delete endpoint ns/vm1']);
  expect(op.events).toEqual(['VirtualMachine AddressReleased']);

  // The VMI's and the endpoint's own events and the periodic scan come for the same identity.
  await op.gc.reconcileOwner(owner, 'VMI DELETED');
  await op.gc.reconcileOwner(owner, 'scan');
  expect(await op.gc.finalizeEndpoint(owner, launcherUid)).toBe(0);
  expect(store.writes).toEqual(['pool pool-a', 'delete endpoint ns/vm1']);
  expect(op.events).toHaveLength(1);
});

test('a 409 on the pool write: the pool is read again, the other writer keeps its record, ours goes', async () => {
  const store = world();
  const op = operator(store);
  deleteVM(store);
  store.failPoolWrites.push((pool: SpiderIPPool) => {
    // A plugin allocated 198.18.0.11 to another pod in between.
    const held = JSON.parse(pool.status?.allocatedIPs ?? '{}');
    held['198.18.0.11'] = { pod: 'ns/other', podUid: 'other-1', nic: 'eth0' };
    pool.status = { ...pool.status, allocatedIPs: JSON.stringify(held), allocatedIPCount: 2 };
  });
  const outcome = await op.gc.reconcileOwner(owner, 'VM DELETED');
  expect(outcome).toEqual({ released: 1, endpointDeleted: true });
  expect(store.failPoolWrites).toEqual([]);
  expect(records(store)).toEqual(['198.18.0.11 ns/other other-1']);
  expect(store.writes).toEqual(['pool pool-a', 'delete endpoint ns/vm1']);
});

test('a failure between the pool write and the endpoint delete: the next pass deletes the endpoint and releases nothing twice', async () => {
  const store = world();
  const op = operator(store);
  deleteVM(store);
  store.failEndpointDeletes.push(new Error('connection reset'));
  await expect(op.gc.reconcileOwner(owner, 'VM DELETED')).rejects.toThrow('connection reset');
  expect(records(store)).toEqual([]);
  expect(store.endpoints.get('ns/vm1')?.metadata.deletionTimestamp).toBeUndefined();
  expect(store.writes).toEqual(['pool pool-a']);

  // The record is gone from the pool; the endpoint still names the holder, so the next pass finds it.
  const outcome = await op.gc.reconcileOwner(owner, 'scan');
  expect(outcome).toEqual({ released: 0, endpointDeleted: true });
  expect(store.writes).toEqual(['pool pool-a', 'delete endpoint ns/vm1']);
  expect(store.endpoints.get('ns/vm1')?.metadata.deletionTimestamp).toBeDefined();
});

test('a live holder keeps its addresses, even with its VM and VMI gone and its endpoint being deleted', async () => {
  const store = world();
  const op = operator(store);
  store.vms.delete('ns/vm1');
  store.vmis.delete('ns/vm1');
  await op.kv.reconcileVM(op.vmDeleted);
  await op.gc.reconcileOwner(owner, 'scan');
  const endpoint = store.endpoints.get('ns/vm1') as SpiderEndpoint;
  endpoint.metadata.deletionTimestamp = new Date();
  expect(await op.gc.finalizeEndpoint(owner, launcherUid)).toBe(0);
  expect(store.writes).toEqual([]);
  expect(records(store)).toEqual([`198.18.0.10 ns/vm1 ${launcherUid}`]);
  expect(op.events).toEqual([]);
});

test('a replica that is not the leader writes nothing: no pool write, no endpoint delete, no endpoint update', async () => {
  const store = world();
  const leading = { now: false };
  const op = operator(store, leading);
  deleteVM(store);
  await expect(op.kv.reconcileVM(op.vmDeleted)).rejects.toBeInstanceOf(NotLeaderError);

  // Records already released by an earlier leader: the endpoint delete is refused as well.
  const released = world();
  deleteVM(released);
  released.pools.set('pool-a', { ...(released.pools.get('pool-a') as SpiderIPPool), status: {} });
  const follower = operator(released, leading);
  await expect(follower.gc.reconcileOwner(owner, 'scan')).rejects.toBeInstanceOf(NotLeaderError);

  await expect(
    op.io.changeEndpoint('ns', 'vm1', 'hand over', (ep) => ({
      ...ep,
      metadata: { ...ep.metadata, labels: { a: 'b' } },
    })),
  ).rejects.toBeInstanceOf(NotLeaderError);
  expect(store.writes).toEqual([]);
  expect(released.writes).toEqual([]);
  expect(records(store)).toEqual([`198.18.0.10 ns/vm1 ${launcherUid}`]);
  expect(store.endpoints.get('ns/vm1')?.metadata.deletionTimestamp).toBeUndefined();
  expect(op.events).toEqual([]);

  // Leading again, the same pass converges.
  leading.now = true;
  await op.kv.reconcileVM(op.vmDeleted);
  expect(store.writes).toEqual(['pool pool-a', 'delete endpoint ns/vm1']);
});

test('a replica that loses the Lease between a 409 and its retry writes nothing more', async () => {
  const store = world();
  const leading = { now: true };
  const op = operator(store, leading);
  deleteVM(store);
  store.failPoolWrites.push(() => {
    leading.now = false; // the Lease went to another replica while this write was refused
  });
  await expect(op.gc.reconcileOwner(owner, 'VM DELETED')).rejects.toBeInstanceOf(NotLeaderError);
  expect(store.writes).toEqual([]);
  expect(records(store)).toEqual([`198.18.0.10 ns/vm1 ${launcherUid}`]);
  expect(store.endpoints.get('ns/vm1')?.metadata.deletionTimestamp).toBeUndefined();
});
