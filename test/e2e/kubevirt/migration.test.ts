// Live migration through KubeVirt's own controller, with the node agent answering as the target and
// source virt-handlers: virt-controller creates the target launcher pod (anti-affine to the source),
// kube-scheduler puts it on the other node, the agent runs its CNI chain (the compiled plugin gives it
// the VM's address), then completes, fails or lets the user abort the migration; virt-api's admission,
// served by the agent, refuses a VM whose pod-network binding cannot migrate.
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { eventually } from '../../harness/wait.js';
import {
  create,
  deleteVm,
  kv,
  launcherPods,
  useKubeVirtWorld,
  type Vmi,
  type Vmim,
  vmManifest,
  waitVmi,
} from './fixtures.js';

describe('live migration through virt-controller, the node agent answering', () => {
  const bed = useKubeVirtWorld(
    'kv-mig',
    { subnet: '198.18.81.0/24', ips: ['198.18.81.10-198.18.81.19'] },
    // VMs named hold-* wait in the middle of their migration until the test decides.
    { migrations: (vmi) => (vmi.metadata.name?.startsWith('hold-') ? 'hold' : 'complete') },
  );
  const w = () => bed.world;
  const objects = () => w().fixtures.admin.makeApiClient(CustomObjectsApi);

  async function runningVm(
    name: string,
    binding?: Record<string, unknown>,
  ): Promise<{ vmi: Vmi; pod: V1Pod }> {
    await create(
      w().fixtures.admin,
      vmManifest(w().namespace, name, { defaultNetwork: w().nad, ...(binding ? { binding } : {}) }),
    );
    const vmi = await waitVmi(
      w().fixtures.admin,
      w().namespace,
      name,
      'to run',
      (v) => v.status?.phase === 'Running',
    );
    const [pod] = await launcherPods(w().fixtures, w().namespace, vmi);
    if (!pod) throw new Error(`no launcher pod for ${name}`);
    return { vmi, pod };
  }

  async function migrate(vmiName: string, name = `mig-${vmiName}`): Promise<Vmim> {
    return (await objects().createNamespacedCustomObject({
      ...kv('vmim', w().namespace),
      body: {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstanceMigration',
        metadata: { name },
        spec: { vmiName },
      },
    })) as Vmim;
  }

  function waitMigration(name: string, phase: string): Promise<Vmim> {
    return eventually(
      `migration ${name} to be ${phase}`,
      async () => {
        const m = (await objects().getNamespacedCustomObject({ ...kv('vmim', w().namespace), name })) as Vmim;
        return m.status?.phase === phase && m;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
  }

  const ipsOf = (pod: V1Pod | undefined) => pod?.status?.podIPs?.map((p) => p.ip);

  test('a masquerade VM migrates to the other node with its address; the source launcher completes and is released', async () => {
    const { vmi, pod: source } = await runningVm('vm-mig');
    await migrate('vm-mig');
    await waitMigration('mig-vm-mig', 'Succeeded');
    const after = await waitVmi(
      w().fixtures.admin,
      w().namespace,
      'vm-mig',
      'to run on the other node',
      (v) => v.status?.nodeName !== vmi.status?.nodeName,
    );
    expect(after.metadata.labels?.['kubevirt.io/nodeName']).toBe(after.status?.nodeName);
    const pods = await launcherPods(w().fixtures, w().namespace, vmi);
    const target = pods.find((p) => p.metadata?.name !== source.metadata?.name);
    expect(target?.spec?.nodeName).toBe(after.status?.nodeName);
    expect(ipsOf(target)).toEqual(ipsOf(source));
    await eventually('the source launcher to complete and lose its sandbox', async () => {
      const again = (await launcherPods(w().fixtures, w().namespace, vmi)).find(
        (p) => p.metadata?.uid === source.metadata?.uid,
      );
      return (
        again?.status?.phase === 'Succeeded' &&
        w().agent.netnsOf(w().namespace, source.metadata?.name ?? '') === undefined
      );
    });
    await deleteVm(w().fixtures, w().namespace, 'vm-mig');
  }, 240_000);

  test.each([
    ['a bridge VM without the allow annotation', 'vm-bridge', { bridge: {} }],
    ['a VM with the discontinued passt: {} (the seed’s vm-cirros)', 'vm-passt', { passt: {} }],
  ])(
    '%s is refused at admission with InterfaceNotLiveMigratable',
    async (_, name, binding) => {
      await runningVm(name, binding);
      const vmi = await waitVmi(w().fixtures.admin, w().namespace, name, 'to be marked not migratable', (v) =>
        Boolean(v.status?.conditions?.some((c) => c.type === 'LiveMigratable' && c.status === 'False')),
      );
      expect(vmi.status?.conditions?.find((c) => c.type === 'LiveMigratable')?.reason).toBe(
        'InterfaceNotLiveMigratable',
      );
      await expect(migrate(name)).rejects.toMatchObject({
        body: expect.stringContaining('Cannot migrate VMI, Reason: InterfaceNotLiveMigratable'),
      });
      await deleteVm(w().fixtures, w().namespace, name);
    },
    240_000,
  );

  test('a failed migration leaves the VM on its source; the target launcher fails and is released', async () => {
    const { vmi, pod: source } = await runningVm('vm-fail');
    w().agent.failMigration(w().namespace, 'vm-fail');
    await migrate('vm-fail');
    await waitMigration('mig-vm-fail', 'Failed');
    const after = await waitVmi(w().fixtures.admin, w().namespace, 'vm-fail', 'to record the failure', (v) =>
      Boolean(v.status?.migrationState?.failed),
    );
    expect(after.status?.nodeName).toBe(vmi.status?.nodeName);
    await eventually('the target launcher to fail and lose its sandbox', async () => {
      const pods = await launcherPods(w().fixtures, w().namespace, vmi);
      const target = pods.find((p) => p.metadata?.name !== source.metadata?.name);
      return target?.status?.phase === 'Failed' && w().agent.pods().length === 1;
    });
    const sourceNow = (await launcherPods(w().fixtures, w().namespace, vmi)).find(
      (p) => p.metadata?.uid === source.metadata?.uid,
    );
    expect(sourceNow?.status?.phase).toBe('Running');
    await deleteVm(w().fixtures, w().namespace, 'vm-fail');
  }, 240_000);

  test('deleting a migration in flight aborts it: the VM stays on its source', async () => {
    const { vmi } = await runningVm('hold-abort');
    await migrate('hold-abort');
    await waitVmi(w().fixtures.admin, w().namespace, 'hold-abort', 'to have a ready target', (v) =>
      Boolean(v.status?.migrationState?.targetNodeAddress),
    );
    await objects().deleteNamespacedCustomObject({ ...kv('vmim', w().namespace), name: 'mig-hold-abort' });
    const after = await waitVmi(w().fixtures.admin, w().namespace, 'hold-abort', 'to record the abort', (v) =>
      Boolean(v.status?.migrationState?.abortStatus),
    );
    expect(after.status?.migrationState).toMatchObject({
      abortStatus: 'Succeeded',
      completed: true,
      failed: true,
    });
    expect(after.status?.nodeName).toBe(vmi.status?.nodeName);
    await eventually('the migration object to go', async () => {
      const list = (await objects().listNamespacedCustomObject(kv('vmim', w().namespace))) as {
        items: Vmim[];
      };
      return list.items.every((m) => m.metadata.name !== 'mig-hold-abort');
    });
    await deleteVm(w().fixtures, w().namespace, 'hold-abort');
  }, 240_000);
});
