// KubeVirt fixed IPs through Debian's macvlan and the compiled plugin, with Pod objects shaped as
// KubeVirt makes launcher pods (controller ownerReference to the VMI) and KubeVirt v1.6.0's own CRDs.
// IP conflict detection is on for both nodes, so a probe would find any other holder on the segment:
// a new launcher pod keeps the VM's address; a live-migration target on another node gets it while
// the source still holds it, without a probe (which would see the source answer) and without taking
// the records over; an ordinary new launcher pod in the same situation is probed and refused.
// The VM, VMI, migration and launcher pods here are made by hand, so the test runs on a private
// control plane without virt-controller, which would otherwise act on them (create its own VMI and
// launcher pods, fail the hand-made migration); test/e2e/kubevirt/ runs VMs through virt-controller.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { kubevirtApiVersion, kubevirtGroup, kubevirtKinds, kubevirtVersion } from '../../../api/index.js';
import { netConf, type TestNode } from '../../harness/cni-plugin.js';
import { ControlPlane } from '../../harness/control-plane.js';
import { NetworkLab, runCni } from '../../harness/netns.js';
import { type ClusterFixtures, ensureKubeVirtCrds, PluginTestbed } from '../../harness/spiderpool-api.js';

const lab = new NetworkLab();
let cpDir: string;
let cp: ControlPlane | undefined;
let testbed: PluginTestbed;
let fixtures: ClusterFixtures;
let objects: CustomObjectsApi;
let nodeA: TestNode;
let nodeB: TestNode;
let namespace: string;
let master: string;
let pool: string;

beforeAll(async () => {
  cpDir = mkdtempSync(join(tmpdir(), 'cni-e2e-kubevirt-cp-'));
  cp = await ControlPlane.start({ dir: cpDir, scheduler: false });
  testbed = await PluginTestbed.start('cni-e2e-kubevirt', cp);
  fixtures = testbed.fixtures;
  objects = fixtures.admin.makeApiClient(CustomObjectsApi);
  await ensureKubeVirtCrds(fixtures.admin);
  nodeA = testbed.node('kv-a', { enableIPConflictDetection: true });
  nodeB = testbed.node('kv-b', { enableIPConflictDetection: true });
  namespace = await fixtures.namespace('kubevirt');
  master = (await lab.vethPair({ bNetns: await lab.netns() })).a;
  pool = await fixtures.pool({
    subnet: '198.18.60.0/24',
    ips: ['198.18.60.10-198.18.60.19'],
    gateway: '198.18.60.1',
  });
}, 180_000);

afterAll(async () => {
  await lab.cleanup();
  await testbed?.close();
  await cp?.stop();
  rmSync(cpDir, { recursive: true, force: true });
}, 60_000);

const kv = (kind: keyof typeof kubevirtKinds) => ({
  group: kubevirtGroup,
  version: kubevirtVersion,
  plural: kubevirtKinds[kind].plural,
  namespace,
});

interface KubeObject {
  metadata: { name: string; uid: string };
}

async function createVM(name: string): Promise<{ vm: KubeObject; vmi: KubeObject }> {
  const template = { spec: { domain: { devices: {} } } };
  const vm = (await objects.createNamespacedCustomObject({
    ...kv('vm'),
    body: {
      apiVersion: kubevirtApiVersion,
      kind: 'VirtualMachine',
      metadata: { name },
      spec: { runStrategy: 'Always', template },
    },
  })) as KubeObject;
  const vmi = (await objects.createNamespacedCustomObject({
    ...kv('vmi'),
    body: {
      apiVersion: kubevirtApiVersion,
      kind: 'VirtualMachineInstance',
      metadata: {
        name,
        ownerReferences: [
          {
            apiVersion: kubevirtApiVersion,
            kind: 'VirtualMachine',
            name,
            uid: vm.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: template.spec,
    },
  })) as KubeObject;
  return { vm, vmi };
}

let launchers = 0;

/** A virt-launcher pod as KubeVirt renders it (generateName aside). */
async function launcherPod(
  vmi: KubeObject,
  node: TestNode,
  migration?: { name: string; uid: string },
): Promise<V1Pod> {
  return fixtures.pod({
    namespace,
    name: `virt-launcher-${vmi.metadata.name}-${launchers++}`,
    nodeName: node.name,
    labels: {
      'kubevirt.io': 'virt-launcher',
      'kubevirt.io/created-by': vmi.metadata.uid,
      'vm.kubevirt.io/name': vmi.metadata.name,
      ...(migration ? { 'kubevirt.io/migrationJobUID': migration.uid } : {}),
    },
    annotations: {
      'kubevirt.io/domain': vmi.metadata.name,
      'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }),
      ...(migration ? { 'kubevirt.io/migrationJobName': migration.name } : {}),
    },
    ownerReferences: [
      {
        apiVersion: kubevirtApiVersion,
        kind: 'VirtualMachineInstance',
        name: vmi.metadata.name,
        uid: vmi.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  });
}

interface Attached {
  pod: V1Pod;
  netns: string;
  node: TestNode;
}

function cni(command: 'ADD' | 'DEL', pod: V1Pod, node: TestNode, netns: string) {
  return runCni({
    plugin: 'macvlan',
    command,
    netns: lab.netnsPath(netns),
    ifname: 'eth0',
    containerId: `sandbox-${pod.metadata?.uid}`,
    args: {
      K8S_POD_NAMESPACE: namespace,
      K8S_POD_NAME: pod.metadata?.name ?? '',
      K8S_POD_UID: pod.metadata?.uid ?? '',
    },
    config: netConf(node, testbed.kubeconfig, {
      name: 'kubevirt-macvlan',
      top: { type: 'macvlan', master, mode: 'bridge' },
    }),
  });
}

async function attach(pod: V1Pod, node: TestNode) {
  const netns = await lab.netns();
  const out = await cni('ADD', pod, node, netns);
  return { out, attached: { pod, netns, node } as Attached };
}

async function addressOf(a: Attached): Promise<string[]> {
  return (await lab.addresses(a.netns, 'eth0')).filter((x) => x.family === 'inet').map((x) => x.local);
}

async function records(): Promise<Array<[string, string, string]>> {
  return (await fixtures.poolState(pool)).records.map((r) => [r.ip, r.pod, r.podUid]);
}

test('a VM keeps its address across launcher pods; a migration target shares it unprobed; another pod is refused', async () => {
  const { vmi } = await createVM('vm1');
  const identity = `${namespace}/vm1`;

  // The first launcher pod: a new allocation, probed (nobody else holds it).
  const first = await attach(await launcherPod(vmi, nodeA), nodeA);
  expect(first.out.stdout).toContain('198.18.60.10/24');
  expect(await addressOf(first.attached)).toEqual(['198.18.60.10']);
  const endpoint = await fixtures.endpoint(namespace, 'vm1');
  expect(endpoint?.metadata.ownerReferences).toBeUndefined();
  expect(endpoint?.metadata.finalizers).toEqual(['spiderpool.spidernet.io']);
  expect(endpoint?.status).toMatchObject({
    ownerControllerType: 'VirtualMachineInstance',
    ownerControllerName: 'vm1',
    current: { uid: first.attached.pod.metadata?.uid, node: nodeA.name },
  });

  // The launcher pod goes (VM restart): its DEL keeps the VM's address.
  await fixtures.deletePod(namespace, first.attached.pod.metadata?.name ?? '');
  expect((await cni('DEL', first.attached.pod, nodeA, first.attached.netns)).code).toBe(0);
  expect(await records()).toEqual([['198.18.60.10', identity, first.attached.pod.metadata?.uid]]);

  // A new launcher pod takes the address over: records and endpoint name the new pod.
  const second = await attach(await launcherPod(vmi, nodeA), nodeA);
  expect(second.out.code).toBe(0);
  expect(await addressOf(second.attached)).toEqual(['198.18.60.10']);
  const sourceUid = second.attached.pod.metadata?.uid ?? '';
  expect(await records()).toEqual([['198.18.60.10', identity, sourceUid]]);
  expect((await fixtures.endpoint(namespace, 'vm1'))?.status?.current).toMatchObject({ uid: sourceUid });

  // A live migration to node B while the source still answers for the address on the segment.
  const migration = (await objects.createNamespacedCustomObject({
    ...kv('vmim'),
    body: {
      apiVersion: kubevirtApiVersion,
      kind: 'VirtualMachineInstanceMigration',
      metadata: { name: 'mig1' },
      spec: { vmiName: 'vm1' },
    },
  })) as KubeObject;
  const target = await attach(
    await launcherPod(vmi, nodeB, { name: 'mig1', uid: migration.metadata.uid }),
    nodeB,
  );
  expect(target.out.stderr).toBe('');
  expect(target.out.code).toBe(0);
  expect(await addressOf(target.attached)).toEqual(['198.18.60.10']);
  // The source stays the holder: the operator moves it when the migration succeeds.
  expect(await records()).toEqual([['198.18.60.10', identity, sourceUid]]);
  expect((await fixtures.endpoint(namespace, 'vm1'))?.status?.current).toMatchObject({
    uid: sourceUid,
    node: nodeA.name,
  });

  // Drop the target's interface again so only the source answers on the segment.
  expect((await cni('DEL', target.attached.pod, nodeB, target.attached.netns)).code).toBe(0);
  // An ordinary new launcher pod (no migration) is probed, finds the source, and is refused; the
  // VM's address is fixed, so it is kept.
  const intruder = await attach(await launcherPod(vmi, nodeB), nodeB);
  expect(intruder.out.code).toBe(1);
  expect(intruder.out.json).toMatchObject({
    code: 104,
    msg: expect.stringContaining('198.18.60.10 is in use by'),
  });
  expect(String(intruder.out.json?.msg)).toContain(`kept: the addresses of ${identity} are fixed`);
  expect((await fixtures.poolState(pool)).records.map((r) => r.ip)).toEqual(['198.18.60.10']);
}, 120_000);

test('a stateless pod whose new address answers the probe is refused and the address released', async () => {
  const squat = await fixtures.pool({ subnet: '198.18.61.0/24', ips: ['198.18.61.10-198.18.61.11'] });
  // Another host on the segment already uses the pool's first address.
  const rogue = await lab.netns();
  await runCni({
    plugin: 'macvlan',
    command: 'ADD',
    netns: lab.netnsPath(rogue),
    ifname: 'eth0',
    containerId: 'rogue',
    config: {
      cniVersion: '1.0.0',
      name: 'rogue',
      type: 'macvlan',
      master,
      mode: 'bridge',
      ipam: { type: 'static', addresses: [{ address: '198.18.61.10/24' }] },
    },
  });
  expect(await lab.addresses(rogue, 'eth0')).toEqual(
    expect.arrayContaining([expect.objectContaining({ local: '198.18.61.10' })]),
  );
  const pod = await fixtures.pod({
    namespace,
    name: 'stateless-conflict',
    nodeName: nodeA.name,
    annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [squat] }) },
  });
  const { out } = await attach(pod, nodeA);
  expect(out.json).toMatchObject({ code: 104, msg: expect.stringContaining('198.18.61.10 is in use by') });
  expect(String(out.json?.msg)).toContain('released 198.18.61.10');
  expect((await fixtures.poolState(squat)).records).toEqual([]);
  // The retry gets the next address, which nobody uses.
  const retry = await attach(pod, nodeA);
  expect(retry.out.code).toBe(0);
  expect(await addressOf(retry.attached)).toEqual(['198.18.61.11']);
}, 60_000);
