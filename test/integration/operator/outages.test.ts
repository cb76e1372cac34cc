// The operator keeps working across outages of the API server and of etcd: it never exits, its
// watches reconnect, and a deletion made after the outage is still finalized.
import { eventually } from '../../harness/wait.js';
import { testFinalizer } from './fixtures/constants.js';
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
