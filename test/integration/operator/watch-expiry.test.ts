// A watch whose history expired while the operator could not read it: the operator relists and
// delivers the deletions it missed. The private API server serves watches straight from etcd
// (no watch cache) and compacts etcd every 2 s, so history really disappears.
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../harness/wait.js';
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
  // The restart drops the operator's connection, so it must resume from its last resourceVersion...
  await cluster.cp.restart('kube-apiserver');
  // ...which compaction removes meanwhile (two compaction rounds after more writes).
  for (let i = 0; i < 5; i++)
    await eventually('a write after the restart', () =>
      core
        .patchNamespacedConfigMap({
          name: 'keep-2',
          namespace: ns,
          body: [{ op: 'replace', path: '/data/a', value: `x${i}` }],
        })
        .then(() => true),
    );
  await sleep(6000);
  op.signal('SIGCONT');

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
