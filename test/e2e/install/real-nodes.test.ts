// The installation as a user runs it, on two real nodes (containerd, kubelet, kube-proxy; needs
// root): the image from `npm run image` imported into each node's containerd (no registry), the
// manifests from `npm run synth -- --set image.repository=…,image.tag=…` applied unchanged with
// kubectl. The DaemonSet installs the plugin on each node, the operator's Deployment runs with
// leader election, the API server reaches its webhooks through their Service, and a pod gets its
// address through the kubelet's own CNI call (containerd -> bridge -> spiderpool) and gives it back
// when deleted.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodePaths, objectNames, pluginFiles } from '../../../api/install/names.js';
import { imageRepository } from '../../../build/image.js';
import { Installation, installNamespace as namespace } from '../../harness/installation.js';
import { busyboxImage } from '../../harness/nodes/nodes.js';
import { eventually } from '../../harness/wait.js';

const tag = 'e2e-real-nodes';
const pool = 'node-pods';

let inst: Installation;
const k = (...args: string[]) => inst.k(...args);
const getJson = <T>(...args: string[]): Promise<T> => inst.getJson<T>(...args);
const applyObject = (object: unknown) => inst.applyObject(object);

interface Pod {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string };
}

const testPod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'default',
    annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }) },
  },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'main',
        image: `${busyboxImage.repository}:${busyboxImage.tag}`,
        imagePullPolicy: 'Never',
        command: ['/bin/busybox', 'sleep', '3600'],
      },
    ],
  },
});

async function runningPod(name: string): Promise<Pod> {
  return eventually(
    `pod ${name} Running with an address`,
    async () => {
      const pod = await getJson<Pod>('pod', '-n', 'default', name);
      return pod.status.phase === 'Running' && pod.status.podIP ? pod : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

beforeAll(async () => {
  inst = await Installation.start(tag, { nodes: 2 });
  console.log(`two-node test bed up in ${inst.startSeconds.toFixed(1)} s`);
}, 600_000);

afterAll(async () => {
  await inst?.stop();
});

test('kubectl apply of everything synth wrote, unchanged: the DaemonSet and the Deployment become ready', async () => {
  await inst.applyManifests();
  const ds = await getJson<{ status: { numberReady: number } }>(
    'daemonset',
    '-n',
    namespace,
    objectNames.nodeDaemonSet,
  );
  expect(ds.status.numberReady).toBe(2);
  const pods = await getJson<{
    items: Array<{ spec: { nodeName: string; containers: Array<{ image: string }> } }>;
  }>('pods', '-n', namespace);
  expect(new Set(pods.items.map((p) => p.spec.nodeName))).toEqual(new Set(['node-1', 'node-2']));
  for (const p of pods.items) expect(p.spec.containers[0]?.image).toBe(`${imageRepository}:${tag}`);

  // The DaemonSet's hostPath volumes land in each node's own folders, not the host's.
  for (const node of inst.cp.nodes) {
    const machine = (path: string) => join(node.dir, 'machine', path);
    expect(existsSync(machine(`/opt/cni/bin/${pluginFiles.binary}`))).toBe(true);
    const kubeconfig = readFileSync(machine(`${nodePaths.hostPluginKubeconfig}`), 'utf8');
    expect(kubeconfig).toContain('server: https://10.0.0.1:443');
    expect(JSON.parse(readFileSync(machine(nodePaths.hostPluginNodeConfig), 'utf8'))).toMatchObject({
      nodeName: node.name,
    });
  }
  expect(existsSync(`/opt/cni/bin/${pluginFiles.binary}`)).toBe(false);
}, 240_000);

test('a pool write passes the operator webhooks, reached through their Service', async () => {
  // The mutating webhook fills in defaults, so a stored pool with them proves the call went through.
  await eventually(
    'the pool to be admitted',
    async () => {
      await applyObject({
        apiVersion: 'spiderpool.spidernet.io/v2beta1',
        kind: 'SpiderIPPool',
        metadata: { name: pool },
        spec: { subnet: '198.18.77.0/24', ips: ['198.18.77.10-198.18.77.20'], gateway: '198.18.77.1' },
      });
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  const stored = await getJson<{ metadata: { finalizers?: string[] } }>('spiderippool', pool);
  expect(stored.metadata.finalizers).toContain('spiderpool.spidernet.io');
}, 90_000);

test("a pod gets its address through the kubelet's CNI call and gives it back when deleted", async () => {
  await applyObject(testPod('web'));
  const pod = await runningPod('web');
  console.log(
    `kubectl apply to the first pod with an address: ${((Date.now() - inst.appliedAt) / 1000).toFixed(1)} s`,
  );
  expect(pod.status.podIP).toMatch(/^198\.18\.77\.(1\d|20)$/);

  // The address is on the pod's eth0, as the bridge plugin set it up with the plugin's result.
  expect(await inst.eth0Address('default', 'web')).toBe(`${pod.status.podIP}/24`);

  const endpoint = await getJson<{
    status: { current: { uid: string; node: string; ips: Array<{ ipv4?: string; ipv4Pool?: string }> } };
  }>('spiderendpoint', '-n', 'default', 'web');
  expect(endpoint.status.current.uid).toBe(pod.metadata.uid);
  expect(endpoint.status.current.node).toBe(pod.spec.nodeName);
  expect(endpoint.status.current.ips[0]).toMatchObject({ ipv4: `${pod.status.podIP}/24`, ipv4Pool: pool });

  await k('delete', 'pod', '-n', 'default', 'web', '--wait=true', '--timeout=60s');
  await eventually(
    'the address to be free again',
    async () => {
      const p = await getJson<{ status: { allocatedIPCount?: number } }>('spiderippool', pool);
      const endpoints = await getJson<{ items: unknown[] }>('spiderendpoints', '-n', 'default');
      return (p.status.allocatedIPCount ?? 0) === 0 && endpoints.items.length === 0;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}, 180_000);

test('the operator survives its leader pod being deleted: the Deployment replaces it, the lease moves, addresses keep coming', async () => {
  const lease = () =>
    getJson<{ spec: { holderIdentity?: string } }>('lease', '-n', namespace, objectNames.leaderLease);
  const operatorPods = async () =>
    (
      await getJson<{ items: Array<Pod & { metadata: { deletionTimestamp?: string } }> }>(
        'pods',
        '-n',
        namespace,
        '-l',
        `app.kubernetes.io/name=${objectNames.operatorDeployment}`,
      )
    ).items;
  const leader = await eventually('a leader', async () => (await lease()).spec.holderIdentity);
  expect((await operatorPods()).map((p) => p.metadata.name)).toContain(leader);

  await k('delete', 'pod', '-n', namespace, leader, '--wait=false');
  const newLeader = await eventually(
    'another running operator pod to hold the lease',
    async () => {
      const holder = (await lease()).spec.holderIdentity;
      const running = (await operatorPods()).filter(
        (p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp,
      );
      return holder && holder !== leader && running.some((p) => p.metadata.name === holder)
        ? holder
        : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  expect(newLeader).not.toBe(leader);
  await inst.operatorRolledOut(120);
  const pods = await operatorPods();
  expect(pods.map((p) => p.metadata.name)).not.toContain(leader);

  // The plugin and the webhooks work through the change of leader.
  await applyObject(testPod('web-after'));
  const pod = await runningPod('web-after');
  expect(pod.status.podIP).toMatch(/^198\.18\.77\.(1\d|20)$/);
  await k('delete', 'pod', '-n', 'default', 'web-after', '--wait=true', '--timeout=60s');
  await eventually(
    'the address to be free again',
    async () =>
      ((await getJson<{ status: { allocatedIPCount?: number } }>('spiderippool', pool)).status
        .allocatedIPCount ?? 0) === 0,
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}, 300_000);
