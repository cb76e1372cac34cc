// SpiderSubnet auto-pools on the real control plane: kube-controller-manager turns Deployments and
// StatefulSets into pods (no scheduler runs, so pods stay unbound and go at once when deleted), the
// operator (as its service account, enableSpiderSubnet and enableAutoPoolForApplication on) carves
// each application's pool from its SpiderSubnet, and the compiled plugin (as its service account)
// makes the pods' ADDs, which take their addresses from the application's auto-pool.
import {
  AppsV1Api,
  BatchV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type V1CronJob,
  type V1Pod,
} from '@kubernetes/client-node';
import { group, kinds, labels, type SpiderIPPool, type SpiderSubnet, version } from '../../../api/index.js';
import { installDefaults } from '../../../api/install/names.js';
import { decodeControlled } from '../../../ipam/autopool/carve.js';
import { parseRanges } from '../../../ipam/ranges/spiderpool-ranges.js';
import { uniqueName } from '../../harness/clients.js';
import { cniEnv, netConf, pluginBinary, runProcess } from '../../harness/cni-plugin.js';
import { createCrd } from '../../harness/crds.js';
import { eventually } from '../../harness/wait.js';
import { bare, startOperator, startWorld, type World } from './fixtures/ipam-world.js';
import { grant } from './fixtures/rbac-grant.js';
import type { OperatorProcess } from './operator-process.js';

let world: World;
let op: OperatorProcess;
let ns: string;
let apps: AppsV1Api;
let batch: BatchV1Api;
let custom: CustomObjectsApi;
let subnetName: string;
const switches = { enableSpiderSubnet: true, enableAutoPoolForApplication: true };

beforeAll(async () => {
  world = await startWorld({ workloads: true });
  apps = world.cluster.kc.makeApiClient(AppsV1Api);
  batch = world.cluster.kc.makeApiClient(BatchV1Api);
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

/** Waits until application `name`'s auto-pool is deleted and has left the subnet's books. */
async function poolGone(name: string, pool: SpiderIPPool, timeoutMs: number): Promise<void> {
  await eventually(
    `the auto-pool ${pool.metadata.name} of ${name} deleted and its addresses back in the subnet`,
    async () => {
      if (await autoPool(name)) return false;
      const books = decodeControlled(subnetName, (await subnet()).status?.controlledIPPools);
      return !Object.keys(books).includes(pool.metadata.name ?? '');
    },
    { timeoutMs, intervalMs: 250 },
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
  await poolGone(name, shrunk, 60_000);
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

/**
 * A Job of the CronJob as its cronjob controller makes it (controlled by the CronJob, the job
 * template's spec), and the Job's pods as its job controller would make them (controlled by the Job,
 * the template's labels and annotations). No Job or CronJob controller runs here.
 */
async function jobOfCronJob(cron: V1CronJob, suffix: string, pods: number): Promise<V1Pod[]> {
  const name = `${cron.metadata?.name}-${suffix}`;
  const jobSpec = cron.spec?.jobTemplate.spec;
  const job = await batch.createNamespacedJob({
    namespace: ns,
    body: {
      metadata: {
        name,
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'CronJob',
            name: cron.metadata?.name ?? '',
            uid: cron.metadata?.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      // Suspended: its spec as the template has it, with no job controller to act on it anyway.
      spec: { ...jobSpec, template: jobSpec?.template ?? {}, suspend: true },
    },
  });
  const meta = jobSpec?.template.metadata;
  return Promise.all(
    Array.from({ length: pods }, (_, i) =>
      world.fixtures.pod({
        namespace: ns,
        name: `${name}-${i}`,
        nodeName: 'node-1',
        ...(meta?.annotations ? { annotations: meta.annotations } : {}),
        ...(meta?.labels ? { labels: meta.labels } : {}),
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name,
            uid: job.metadata?.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      }),
    ),
  );
}

test("a CronJob's auto-pool: sized from its job template, its Jobs' pods take its addresses, it outlives each Job and goes with the CronJob", async () => {
  const name = uniqueName('cron');
  const cron = await batch.createNamespacedCronJob({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        schedule: '0 0 1 1 *',
        suspend: true,
        jobTemplate: {
          spec: {
            parallelism: 2,
            template: { ...template(name), spec: { ...template(name).spec, restartPolicy: 'Never' } },
          },
        },
      },
    },
  });
  // parallelism 2, "+1": 3 addresses, the pool the CronJob's (not a Job's).
  const pool = await poolOfSize(name, 3);
  expect(pool.metadata.name).toMatch(new RegExp(`^auto4-${name}-eth0-[0-9a-f]{5}$`));
  expect(pool.metadata.labels).toMatchObject({
    [labels.ownerApplicationKind]: 'CronJob',
    [labels.ownerApplicationGV]: 'batch_v1',
    [labels.ownerApplicationUID]: cron.metadata?.uid,
  });

  const firstRun = await jobOfCronJob(cron, 'a', 2);
  const first = await Promise.all(firstRun.map(add));
  expect(new Set(first).size).toBe(2);
  for (const ip of first) expect(addressesOf(pool)).toContain(ip);
  // The operator makes no pool of the Job's own.
  expect(op.find((l) => l.msg === 'auto-pool created' && String(l.pool).includes(`${name}-a`))).toEqual([]);

  // The first Job goes (as the CronJob's history limit has it), its pods with it: the pool stays.
  await batch.deleteNamespacedJob({ name: `${name}-a`, namespace: ns, propagationPolicy: 'Background' });
  for (const pod of firstRun) {
    await world.fixtures.deletePod(ns, pod.metadata?.name ?? '');
    await world.plugin.del(pod, 'no-default-pool', { switches, node: 'node-1' });
  }
  const secondRun = await jobOfCronJob(cron, 'b', 2);
  const second = await Promise.all(secondRun.map(add));
  const still = await autoPool(name);
  expect(still?.metadata.uid).toBe(pool.metadata.uid);
  for (const ip of second) expect(addressesOf(still as SpiderIPPool)).toContain(ip);

  // The CronJob goes (its Job and the Job's pods by the garbage collector): so does its pool.
  await batch.deleteNamespacedCronJob({ name, namespace: ns, propagationPolicy: 'Background' });
  for (const pod of secondRun) await world.fixtures.deletePod(ns, pod.metadata?.name ?? '');
  await poolGone(name, pool, 60_000);
}, 300_000);

/** A third-party workload kind (as an OpenKruise CloneSet would be): a CRD this test installs. */
const runners = { group: 'workloads.example.test', version: 'v1', plural: 'runners', kind: 'Runner' };

async function createRunner(name: string) {
  return (await custom.createNamespacedCustomObject({
    group: runners.group,
    version: runners.version,
    plural: runners.plural,
    namespace: ns,
    body: { apiVersion: `${runners.group}/${runners.version}`, kind: runners.kind, metadata: { name } },
  })) as { metadata: { name: string; uid: string } };
}

/** A pod of a Runner, as its (absent) controller would make it. */
function runnerPod(
  runner: { metadata: { name: string; uid: string } },
  i: number,
  extra: Record<string, string>,
) {
  return world.fixtures.pod({
    namespace: ns,
    name: `${runner.metadata.name}-${i}`,
    nodeName: 'node-1',
    labels: { app: runner.metadata.name },
    annotations: { 'ipam.spidernet.io/subnet': JSON.stringify({ ipv4: [subnetName] }), ...extra },
    ownerReferences: [
      {
        apiVersion: `${runners.group}/${runners.version}`,
        kind: runners.kind,
        name: runner.metadata.name,
        uid: runner.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  });
}

test("a third-party controller's pods: a pool of their ippool-ip-number, their addresses from it, gone with the controller; without the annotation, a refusal naming it", async () => {
  await createCrd(world.cluster.kc, {
    metadata: { name: `${runners.plural}.${runners.group}` },
    spec: {
      group: runners.group,
      scope: 'Namespaced',
      names: { kind: runners.kind, plural: runners.plural, singular: 'runner', listKind: 'RunnerList' },
      versions: [
        {
          name: runners.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
        },
      ],
    },
  });
  // The operator reads the controller to know when it is gone: an administrator grants that per kind.
  await grant(
    world.cluster.kc.makeApiClient(RbacAuthorizationV1Api),
    installDefaults.operatorServiceAccount,
    [{ apiGroup: runners.group, resources: [runners.plural], verbs: ['get'] }],
  );

  const runner = await createRunner(uniqueName('runner'));
  const name = runner.metadata.name;
  const pods = await Promise.all(
    [0, 1].map((i) => runnerPod(runner, i, { 'ipam.spidernet.io/ippool-ip-number': '3' })),
  );
  const pool = await poolOfSize(name, 3);
  expect(pool.metadata.labels).toMatchObject({
    [labels.ownerApplicationKind]: runners.kind,
    [labels.ownerApplicationGV]: `${runners.group}_${runners.version}`,
    [labels.ownerApplicationUID]: runner.metadata.uid,
  });
  const got = await Promise.all(pods.map(add));
  expect(new Set(got).size).toBe(2);
  for (const ip of got) expect(addressesOf(pool)).toContain(ip);

  // No ippool-ip-number: Spiderpool cannot size a third-party controller's pool, nor can this.
  const other = await createRunner(uniqueName('runner'));
  const unsized = await runnerPod(other, 0, {});
  expect(await rawAdd(unsized, switches)).toEqual({
    exit: 1,
    code: 7,
    msg: `ipam.spidernet.io/ippool-ip-number: missing: ${runners.kind} ${ns}/${other.metadata.name} is a third-party controller, whose auto-pool size must be given on the pod (N addresses)`,
  });
  await op.waitForLog(
    'the operator warning about the pod',
    (l) => l.reason === 'AutoPoolInvalid' && l.object === `${ns}/${unsized.metadata?.name}`,
    60_000,
  );
  expect(await autoPool(other.metadata.name)).toBeUndefined();

  // The controller goes, and its pods (no kubelet here finishes their graceful deletion): so does its pool.
  await custom.deleteNamespacedCustomObject({
    group: runners.group,
    version: runners.version,
    plural: runners.plural,
    namespace: ns,
    name,
  });
  for (const pod of pods) await world.fixtures.deletePod(ns, pod.metadata?.name ?? '');
  await poolGone(name, pool, 90_000);
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
