// KubeVirt on the test bed's real nodes (needs root): the user's installation (the image of `npm run
// image` imported, the synthesized manifests applied unchanged with kubectl) on two nodes that run
// containerd, kubelet and kube-proxy, with virt-controller. kubelet starts the launcher pods (the
// stand-in virt-launcher image), containerd's CNI chain makes their networks (the Multus stand-in
// first in the node's CNI configuration, delegating to Debian's bridge with the installed spiderpool
// as IPAM), and the node agent plays only virt-handler. No pod status is written by hand.
import { objectNames } from '../../../api/install/names.js';
import { installNamespace } from '../../harness/installation.js';
import { eventually } from '../../harness/wait.js';
import {
  blueAddress,
  blueNic,
  bluePool,
  inBlue,
  inRange,
  namespace,
  type Pod,
  pool,
  useRealNodesVm,
  vm,
} from './real-nodes-fixture.js';

const t = useRealNodesVm('e2e-real-kubevirt');

test('the kubelet-registered nodes are KubeVirt-schedulable, and the installation rolls out on them', async () => {
  const nodes = await t().inst.getJson<{
    items: Array<{
      metadata: { name: string; labels: Record<string, string> };
      status: { allocatable: Record<string, string> };
    }>;
  }>('nodes');
  expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(['node-1', 'node-2']);
  for (const node of nodes.items) {
    expect(node.metadata.labels['kubevirt.io/schedulable']).toBe('true');
    expect(node.status.allocatable).toMatchObject({
      'devices.kubevirt.io/kvm': '1k',
      'devices.kubevirt.io/tun': '1k',
      'devices.kubevirt.io/vhost-net': '1k',
    });
  }
  await t().inst.applyManifests();
  const ds = await t().inst.getJson<{ status: { numberReady: number } }>(
    'daemonset',
    '-n',
    installNamespace,
    objectNames.nodeDaemonSet,
  );
  expect(ds.status.numberReady).toBe(2);
}, 300_000);

test('a VM with two NICs gets its addresses through kubelet, the Multus stand-in and the plugin; the endpoint names the VM', async () => {
  await t().createVm();

  const launcher = await t().runningLauncher('the VM running with a launcher pod kubelet started');
  console.log(
    `kubectl apply to the first VM with an address: ${((Date.now() - t().inst.appliedAt) / 1000).toFixed(1)} s`,
  );
  expect(launcher.metadata.name).toMatch(new RegExp(`^virt-launcher-${vm}-`));
  expect(launcher.status.podIP).toMatch(inRange);
  expect(['node-1', 'node-2']).toContain(launcher.spec.nodeName);
  expect((await t().vmi()).status?.nodeName).toBe(launcher.spec.nodeName);
  expect(await t().eth0Inside(launcher.metadata.name)).toBe(`${launcher.status.podIP}/24`);
  // Written by the Multus stand-in that containerd called.
  expect(JSON.parse(launcher.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]')).toEqual([
    expect.objectContaining({
      name: `${namespace}/vm-bridge`,
      interface: 'eth0',
      ips: [launcher.status.podIP],
      default: true,
    }),
    expect.objectContaining({ name: `${namespace}/vm-blue`, interface: blueNic }),
  ]);
  expect(blueAddress(launcher)).toMatch(inBlue);
  const ep = await t().endpoint();
  expect(ep.status).toMatchObject({ ownerControllerType: 'VirtualMachineInstance', ownerControllerName: vm });
  expect(ep.status.current).toMatchObject({ uid: launcher.metadata.uid, node: launcher.spec.nodeName });
  expect(ep.status.current.ips).toEqual([
    expect.objectContaining({ ipv4: `${launcher.status.podIP}/24`, ipv4Pool: pool }),
    expect.objectContaining({ ipv4: `${blueAddress(launcher)}/24`, ipv4Pool: bluePool }),
  ]);
}, 360_000);

test('the launcher pod deleted: the next launcher kubelet starts has the same addresses', async () => {
  const [before] = (await t().launchers()).filter((p) => p.status.phase === 'Running');
  expect(before?.status.podIP).toMatch(inRange);
  await t().k('delete', 'pod', '-n', namespace, before?.metadata.name ?? '', '--wait=false');
  const after = await t().runningLauncher('a new launcher pod running', before?.metadata.uid);
  expect(after.status.podIP).toBe(before?.status.podIP);
  expect(blueAddress(after)).toBe(blueAddress(before as Pod));
  expect(await t().eth0Inside(after.metadata.name)).toBe(`${before?.status.podIP}/24`);
  await eventually('the endpoint to follow the new launcher', async () => {
    const ep = await t().endpoint();
    return ep.status.current.uid === after.metadata.uid;
  });
}, 300_000);

test('a live migration across the two nodes: the target launcher gets the same addresses while the source runs', async () => {
  const source = await t().runningLauncher('the VM running');
  const address = source.status.podIP;
  const target = await t().migrateToRunningTarget('move', source);
  expect(target.status.podIP).toBe(address);
  expect(blueAddress(target)).toBe(blueAddress(source));
  expect(await t().eth0Inside(target.metadata.name)).toBe(`${address}/24`);
  // Both run at once: the migration is held until now.
  const sourceNow = (await t().launchers()).find((p) => p.metadata.uid === source.metadata.uid);
  expect(sourceNow?.status.phase).toBe('Running');

  t().agent.completeMigration(namespace, vm);
  await eventually(
    'the migration to succeed',
    async () =>
      (await t().inst.getJson<{ status?: { phase?: string } }>('vmim', '-n', namespace, 'move')).status
        ?.phase === 'Succeeded',
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  expect((await t().vmi()).status?.nodeName).toBe(target.spec.nodeName);
  // The source launcher ends as a real one does once its domain has left: kubelet reports it.
  await eventually(
    'the source launcher Succeeded',
    async () =>
      (await t().launchers()).find((p) => p.metadata.uid === source.metadata.uid)?.status.phase ===
      'Succeeded',
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  await eventually(
    'the endpoint to follow the VM to the target node',
    async () => {
      const ep = await t().endpoint();
      return ep.status.current.uid === target.metadata.uid && ep.status.current.node === target.spec.nodeName;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}, 420_000);

test('the VM deleted: its launchers go and its address is free', async () => {
  await t().k('delete', 'vm', '-n', namespace, vm, '--wait=false');
  await eventually(
    'the launcher pods, the endpoint and the address to be gone',
    async () => {
      const pods = await t().launchers();
      const eps = await t().inst.getJson<{ items: unknown[] }>('spiderendpoints', '-n', namespace);
      return pods.length === 0 && eps.items.length === 0 && (await t().allocated(pool)) === 0;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
}, 240_000);
