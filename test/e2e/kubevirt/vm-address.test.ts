// The chain a KubeVirt VM's address comes through, every link real: a VirtualMachine created as a user
// creates it; KubeVirt's virt-controller makes its VMI and launcher pod; kube-scheduler binds the pod
// to a KubeVirt node; the node agent (kubelet + Multus's delegation) runs Debian's macvlan, which calls
// the compiled spiderpool as IPAM, for the NetworkAttachmentDefinition the VM's template names in
// `v1.multus-cni.io/default-network`; virt-handler's part makes the VMI Running.
import { CustomObjectsApi, KubernetesObjectApi, type V1Pod } from '@kubernetes/client-node';
import { kubevirtGroup, kubevirtKinds, kubevirtVersion } from '../../../api/index.js';
import { isNotFound } from '../../../kube/errors.js';
import { controlPlane } from '../../harness/clients.js';
import { NetworkLab } from '../../harness/netns.js';
import { NodeAgent } from '../../harness/node-agent/index.js';
import { type ClusterFixtures, PluginTestbed } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';

const lab = new NetworkLab();
let testbed: PluginTestbed;
let fixtures: ClusterFixtures;
let agent: NodeAgent | undefined;
let namespace: string;
let pool: string;
let nad: string;

interface Vmi {
  metadata: { name: string; uid: string };
  status?: { phase?: string; nodeName?: string; conditions?: Array<{ type: string; status: string }> };
}

beforeAll(async () => {
  const cp = controlPlane();
  if (!cp.kubevirt) throw new Error('this test needs the control plane started with KubeVirt');
  testbed = await PluginTestbed.start('kubevirt-e2e-vm');
  fixtures = testbed.fixtures;
  agent = await NodeAgent.start({ controlPlane: cp, dir: `${testbed.dir}/agent` });
  namespace = await fixtures.namespace('kv-vm');
  const master = (await lab.vethPair({ bNetns: await lab.netns() })).a;
  pool = await fixtures.pool({
    subnet: '198.18.80.0/24',
    ips: ['198.18.80.10-198.18.80.19'],
    gateway: '198.18.80.1',
  });
  nad = 'macvlan-vm';
  await fixtures.admin.makeApiClient(KubernetesObjectApi).create({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: nad, namespace },
    spec: {
      config: JSON.stringify({
        cniVersion: '1.0.0',
        type: 'macvlan',
        master,
        mode: 'bridge',
        ipam: { type: 'spiderpool', default_ipv4_ippool: [pool] },
      }),
    },
  } as never);
}, 240_000);

afterAll(async () => {
  await agent?.stop();
  await lab.cleanup();
  await testbed?.close();
}, 120_000);

const vmResource = () => ({
  group: kubevirtGroup,
  version: kubevirtVersion,
  plural: kubevirtKinds.vm.plural,
  namespace,
  name: 'vm-e2e',
});

test('a VM created by a user gets its address through virt-controller, the scheduler, Multus delegation and the compiled plugin', async () => {
  const objects = fixtures.admin.makeApiClient(CustomObjectsApi);
  await fixtures.admin.makeApiClient(KubernetesObjectApi).create({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'vm-e2e', namespace },
    spec: {
      runStrategy: 'Always',
      template: {
        metadata: { annotations: { 'v1.multus-cni.io/default-network': `${namespace}/${nad}` } },
        spec: {
          domain: {
            devices: { interfaces: [{ name: 'default', masquerade: {} }] },
            resources: { requests: { memory: '64M' } },
          },
          networks: [{ name: 'default', pod: {} }],
        },
      },
    },
  } as never);

  const vmi = await eventually(
    'the VMI to run',
    async () => {
      const got = (await objects.getNamespacedCustomObject({
        group: kubevirtGroup,
        version: kubevirtVersion,
        plural: kubevirtKinds.vmi.plural,
        namespace,
        name: 'vm-e2e',
      })) as Vmi;
      return got.status?.phase === 'Running' && got;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  expect(controlPlane().kubevirtNodes).toContain(vmi.status?.nodeName);
  expect(vmi.status?.conditions).toEqual(
    expect.arrayContaining([expect.objectContaining({ type: 'LiveMigratable', status: 'True' })]),
  );

  const pods = await fixtures.core.listNamespacedPod({
    namespace,
    labelSelector: `kubevirt.io/created-by=${vmi.metadata.uid}`,
  });
  expect(pods.items).toHaveLength(1);
  const launcher = pods.items[0] as V1Pod;
  expect(launcher.metadata?.name).toMatch(/^virt-launcher-vm-e2e-/);
  expect(launcher.spec?.nodeName).toBe(vmi.status?.nodeName);
  expect(launcher.status?.phase).toBe('Running');
  expect(launcher.status?.podIPs).toEqual([{ ip: '198.18.80.10' }]);
  expect(JSON.parse(launcher.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]')).toEqual([
    expect.objectContaining({
      name: `${namespace}/${nad}`,
      interface: 'eth0',
      ips: ['198.18.80.10'],
      default: true,
    }),
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

  const netns = agent?.netnsOf(namespace, launcher.metadata?.name ?? '');
  expect(netns).toBeDefined();
  const inside = await lab.addresses(netns as string, 'eth0');
  expect(inside.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).toEqual([
    '198.18.80.10/24',
  ]);
}, 180_000);

test('deleting the VM stops it: virt-controller deletes the VMI and pod, the agent runs CNI DEL and removes them', async () => {
  const objects = fixtures.admin.makeApiClient(CustomObjectsApi);
  const [launcher] = agent?.pods() ?? [];
  const netns = agent?.netnsOf(namespace, launcher?.split('/')[1] ?? '');
  expect(netns).toBeDefined();
  await objects.deleteNamespacedCustomObject(vmResource());
  await eventually(
    'the VM and its launcher pod to be gone',
    async () => {
      const pods = await fixtures.core.listNamespacedPod({ namespace });
      const vm = await objects
        .getNamespacedCustomObject(vmResource())
        .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
      return pods.items.length === 0 && vm === undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  expect(agent?.pods()).toEqual([]);
  expect(await lab.linkExists('lo', netns)).toBe(false);
}, 120_000);
