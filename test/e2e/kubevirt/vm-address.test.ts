// The chain a KubeVirt VM's address comes through, every link real: a VirtualMachine created as a user
// creates it; KubeVirt's virt-controller makes its VMI and launcher pod; kube-scheduler binds the pod
// to a KubeVirt node; the node agent (kubelet + Multus's delegation) runs Debian's macvlan, which calls
// the compiled spiderpool as IPAM, for the NetworkAttachmentDefinition the VM's template names in
// `v1.multus-cni.io/default-network`; virt-handler's part makes the VMI Running.
import type { V1Pod } from '@kubernetes/client-node';
import { controlPlane } from '../../harness/clients.js';
import { create, deleteVm, launcherPods, useKubeVirtWorld, vmManifest, waitVmi } from './fixtures.js';

const w = () => bed.world;

const bed = useKubeVirtWorld('kv-vm', {
  subnet: '198.18.80.0/24',
  ips: ['198.18.80.10-198.18.80.19'],
  gateway: '198.18.80.1',
});

test('a VM created by a user gets its address through virt-controller, the scheduler, Multus delegation and the compiled plugin', async () => {
  const { fixtures, namespace, nad, pool, agent, lab } = w();
  await create(fixtures.admin, vmManifest(namespace, 'vm-e2e', { defaultNetwork: nad }));

  const vmi = await waitVmi(
    fixtures.admin,
    namespace,
    'vm-e2e',
    'to run',
    (v) => v.status?.phase === 'Running',
  );
  expect(controlPlane().kubevirtNodes).toContain(vmi.status?.nodeName);
  expect(vmi.status?.conditions).toEqual(
    expect.arrayContaining([expect.objectContaining({ type: 'LiveMigratable', status: 'True' })]),
  );

  const pods = await launcherPods(fixtures, namespace, vmi);
  expect(pods).toHaveLength(1);
  const launcher = pods[0] as V1Pod;
  expect(launcher.metadata?.name).toMatch(/^virt-launcher-vm-e2e-/);
  expect(launcher.spec?.nodeName).toBe(vmi.status?.nodeName);
  expect(launcher.status?.phase).toBe('Running');
  expect(launcher.status?.podIPs).toEqual([{ ip: '198.18.80.10' }]);
  expect(JSON.parse(launcher.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]')).toEqual([
    expect.objectContaining({ name: nad, interface: 'eth0', ips: ['198.18.80.10'], default: true }),
  ]);

  const endpoint = await fixtures.endpoint(namespace, 'vm-e2e');
  expect(endpoint?.status).toMatchObject({
    ownerControllerType: 'VirtualMachineInstance',
    ownerControllerName: 'vm-e2e',
    current: {
      uid: launcher.metadata?.uid,
      node: vmi.status?.nodeName,
      ips: [expect.objectContaining({ interface: 'eth0', ipv4: '198.18.80.10/24', ipv4Pool: pool })],
    },
  });
  expect((await fixtures.poolState(pool)).records.map((r) => [r.ip, r.pod])).toEqual([
    ['198.18.80.10', `${namespace}/vm-e2e`],
  ]);

  const netns = agent.netnsOf(namespace, launcher.metadata?.name ?? '');
  expect(netns).toBeDefined();
  const inside = await lab.addresses(netns as string, 'eth0');
  expect(inside.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).toEqual([
    '198.18.80.10/24',
  ]);
}, 180_000);

test('deleting the VM stops it: virt-controller deletes the VMI and pod, the agent runs CNI DEL and removes them', async () => {
  const { fixtures, namespace, agent, lab } = w();
  const [launcher] = agent.pods();
  const netns = agent.netnsOf(namespace, launcher?.split('/')[1] ?? '');
  expect(netns).toBeDefined();
  await deleteVm(fixtures, namespace, 'vm-e2e');
  expect(agent.pods()).toEqual([]);
  expect(await lab.linkExists('lo', netns)).toBe(false);
}, 120_000);
