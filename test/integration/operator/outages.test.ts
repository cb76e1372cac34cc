// The operator keeps working across outages of the API server and of etcd: it never exits, its
// watches reconnect, and a deletion made after the outage is still finalized (a ConfigMap with the
// test controller's finalizer; a pod whose address garbage collection gives back).
import { ClusterFixtures } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';
import { CompiledPlugin } from './fixtures/compiled-plugin.js';
import { testFinalizer } from './fixtures/constants.js';
import { bare } from './fixtures/ipam-world.js';
import { handled, type OperatorProcess, startSyncedOperator } from './operator-process.js';
import { configMap, type PrivateCluster, readOrUndefined, startPrivateCluster } from './private-cluster.js';

const ns = 'outage';
const run = ns;
let cluster: PrivateCluster;
let op: OperatorProcess;

beforeAll(async () => {
  cluster = await startPrivateCluster();
  op = await startSyncedOperator(cluster, {
    namespace: ns,
    identity: 'outage-op',
    // A stopping kube-apiserver drains for up to 10 s: a longer renew deadline keeps this replica
    // the leader through the outage, so it is the watches' reconnection that is under test.
    args: ['--lease-duration=60s', '--renew-deadline=45s', '--retry-period=2s'],
  });
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await cluster?.stop();
});

async function finalizedAfter(outage: () => Promise<void>, name: string): Promise<void> {
  const { core } = cluster;
  await core.createNamespacedConfigMap({ namespace: ns, body: configMap(name, run) });
  await eventually(`the finalizer on ${name}`, async () =>
    (await readOrUndefined(core, ns, name))?.metadata?.finalizers?.includes(testFinalizer),
  );

  await outage();

  // The API server may still be settling; the test's own client retries like any user would.
  await eventually(`deleting ${name}`, () =>
    core.deleteNamespacedConfigMap({ name, namespace: ns }).then(() => true),
  );
  await op.waitForLog(
    `${name} finalized`,
    (l) => l.msg === 'test finalized' && l.object === `${ns}/${name}`,
    60_000,
  );
  await eventually(`${name} to be gone`, async () => (await readOrUndefined(core, ns, name)) === undefined);
  // The watch event (and the operator's log line about it) may come after the GET that saw 404.
  await eventually(
    `the operator to handle ${name}'s DELETED event`,
    async () => handled(op, name, 'DELETED').length > 0,
  );
  expect(handled(op, name, 'DELETED')).toHaveLength(1);
  expect(op.running).toBe(true);
}

const restarts = async () =>
  (await op.metric('spiderpool_operator_watch_restarts_total', { resource: 'configmaps.v1' })) ?? 0;

test('the API server restarted under the running operator: it reconnects and a later deletion is finalized', async () => {
  const before = await restarts();
  await finalizedAfter(() => cluster.cp.restart('kube-apiserver'), 'after-apiserver');
  // The outage was a watch restart (counted and logged), not a crash.
  expect(await restarts()).toBeGreaterThan(before);
  expect(
    op.find((l) => l.msg === 'watch restarting' && l.resource === 'configmaps.v1').length,
  ).toBeGreaterThan(0);
}, 90_000);

// kube-apiserver keeps client watches open while it reconnects to etcd, so the operator may not
// even see this one; what matters is that it still handles what happens afterwards.
test('etcd restarted under the running operator: a later deletion is still finalized', async () => {
  await finalizedAfter(() => cluster.cp.restart('etcd'), 'after-etcd');
}, 90_000);

test('after an API server restart, a pod deleted later still gets its address back (pod and pool watches resumed)', async () => {
  const fixtures = new ClusterFixtures(cluster.kc);
  const plugin = new CompiledPlugin(cluster.dir, cluster.cp.kubeconfigPath('cni'));
  try {
    const pool = await fixtures.pool({ subnet: '198.18.50.0/24', ips: ['198.18.50.10-198.18.50.19'] });
    const before = await op.metric('spiderpool_operator_watch_restarts_total', { resource: 'pods.v1' });
    await cluster.cp.restart('kube-apiserver');
    const pod = await eventually('a pod created after the restart', () =>
      fixtures.pod({ namespace: ns, name: 'after-restart', nodeName: 'node-1' }),
    );
    const ip = bare(await plugin.add(pod, pool));
    await fixtures.deletePod(ns, 'after-restart');
    // The pod watch may still be backing off from the outage (capped at 30 s between attempts, see
    // operator/framework/reflector.ts) and miss the pod's whole life; its re-list then runs the full
    // scan, which gives the address back (watch-expiry.test.ts makes that gap on purpose). Allow the
    // cap twice.
    await eventually(
      `${ip} released`,
      async () => !(await fixtures.poolState(pool)).records.some((r) => r.ip === ip),
      { timeoutMs: 60_000 },
    );
    expect(
      await op.metric('spiderpool_operator_watch_restarts_total', { resource: 'pods.v1' }),
    ).toBeGreaterThan(before ?? 0);
    expect(op.running).toBe(true);
  } finally {
    await fixtures.cleanup();
  }
}, 150_000);
