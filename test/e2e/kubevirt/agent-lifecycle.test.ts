// The node agent's parts in a VM's lifecycle, with virt-controller deciding: a launcher pod a user
// deletes gets CNI DEL and goes, virt-controller fails its VMI and makes a new one whose launcher pod
// gets the VM's address again; stopping the VM (runStrategy Halted) ends the VMI through the agent's
// Succeeded, and starting it again brings a new VMI with the same address.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { eventually } from '../../harness/wait.js';
import {
  create,
  deleteVm,
  getVmi,
  kv,
  launcherPods,
  useKubeVirtWorld,
  vmManifest,
  waitVmi,
} from './fixtures.js';

const w = () => bed.world;

const bed = useKubeVirtWorld('kv-life', {
  subnet: '198.18.85.0/24',
  ips: ['198.18.85.10-198.18.85.19'],
});

async function running(previousUid?: string) {
  const { fixtures, namespace } = w();
  const vmi = await waitVmi(
    fixtures.admin,
    namespace,
    'vm-life',
    'to run (a new incarnation)',
    (v) => v.status?.phase === 'Running' && v.metadata.uid !== previousUid,
  );
  const pods = await launcherPods(fixtures, namespace, vmi);
  return { vmi, pod: pods.find((p) => p.status?.phase === 'Running') };
}

async function runStrategy(value: string): Promise<void> {
  await w()
    .fixtures.admin.makeApiClient(CustomObjectsApi)
    .patchNamespacedCustomObject(
      { ...kv('vm', w().namespace), name: 'vm-life', body: { spec: { runStrategy: value } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

test('launcher pod deleted, VM stopped and started: the agent plays its part and the VM keeps its address', async () => {
  const { fixtures, namespace, nad } = w();
  await create(fixtures.admin, vmManifest(namespace, 'vm-life', { defaultNetwork: nad }));
  const first = await running();
  const address = first.pod?.status?.podIPs;
  expect(address).toEqual([{ ip: '198.18.85.10' }]);

  // A user deletes the launcher pod (graceful): the agent runs DEL and removes it.
  await fixtures.core.deleteNamespacedPod({ namespace, name: first.pod?.metadata?.name ?? '' });
  const second = await running(first.vmi.metadata.uid);
  expect(second.pod?.metadata?.uid).not.toBe(first.pod?.metadata?.uid);
  expect(second.pod?.status?.podIPs).toEqual(address);
  expect(w().agent.netnsOf(namespace, first.pod?.metadata?.name ?? '')).toBeUndefined();

  // Stop: the VMI goes (the agent marks it Succeeded), so does the pod.
  await runStrategy('Halted');
  await eventually(
    'the VMI and its launcher pods to be gone',
    async () =>
      (await getVmi(fixtures.admin, namespace, 'vm-life')) === undefined &&
      (await fixtures.core.listNamespacedPod({ namespace })).items.length === 0,
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  expect(w().agent.pods()).toEqual([]);

  // Start again: a new VMI, a new launcher pod, the same address.
  await runStrategy('Always');
  const third = await running(second.vmi.metadata.uid);
  expect(third.pod?.status?.podIPs).toEqual(address);
  await deleteVm(fixtures, namespace, 'vm-life');
}, 300_000);
