// KubeVirt on the test bed's real nodes (needs root): the user's installation (the image of `npm run
// image` imported, the synthesized manifests applied unchanged with kubectl) on two nodes that run
// containerd, kubelet and kube-proxy, with virt-controller. kubelet starts the launcher pods (the
// stand-in virt-launcher image), containerd's CNI chain makes their networks (the Multus stand-in
// first in the node's CNI configuration, delegating to Debian's bridge with the installed spiderpool
// as IPAM), and the node agent plays only virt-handler. No pod status is written by hand.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { objectNames } from '../../../api/install/names.js';
import { Installation, installNamespace } from '../../harness/installation.js';
import { NodeAgent } from '../../harness/node-agent/index.js';
import { eventually } from '../../harness/wait.js';
import { nadManifest, vmManifest } from './fixtures.js';

const namespace = 'vms';
const pool = 'vm-pool';
const vm = 'vm1';
const bluePool = 'vm-blue-pool';
/** KubeVirt names a secondary interface `pod` + the first 11 hex digits of SHA-256 of its network's name. */
const blueNic = `pod${createHash('sha256').update('blue').digest('hex').slice(0, 11)}`;
/** The VM's fixed-IP annotation: a pool per NIC. */
const poolsAnnotation = {
  'ipam.spidernet.io/ippools': JSON.stringify([
    { interface: 'eth0', ipv4: [pool] },
    { interface: blueNic, ipv4: [bluePool] },
  ]),
};
const inRange = /^198\.18\.78\.(1\d|20)$/;
const inBlue = /^198\.18\.79\.(1\d|20)$/;

let inst: Installation;
let agent: NodeAgent | undefined;
const k = (...args: string[]) => inst.k(...args);

interface Pod {
  metadata: { name: string; uid: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string };
}
interface Vmi {
  metadata: { uid: string };
  status?: { phase?: string; nodeName?: string; migrationState?: { completed?: boolean; failed?: boolean } };
}
interface Endpoint {
  status: {
    ownerControllerType?: string;
    ownerControllerName?: string;
    current: { uid: string; node: string; ips: Array<{ ipv4?: string; ipv4Pool?: string }> };
  };
}

const vmi = () => inst.getJson<Vmi>('vmi', '-n', namespace, vm);
const endpoint = () => inst.getJson<Endpoint>('spiderendpoint', '-n', namespace, vm);
/** The launcher pods of the namespace (the test's one VM). */
async function launchers(): Promise<Pod[]> {
  const list = await inst.getJson<{ items: Pod[] }>(
    'pods',
    '-n',
    namespace,
    '-l',
    'kubevirt.io=virt-launcher',
  );
  return list.items;
}

/** The VMI Running with one launcher pod that kubelet runs with an address. */
async function runningLauncher(what: string, not?: string): Promise<Pod> {
  return eventually(
    what,
    async () => {
      const v = await vmi().catch(() => undefined);
      if (v?.status?.phase !== 'Running') return undefined;
      const running = (await launchers()).filter(
        (p) => p.status.phase === 'Running' && p.status.podIP && !p.metadata.deletionTimestamp,
      );
      return running.length === 1 && running[0]?.metadata.uid !== not ? running[0] : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 500 },
  );
}

/** The IPv4 address on the launcher's eth0, as `ip` inside its compute container shows it. */
const eth0Inside = (pod: string) => inst.eth0Address(namespace, pod, 'compute');

/** The secondary NIC's address, from the network-status the Multus stand-in wrote on the pod. */
function blueAddress(pod: Pod): string | undefined {
  const status = JSON.parse(
    pod.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
  ) as Array<{
    interface: string;
    ips: string[];
  }>;
  return status.find((s) => s.interface === blueNic)?.ips[0];
}

/** A VM on the bridge network (eth0, masquerade) and a second bridge network (`blue`, bridge binding). */
const vmWithTwoNics = () => {
  const manifest = vmManifest(namespace, vm, {
    defaultNetwork: `${namespace}/vm-bridge`,
    annotations: poolsAnnotation,
  }) as { spec: { template: { spec: Record<string, { interfaces?: unknown[] } | unknown[]> } } };
  const spec = manifest.spec.template.spec as {
    domain: { devices: { interfaces: unknown[] } };
    networks: unknown[];
  };
  spec.domain.devices.interfaces.push({ name: 'blue', bridge: {} });
  spec.networks.push({ name: 'blue', multus: { networkName: `${namespace}/vm-blue` } });
  return manifest;
};

/** A bridge NetworkAttachmentDefinition whose IPAM is the plugin; its bridge is made in the node. */
const bridgeNad = (name: string, bridge: string) =>
  nadManifest(namespace, name, {
    cniVersion: '1.0.0',
    name,
    plugins: [{ type: 'bridge', bridge, ipam: { type: 'spiderpool' } }],
  });

beforeAll(async () => {
  inst = await Installation.start('e2e-real-kubevirt', { nodes: 2, kubevirt: true });
  console.log(`two-node test bed with KubeVirt up in ${inst.startSeconds.toFixed(1)} s`);
  // virt-handler's part only; a migration is held until the test has seen both launchers run.
  agent = await NodeAgent.start({
    controlPlane: inst.cp,
    kubelet: false,
    dir: join(inst.work, 'agent'),
    migrations: () => 'hold',
  });
}, 600_000);

afterAll(async () => {
  await agent?.stop();
  await inst?.stop();
}, 120_000);

test('the kubelet-registered nodes are KubeVirt-schedulable, and the installation rolls out on them', async () => {
  const nodes = await inst.getJson<{
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
  await inst.applyManifests();
  const ds = await inst.getJson<{ status: { numberReady: number } }>(
    'daemonset',
    '-n',
    installNamespace,
    objectNames.nodeDaemonSet,
  );
  expect(ds.status.numberReady).toBe(2);
}, 300_000);

test('a VM with two NICs gets its addresses through kubelet, the Multus stand-in and the plugin; the endpoint names the VM', async () => {
  for (const [name, net] of [
    [pool, '198.18.78'],
    [bluePool, '198.18.79'],
  ] as const) {
    await eventually(
      `pool ${name} to be admitted`,
      async () => {
        await inst.applyObject({
          apiVersion: 'spiderpool.spidernet.io/v2beta1',
          kind: 'SpiderIPPool',
          metadata: { name },
          spec: { subnet: `${net}.0/24`, ips: [`${net}.10-${net}.20`], gateway: `${net}.1` },
        });
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  }
  await k('create', 'namespace', namespace);
  await inst.applyObject(bridgeNad('vm-bridge', 'br-vm'));
  await inst.applyObject(bridgeNad('vm-blue', 'br-blue'));
  await inst.applyObject(vmWithTwoNics());

  const launcher = await runningLauncher('the VM running with a launcher pod kubelet started');
  console.log(
    `kubectl apply to the first VM with an address: ${((Date.now() - inst.appliedAt) / 1000).toFixed(1)} s`,
  );
  expect(launcher.metadata.name).toMatch(new RegExp(`^virt-launcher-${vm}-`));
  expect(launcher.status.podIP).toMatch(inRange);
  expect(['node-1', 'node-2']).toContain(launcher.spec.nodeName);
  expect((await vmi()).status?.nodeName).toBe(launcher.spec.nodeName);
  expect(await eth0Inside(launcher.metadata.name)).toBe(`${launcher.status.podIP}/24`);
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
  const ep = await endpoint();
  expect(ep.status).toMatchObject({ ownerControllerType: 'VirtualMachineInstance', ownerControllerName: vm });
  expect(ep.status.current).toMatchObject({ uid: launcher.metadata.uid, node: launcher.spec.nodeName });
  expect(ep.status.current.ips).toEqual([
    expect.objectContaining({ ipv4: `${launcher.status.podIP}/24`, ipv4Pool: pool }),
    expect.objectContaining({ ipv4: `${blueAddress(launcher)}/24`, ipv4Pool: bluePool }),
  ]);
}, 360_000);

test('the launcher pod deleted: the next launcher kubelet starts has the same addresses', async () => {
  const [before] = (await launchers()).filter((p) => p.status.phase === 'Running');
  expect(before?.status.podIP).toMatch(inRange);
  await k('delete', 'pod', '-n', namespace, before?.metadata.name ?? '', '--wait=false');
  const after = await runningLauncher('a new launcher pod running', before?.metadata.uid);
  expect(after.status.podIP).toBe(before?.status.podIP);
  expect(blueAddress(after)).toBe(blueAddress(before as Pod));
  expect(await eth0Inside(after.metadata.name)).toBe(`${before?.status.podIP}/24`);
  await eventually('the endpoint to follow the new launcher', async () => {
    const ep = await endpoint();
    return ep.status.current.uid === after.metadata.uid;
  });
}, 300_000);

test('a live migration across the two nodes: the target launcher gets the same addresses while the source runs', async () => {
  const source = await runningLauncher('the VM running');
  const address = source.status.podIP;
  await inst.applyObject({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstanceMigration',
    metadata: { name: 'move', namespace },
    spec: { vmiName: vm },
  });
  const target = await eventually(
    'the target launcher running on the other node',
    async () =>
      (await launchers()).find(
        (p) =>
          p.metadata.uid !== source.metadata.uid &&
          p.status.phase === 'Running' &&
          p.status.podIP &&
          p.spec.nodeName !== source.spec.nodeName,
      ),
    { timeoutMs: 240_000, intervalMs: 500 },
  );
  expect(target.status.podIP).toBe(address);
  expect(blueAddress(target)).toBe(blueAddress(source));
  expect(await eth0Inside(target.metadata.name)).toBe(`${address}/24`);
  // Both run at once: the migration is held until now.
  const sourceNow = (await launchers()).find((p) => p.metadata.uid === source.metadata.uid);
  expect(sourceNow?.status.phase).toBe('Running');

  agent?.completeMigration(namespace, vm);
  await eventually(
    'the migration to succeed',
    async () =>
      (await inst.getJson<{ status?: { phase?: string } }>('vmim', '-n', namespace, 'move')).status?.phase ===
      'Succeeded',
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  expect((await vmi()).status?.nodeName).toBe(target.spec.nodeName);
  // The source launcher ends as a real one does once its domain has left: kubelet reports it.
  await eventually(
    'the source launcher Succeeded',
    async () =>
      (await launchers()).find((p) => p.metadata.uid === source.metadata.uid)?.status.phase === 'Succeeded',
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  await eventually(
    'the endpoint to follow the VM to the target node',
    async () => {
      const ep = await endpoint();
      return ep.status.current.uid === target.metadata.uid && ep.status.current.node === target.spec.nodeName;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}, 420_000);

test('the VM deleted: its launchers go and its address is free', async () => {
  await k('delete', 'vm', '-n', namespace, vm, '--wait=false');
  await eventually(
    'the launcher pods, the endpoint and the address to be gone',
    async () => {
      const pods = await launchers();
      const eps = await inst.getJson<{ items: unknown[] }>('spiderendpoints', '-n', namespace);
      const p = await inst.getJson<{ status: { allocatedIPCount?: number } }>('spiderippool', pool);
      return pods.length === 0 && eps.items.length === 0 && (p.status.allocatedIPCount ?? 0) === 0;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
}, 240_000);
