// SpiderSubnet auto-pools on the real control plane: kube-controller-manager turns Deployments and
// StatefulSets into pods (no scheduler runs, so pods stay unbound and go at once when deleted), the
// operator (as its service account, enableSpiderSubnet and enableAutoPoolForApplication on) carves
// each application's pool from its SpiderSubnet, and the compiled plugin (as its service account)
// makes the pods' ADDs, which take their addresses from the application's auto-pool.
import { AppsV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { group, kinds, labels, type SpiderIPPool, type SpiderSubnet, version } from '../../../api/index.js';
import { decodeControlled } from '../../../ipam/autopool/carve.js';
import { parseRanges } from '../../../ipam/ranges/spiderpool-ranges.js';
import { uniqueName } from '../../harness/clients.js';
import { cniEnv, netConf, pluginBinary, runProcess } from '../../harness/cni-plugin.js';
import { eventually } from '../../harness/wait.js';
import { bare, startOperator, startWorld, type World } from './fixtures/ipam-world.js';
import type { OperatorProcess } from './operator-process.js';

let world: World;
let op: OperatorProcess;
let ns: string;
let apps: AppsV1Api;
let custom: CustomObjectsApi;
let subnetName: string;
const switches = { enableSpiderSubnet: true, enableAutoPoolForApplication: true };

beforeAll(async () => {
  world = await startWorld({ workloads: true });
  apps = world.cluster.kc.makeApiClient(AppsV1Api);
  custom = world.cluster.kc.makeApiClient(CustomObjectsApi);
  ns = await world.fixtures.namespace('auto');
  subnetName = await world.fixtures.subnet({
    ipVersion: 4,
    subnet: '198.18.20.0/24',
    ips: ['198.18.20.10-198.18.20.60'],
    gateway: '198.18.20.1',
  });
  op = await startOperator(world.cluster, {
    identity: 'auto-op',
    conf: { ...switches, gc: { intervalSeconds: 3600 } },
  });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await world?.stop();
});

const template = (app: string, extra: Record<string, string> = {}) => ({
  metadata: {
    labels: { app },
    annotations: {
      'ipam.spidernet.io/subnet': JSON.stringify({ ipv4: [subnetName] }),
      'ipam.spidernet.io/ippool-ip-number': '+1',
      ...extra,
    },
  },
  spec: { containers: [{ name: 'c', image: 'registry.invalid/none' }] },
});

async function subnet(): Promise<SpiderSubnet> {
  return (await custom.getClusterCustomObject({
    group,
    version,
    plural: kinds.subnet.plural,
    name: subnetName,
  })) as SpiderSubnet;
}

/** The auto-pools of application `name` (its eth0 IPv4 pool, when it exists). */
async function autoPool(name: string): Promise<SpiderIPPool | undefined> {
  const list = await world.fixtures.spiderpool.listPools(
    `${labels.ownerApplicationNamespace}=${ns},${labels.ownerApplicationName}=${name}`,
  );
  return list.items[0];
}

/** The addresses of a pool's spec, one string each. */
function addressesOf(pool: SpiderIPPool): string[] {
  const set = parseRanges(pool.spec.ips ?? [], 4, 'spec.ips').set;
  const out: string[] = [];
  for (const { start, end } of set)
    for (let v = start; v <= end; v++)
      out.push([24n, 16n, 8n, 0n].map((s) => ((v >> s) & 255n).toString()).join('.'));
  return out;
}

/** Waits until the application's pool has `size` addresses and the subnet's books say the same. */
async function poolOfSize(name: string, size: number): Promise<SpiderIPPool> {
  return eventually(
    `auto-pool of ${name} with ${size} addresses, booked in the subnet`,
    async () => {
      const pool = await autoPool(name);
      if (!pool || addressesOf(pool).length !== size) return undefined;
      const booked = decodeControlled(subnetName, (await subnet()).status?.controlledIPPools);
      const entry = booked[pool.metadata.name ?? ''];
      return entry && JSON.stringify(entry.ips) === JSON.stringify(pool.spec.ips) ? pool : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

async function podsOf(app: string, count: number): Promise<V1Pod[]> {
  return eventually(
    `${count} pods of ${app}`,
    async () => {
      const list = await world.fixtures.core.listNamespacedPod({
        namespace: ns,
        labelSelector: `app=${app}`,
      });
      const live = list.items.filter((p) => !p.metadata?.deletionTimestamp);
      return live.length === count ? live : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

/** ADD through the compiled plugin; a "try again" (the pool not there or not grown yet) is retried. */
async function add(pod: V1Pod): Promise<string> {
  return eventually(
    `ADD of ${pod.metadata?.name}`,
    async () => bare(await world.plugin.add(pod, 'no-default-pool', { switches, node: 'node-1' })),
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

async function scale(name: string, replicas: number): Promise<void> {
  const fresh = await apps.readNamespacedDeployment({ name, namespace: ns });
  await apps.replaceNamespacedDeployment({
    name,
    namespace: ns,
    body: { ...fresh, spec: { ...(fresh.spec as NonNullable<typeof fresh.spec>), replicas } },
  });
}

function createDeployment(name: string, replicas: number, extra: Record<string, string> = {}) {
  return apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name },
      spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name, extra) },
    },
  });
}

test('a Deployment scaled 2 -> 5 -> 1 -> deleted: its auto-pool grows, shrinks and goes; its pods take its addresses', async () => {
  const name = uniqueName('web');
  const deployment = await createDeployment(name, 2);
  const first = await poolOfSize(name, 3);
  expect(first.metadata.name).toMatch(new RegExp(`^auto4-${name}-eth0-[0-9a-f]{5}$`));
  expect(first.metadata.labels?.[labels.ownerApplicationUID]).toBe(deployment.metadata?.uid);
  expect(first.metadata.labels?.[labels.ownerApplicationKind]).toBe('Deployment');
  expect(first.metadata.labels?.[labels.ownerSpiderSubnet]).toBe(subnetName);
  expect(first.spec.gateway).toBe('198.18.20.1');

  const addressesAt = async (count: number, size: number) => {
    const pool = await poolOfSize(name, size);
    const pods = await podsOf(name, count);
    const got = await Promise.all(pods.map(add));
    expect(new Set(got).size).toBe(count);
    for (const ip of got) expect(addressesOf(pool)).toContain(ip);
    return new Map(pods.map((p, i) => [p.metadata?.uid ?? '', got[i] as string]));
  };
  await addressesAt(2, 3);

  await scale(name, 5);
  await addressesAt(5, 6);
  const booked = await subnet();
  expect(booked.status?.allocatedIPCount).toBeGreaterThanOrEqual(6);

  await scale(name, 1);
  // The four pods go at once (unbound); the operator frees their records, then the pool shrinks to
  // 1 + 1, keeping the address the remaining pod holds.
  const [survivor] = await podsOf(name, 1);
  const kept = await add(survivor as V1Pod);
  const shrunk = await poolOfSize(name, 2);
  expect(addressesOf(shrunk)).toContain(kept);

  await apps.deleteNamespacedDeployment({ name, namespace: ns });
  await eventually(
    'the auto-pool deleted and its addresses back in the subnet',
    async () => {
      if (await autoPool(name)) return false;
      const books = decodeControlled(subnetName, (await subnet()).status?.controlledIPPools);
      return !Object.keys(books).includes(shrunk.metadata.name ?? '');
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}, 300_000);

test('reclaim false keeps the pool when its Deployment goes; a new Deployment of that name takes it over', async () => {
  const name = uniqueName('keep');
  await createDeployment(name, 1, { 'ipam.spidernet.io/ippool-reclaim': 'false' });
  const pool = await poolOfSize(name, 2);
  const [pod] = await podsOf(name, 1);
  const ip = await add(pod as V1Pod);
  expect(addressesOf(pool)).toContain(ip);

  await apps.deleteNamespacedDeployment({ name, namespace: ns });
  await op.waitForLog(
    'the operator keeping the pool',
    (l) => l.msg === 'auto-pool kept (ippool-reclaim false)' && l.pool === pool.metadata.name,
    60_000,
  );
  expect((await autoPool(name))?.metadata.uid).toBe(pool.metadata.uid);

  const again = await createDeployment(name, 1, { 'ipam.spidernet.io/ippool-reclaim': 'false' });
  const adopted = await eventually('the kept pool relabelled for the new Deployment', async () => {
    const p = await autoPool(name);
    return p?.metadata.labels?.[labels.ownerApplicationUID] === again.metadata?.uid ? p : undefined;
  });
  expect(adopted.metadata.uid).toBe(pool.metadata.uid);
  const [next] = await podsOf(name, 1);
  expect(addressesOf(adopted)).toContain(await add(next as V1Pod));
}, 300_000);

test('a StatefulSet pod recreated under the same name gets the same address from its auto-pool', async () => {
  const name = uniqueName('db');
  await apps.createNamespacedStatefulSet({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        replicas: 2,
        // Parallel: no kubelet makes pods Ready, so OrderedReady would stop after the first.
        podManagementPolicy: 'Parallel',
        serviceName: name,
        selector: { matchLabels: { app: name } },
        template: template(name),
      },
    },
  });
  const pool = await poolOfSize(name, 3);
  const pods = await podsOf(name, 2);
  const before = new Map(
    await Promise.all(pods.map(async (p) => [p.metadata?.name ?? '', await add(p)] as const)),
  );
  for (const ip of before.values()) expect(addressesOf(pool)).toContain(ip);

  const victim = `${name}-0`;
  const oldUid = pods.find((p) => p.metadata?.name === victim)?.metadata?.uid;
  await world.fixtures.core.deleteNamespacedPod({ name: victim, namespace: ns });
  const successor = await eventually(`${victim} recreated`, async () => {
    const p = await world.fixtures.core
      .readNamespacedPod({ name: victim, namespace: ns })
      .catch(() => undefined);
    return p && p.metadata?.uid !== oldUid && !p.metadata?.deletionTimestamp ? p : undefined;
  });
  expect(await add(successor)).toBe(before.get(victim));
}, 300_000);

/** A raw ADD through the compiled plugin: its exit code and CNI error, for the refusals. */
async function rawAdd(pod: V1Pod, nodeSwitches: Record<string, boolean>) {
  const node = world.plugin.node('node-1', nodeSwitches);
  const ref = { namespace: ns, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
  const config = netConf(node, world.cluster.cp.kubeconfigPath('cni'), { ipam: {} });
  const env = {
    PATH: process.env.PATH,
    ...cniEnv('ADD', ref, { ifname: 'eth0', containerId: `c-${ref.uid}` }),
  };
  const out = await runProcess(pluginBinary(), [], env, JSON.stringify(config));
  return { exit: out.code, code: out.json?.code, msg: String(out.json?.msg ?? '') };
}

test('no pool yet, a full pool, auto-pools off: try again (11) naming the application and subnet, or a refusal naming the annotation', async () => {
  const missing = uniqueName('nosuchsubnet');
  const name = uniqueName('wait');
  await createDeployment(name, 1, { 'ipam.spidernet.io/subnet': JSON.stringify({ ipv4: [missing] }) });
  const [waiting] = await podsOf(name, 1);
  expect(await rawAdd(waiting as V1Pod, switches)).toEqual({
    exit: 1,
    code: 11,
    msg: `ipam.spidernet.io/subnet: the IPv4 auto-pool of Deployment ${ns}/${name} for eth0 from SpiderSubnet ${missing} does not exist yet (the operator makes it)`,
  });
  expect(await rawAdd(waiting as V1Pod, {})).toMatchObject({
    code: 7,
    msg: expect.stringMatching(
      /^ipam\.spidernet\.io\/subnet: names a SpiderSubnet, but SpiderSubnet auto-pools are off/,
    ),
  });

  // A fixed size of 1 for 2 replicas: the second pod finds the pool full until the operator grows it.
  const full = uniqueName('full');
  await createDeployment(full, 2, { 'ipam.spidernet.io/ippool-ip-number': '1' });
  const pool = await poolOfSize(full, 1);
  const [a, b] = await podsOf(full, 2);
  await add(a as V1Pod);
  expect(await rawAdd(b as V1Pod, switches)).toMatchObject({
    code: 11,
    msg: expect.stringContaining(
      `auto-pool ${pool.metadata.name} of Deployment ${ns}/${full} from SpiderSubnet ${subnetName} has no free address yet`,
    ),
  });
}, 300_000);

test('a Deployment deleted while no operator runs: the next operator reclaims its auto-pool', async () => {
  const name = uniqueName('orphan');
  await createDeployment(name, 1);
  const pool = await poolOfSize(name, 2);
  const [pod] = await podsOf(name, 1);
  await add(pod as V1Pod);
  await op.stop();
  await apps.deleteNamespacedDeployment({ name, namespace: ns });
  await eventually('the Deployment and its pods gone', async () => {
    const pods = await world.fixtures.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${name}` });
    const left = await apps.listNamespacedDeployment({ namespace: ns });
    return pods.items.length === 0 && !left.items.some((d) => d.metadata?.name === name);
  });
  expect((await autoPool(name))?.metadata.uid).toBe(pool.metadata.uid);
  op = await startOperator(world.cluster, {
    identity: 'auto-op-2',
    conf: { ...switches, gc: { intervalSeconds: 3600 } },
  });
  await eventually('the orphaned auto-pool deleted', async () => (await autoPool(name)) === undefined, {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
}, 300_000);
