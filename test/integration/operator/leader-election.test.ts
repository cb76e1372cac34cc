// Two replicas, one leader: only the leader reconciles; when it stops gracefully the follower takes
// over at once (the Lease is released), when it is killed the follower takes over once the Lease
// expires. Also: a handler that fails is retried, and the failures show in logs and metrics.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { RestClient } from '../../../kube/rest.js';
import { microTime } from '../../../operator/leader/decision.js';
import { eventually } from '../../harness/wait.js';
import { failTimesAnnotation, testFinalizer } from './fixtures/constants.js';
import { handled, type LogLine, OperatorProcess } from './operator-process.js';
import {
  configMap,
  installOperatorRbac,
  type PrivateCluster,
  readOrUndefined,
  startPrivateCluster,
  testLabel,
} from './private-cluster.js';

const ns = 'election';
/** The operator's own namespace (Lease, Secret), where the synthesized Role grants it access. */
const leaseNamespace = 'kube-system';
const run = 'election';
const timing = ['--lease-duration=4s', '--renew-deadline=3s', '--retry-period=500ms'];
let cluster: PrivateCluster;
const replicas: OperatorProcess[] = [];

function replica(identity: string): OperatorProcess {
  const op = OperatorProcess.start({
    kubeconfig: cluster.cp.kubeconfigPath('operator'),
    namespace: leaseNamespace,
    testNamespace: ns,
    selector: `${testLabel}=${run}`,
    identity,
    logFile: join(cluster.dir, `${identity}.log`),
    args: timing,
  });
  replicas.push(op);
  return op;
}

const becameLeader = (l: LogLine) => l.msg === 'became leader';
const when = (l: LogLine) => Date.parse(l.time);

async function holder(): Promise<{ holder: string; transitions: number }> {
  const lease = await cluster.kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'spiderpool-operator', namespace: leaseNamespace });
  return { holder: lease.spec?.holderIdentity ?? '', transitions: lease.spec?.leaseTransitions ?? 0 };
}

beforeAll(async () => {
  cluster = await startPrivateCluster();
  await cluster.core.createNamespace({ body: { metadata: { name: ns } } });
  await installOperatorRbac(cluster, ns);
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await cluster?.stop();
});

test('one of two replicas leads and reconciles; on SIGTERM the other takes over at once', async () => {
  const a = replica('replica-a');
  const b = replica('replica-b');
  const first = await eventually('a leader', () => [a, b].find((r) => r.find(becameLeader).length > 0));
  const other = first === a ? b : a;
  await other.waitForLog('to see the leader', (l) => l.msg === 'leader is another replica');
  expect(await first.metric('spiderpool_operator_leader')).toBe(1);
  expect(await other.metric('spiderpool_operator_leader')).toBe(0);
  expect((await holder()).holder).toBe(first.identity);
  // Both are ready: the leader once its watches synced, the follower as a follower.
  await eventually(
    'both ready',
    async () => (await first.probe('/readyz')) === 200 && (await other.probe('/readyz')) === 200,
  );

  await cluster.core.createNamespacedConfigMap({ namespace: ns, body: configMap('led', run) });
  await eventually('the leader to handle it', () => handled(first, 'led').length > 0);
  await sleep(1000);
  expect(handled(other, 'led')).toHaveLength(0);
  expect(other.find((l) => l.msg === 'controllers started')).toHaveLength(0);

  first.signal('SIGTERM');
  expect(await first.exited).toEqual({ code: 0, signal: null });
  const stopped = first.find((l) => l.msg === 'controllers stopped').at(-1) as LogLine;
  expect(first.find((l) => l.msg === 'released the leader Lease')).toHaveLength(1);
  // Released, so the other need not wait for the lease to expire: right after the exit the Lease is
  // held by nobody, or already by the other replica, never still by the one that left.
  expect(['', other.identity]).toContain((await holder()).holder);
  const took = await other.waitForLog('takeover', becameLeader, 10_000);
  // Never two reconcilers at once.
  expect(when(took)).toBeGreaterThan(when(stopped));
  expect((await holder()).holder).toBe(other.identity);

  // The new leader carries on: the deletion is finalized by it.
  await cluster.core.deleteNamespacedConfigMap({ name: 'led', namespace: ns });
  await other.waitForLog('finalizing led', (l) => l.msg === 'test finalized' && l.object === `${ns}/led`);
  await eventually('led gone', async () => (await readOrUndefined(cluster.core, ns, 'led')) === undefined);
}, 90_000);

test('when the leader is SIGKILLed, a follower takes over after the Lease expires', async () => {
  const leader = replicas.find((r) => r.running) as OperatorProcess;
  const c = replica('replica-c');
  await c.waitForLog(
    'to see the leader',
    (l) => l.msg === 'leader is another replica' && l.holder === leader.identity,
  );
  const before = await holder();
  const killedAt = Date.now();
  leader.signal('SIGKILL');
  await leader.exited;
  const took = await c.waitForLog('takeover', becameLeader, 15_000);
  const waited = when(took) - killedAt;
  // Nobody released the Lease: the follower waited for it to expire (4 s from its last renewal).
  expect(waited).toBeGreaterThan(2500);
  expect(waited).toBeLessThan(9000);
  const after = await holder();
  expect(after.holder).toBe('replica-c');
  expect(after.transitions).toBe(before.transitions + 1);
  await eventually('c ready', async () => (await c.probe('/readyz')) === 200);
}, 60_000);

test('a failing handler is retried with backoff; each failure is logged with its object and counted', async () => {
  const leader = replicas.find((r) => r.running && r.find(becameLeader).length > 0) as OperatorProcess;
  await cluster.core.createNamespacedConfigMap({
    namespace: ns,
    body: configMap('flaky', run, { [failTimesAnnotation]: '2' }),
  });
  await eventually('flaky handled after its failures', () => handled(leader, 'flaky', 'ADDED').length === 1);
  const failures = leader.find((l) => l.msg === 'handler failed; will retry' && l.object === `${ns}/flaky`);
  expect(failures.map((l) => [l.level, l.controller, l.attempt, l.error])).toEqual([
    ['error', 'test-configmaps', 1, 'planned failure 1 of 2'],
    ['error', 'test-configmaps', 2, 'planned failure 2 of 2'],
  ]);
  expect(
    await leader.metric('spiderpool_operator_reconcile_errors_total', { controller: 'test-configmaps' }),
  ).toBe(2);
  expect(
    await leader.metric('spiderpool_operator_reconcile_total', {
      controller: 'test-configmaps',
      result: 'error',
    }),
  ).toBe(2);
  await eventually('the finalizer added after the retries', async () =>
    (await readOrUndefined(cluster.core, ns, 'flaky'))?.metadata?.finalizers?.includes(testFinalizer),
  );
}, 60_000);

test('a leader that cannot renew within the renew deadline stops its controllers, and leads again later', async () => {
  const leader = replicas.find((r) => r.running && r.find(becameLeader).length > 0) as OperatorProcess;
  const stoppedBefore = leader.find((l) => l.msg === 'stopped leading').length;
  await cluster.cp.stopComponent('kube-apiserver');
  try {
    const stepped = await leader.waitForLog(
      'stepping down',
      (l) => l.msg === 'stopped leading' && String(l.reason).startsWith('could not renew'),
      20_000,
    );
    await leader.waitForLog(
      'controllers stopped',
      (l) => l.msg === 'controllers stopped' && when(l) >= when(stepped),
    );
    expect(leader.find((l) => l.msg === 'stopped leading')).toHaveLength(stoppedBefore + 1);
    expect(await leader.metric('spiderpool_operator_leader')).toBe(0);
  } finally {
    await cluster.cp.startComponent('kube-apiserver');
  }
  await eventually('leading again', async () => (await leader.metric('spiderpool_operator_leader')) === 1, {
    timeoutMs: 30_000,
  });
}, 60_000);

test('a leader that finds the Lease held by someone else stops at once', async () => {
  const leader = replicas.find((r) => r.running && r.find(becameLeader).length > 0) as OperatorProcess;
  // Raw JSON: client-node's typed Lease serialises renewTime with milliseconds, which the API
  // server refuses for a MicroTime.
  const rest = new RestClient(cluster.kc);
  const path = `/apis/coordination.k8s.io/v1/namespaces/${leaseNamespace}/leases/spiderpool-operator`;
  await eventually('an intruder to write the Lease', async () => {
    const lease = await rest.get<{ spec: Record<string, unknown> }>(path);
    await rest.request('PUT', path, {
      body: {
        ...lease,
        spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: microTime(new Date()) },
      },
    });
    return true;
  });
  rest.close();
  await leader.waitForLog(
    'stepping down for the intruder',
    (l) => l.msg === 'stopped leading' && l.reason === 'the Lease is held by another replica',
    10_000,
  );
  expect(await leader.metric('spiderpool_operator_leader')).toBe(0);
  // The intruder never renews, so the replica takes the Lease back once it expires.
  await eventually('leading again', async () => (await holder()).holder === leader.identity, {
    timeoutMs: 20_000,
  });
}, 60_000);
