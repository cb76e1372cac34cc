// `ipam.enableKubevirtStaticIP=false` (the plugin's node configuration and the operator's conf.yml):
// KubeVirt's launcher pods are ordinary stateless pods. Each gets its own SpiderEndpoint (named after
// the pod, owned by it) and its own allocation; a new launcher pod or a migration target gets a fresh
// address, and a pod's addresses go with it. Driven through KubeVirt's own controller as in
// lifecycle.test.ts; the pool's allocated count is back where it was after every test.
import { CustomObjectsApi, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { eventually } from '../../harness/wait.js';
import { create, deleteVm, kv, useKubeVirtWorld, vmManifest } from './fixtures.js';
import { ipsOf, runningInNewPod } from './running.js';

const w = () => bed.world;
const ns = () => w().namespace;

const bed = useKubeVirtWorld(
  'kv-off',
  { subnet: '198.18.91.0/24', ips: ['198.18.91.10-198.18.91.29'] },
  { nodeSettings: { enableKubevirtStaticIP: false } },
  {
    identity: 'kv-off-op',
    conf: { enableKubevirtStaticIP: false, gc: { intervalSeconds: 3600 } },
  },
);

afterEach(async () => {
  const objects = w().fixtures.admin.makeApiClient(CustomObjectsApi);
  const list = (await objects.listNamespacedCustomObject(kv('vm', ns()))) as { items: KubernetesObject[] };
  for (const vm of list.items) await deleteVm(w().fixtures, ns(), vm.metadata?.name ?? '');
  const state = await eventually('the pool back to 0 allocated', async () => {
    const s = await w().fixtures.poolState(w().pool);
    return s.records.length === 0 && s;
  });
  expect(state.allocatedIPCount ?? 0).toBe(0);
}, 180_000);

const runningPod = async (name: string, old: V1Pod[] = []) =>
  (await runningInNewPod(w().fixtures, ns(), name, old)).pod;

test('a launcher pod is keyed and owned by itself; its replacement gets its own record and the old one is freed', async () => {
  await create(w().fixtures.admin, vmManifest(ns(), 'vm-off', { defaultNetwork: w().nad }));
  const first = await runningPod('vm-off');
  const firstName = first.metadata?.name ?? '';
  const endpoint = await w().fixtures.endpoint(ns(), firstName);
  expect(endpoint?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Pod', uid: first.metadata?.uid });
  expect(await w().fixtures.endpoint(ns(), 'vm-off')).toBeUndefined();
  expect((await w().fixtures.poolState(w().pool)).records.map((r) => r.pod)).toEqual([
    `${ns()}/${firstName}`,
  ]);

  await w().fixtures.core.deleteNamespacedPod({ namespace: ns(), name: firstName });
  const second = await runningPod('vm-off', [first]);
  await eventually('only the new pod holds a record', async () => {
    const pods = (await w().fixtures.poolState(w().pool)).records.map((r) => r.pod);
    return pods.join() === `${ns()}/${second.metadata?.name}`;
  });
}, 300_000);

test('a migration target gets an address of its own (the VM does not keep its address)', async () => {
  await create(w().fixtures.admin, vmManifest(ns(), 'vm-off-mig', { defaultNetwork: w().nad }));
  const source = await runningPod('vm-off-mig');
  await w()
    .fixtures.admin.makeApiClient(CustomObjectsApi)
    .createNamespacedCustomObject({
      ...kv('vmim', ns()),
      body: {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstanceMigration',
        metadata: { name: 'mig-vm-off' },
        spec: { vmiName: 'vm-off-mig' },
      },
    });
  const target = await runningPod('vm-off-mig', [source]);
  expect(target.spec?.nodeName).not.toBe(source.spec?.nodeName);
  expect(ipsOf(target)).toHaveLength(1);
  expect(ipsOf(target)).not.toEqual(ipsOf(source));
  // The source completes after the migration; a finished stateless pod's addresses are freed.
  await eventually('only the target holds a record', async () => {
    const pods = (await w().fixtures.poolState(w().pool)).records.map((r) => r.pod);
    return pods.join() === `${ns()}/${target.metadata?.name}`;
  });
}, 300_000);
