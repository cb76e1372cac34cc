// A watch whose history expired while the operator could not read it: the operator relists and
// delivers the deletions it missed, and a pod that lived and died entirely within the gap (so no
// event ever names it) still has its address given back. The private API server serves watches
// straight from etcd (no watch cache) and compacts etcd every 2 s, so history really disappears.
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterFixtures } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';
import { CompiledPlugin } from './fixtures/compiled-plugin.js';
import { noFinalizerAnnotation } from './fixtures/constants.js';
import { handled, type OperatorProcess, startSyncedOperator } from './operator-process.js';
import { configMap, type PrivateCluster, startPrivateCluster } from './private-cluster.js';

const ns = 'expiry';
const run = ns;
let cluster: PrivateCluster;
let op: OperatorProcess;

beforeAll(async () => {
  cluster = await startPrivateCluster({
    'kube-apiserver': ['--watch-cache=false', '--etcd-compaction-interval=2s'],
  });
  op = await startSyncedOperator(cluster, {
    namespace: ns,
    identity: 'expiry-op',
    args: ['--leader-elect=false'],
  });
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await cluster?.stop();
});

/**
 * With the operator stopped (SIGSTOP), restarts the API server, which drops the operator's
 * connections, so it must resume from its last resourceVersion, which compaction removes meanwhile
 * (two compaction rounds after more writes); then lets the operator run again. `afterRestart` changes
 * the world while no watch of the operator is connected.
 */
async function expireWatchesOfFrozenOperator(afterRestart?: () => Promise<void>): Promise<void> {
  await cluster.cp.restart('kube-apiserver');
  // What happens now cannot even sit in the frozen operator's socket buffers: its connections are gone.
  await afterRestart?.();
  for (let i = 0; i < 5; i++)
    await eventually('a write after the restart', () =>
      cluster.core
        .patchNamespacedConfigMap({
          name: 'keep-2',
          namespace: ns,
          body: [{ op: 'replace', path: '/data/a', value: `x${i}` }],
        })
        .then(() => true),
    );
  await sleep(6000);
  op.signal('SIGCONT');
}

test('a watch forced to expire is relisted and the deletions missed meanwhile are delivered', async () => {
  const { core } = cluster;
  const keep = ['keep-1', 'keep-2'];
  const gone = ['gone-1', 'gone-2', 'gone-3'];
  for (const name of [...keep, ...gone])
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: configMap(name, run, { [noFinalizerAnnotation]: 'true' }),
    });
  await eventually('every object handled once', () =>
    [...keep, ...gone].every((n) => handled(op, n, 'ADDED').length === 1),
  );

  // Freeze the operator with its watch open, then change the world behind its back.
  op.signal('SIGSTOP');
  for (const name of gone) await core.deleteNamespacedConfigMap({ name, namespace: ns });
  for (let i = 0; i < 20; i++)
    await core.patchNamespacedConfigMap({
      name: 'keep-1',
      namespace: ns,
      body: [{ op: 'replace', path: '/data/a', value: String(i) }],
    });
  await expireWatchesOfFrozenOperator();

  await op.waitForLog(
    'a relist because the watch expired',
    (l) => l.msg === 'listed' && l.resource === 'configmaps.v1' && l.reason === 'expired',
    60_000,
  );
  await eventually(
    'every deletion delivered',
    () => gone.every((n) => handled(op, n, 'DELETED').length === 1),
    {
      timeoutMs: 30_000,
    },
  );
  // Nothing that still exists was reported deleted, and the operator is still the same process.
  for (const name of keep) expect(handled(op, name, 'DELETED')).toHaveLength(0);
  expect(
    await op.metric('spiderpool_operator_watch_relists_total', {
      resource: 'configmaps.v1',
      reason: 'expired',
    }),
  ).toBeGreaterThanOrEqual(1);
  expect(op.running).toBe(true);
}, 120_000);

test('a record whose pod lived and died while the watches were gone is released when they list again, not at the next scan', async () => {
  // No event ever names this pod: it is created, given a record by a plugin killed between its pool
  // write and its endpoint write (so no SpiderEndpoint names it either), and deleted, all while the
  // operator is frozen; its watches then re-list a world without it. The periodic scan is 600 s
  // away (conf.yml's default; it ran when this operator's term began), so only a scan run because
  // of the re-list gives the address back within the deadline.
  const fixtures = new ClusterFixtures(cluster.kc);
  const plugin = new CompiledPlugin(cluster.dir, cluster.cp.kubeconfigPath('cni'));
  try {
    const pool = await fixtures.pool({ subnet: '198.18.51.0/24', ips: ['198.18.51.10-198.18.51.19'] });
    op.signal('SIGSTOP');
    let records: Array<{ ip: string; podUid: string }> = [];
    await expireWatchesOfFrozenOperator(async () => {
      const pod = await eventually('a pod created after the restart', () =>
        fixtures.pod({ namespace: ns, name: 'gap-pod', nodeName: 'node-1' }),
      );
      await plugin.killedAfterPoolWrite(pod, pool);
      await fixtures.deletePod(ns, 'gap-pod');
      records = (await fixtures.poolState(pool)).records;
      expect(records.map((r) => r.podUid)).toEqual([pod.metadata?.uid]);
      expect(await fixtures.endpoint(ns, 'gap-pod')).toBeUndefined();
    });

    await op.waitForLog(
      'the pod watch re-listed because it expired',
      (l) => l.msg === 'listed' && l.resource === 'pods.v1' && l.reason === 'expired',
      60_000,
    );
    await eventually(
      `${records[0]?.ip} released`,
      async () => (await fixtures.poolState(pool)).records.length === 0,
      { timeoutMs: 45_000 },
    );
    expect(op.running).toBe(true);
  } finally {
    await fixtures.cleanup();
  }
}, 150_000);
