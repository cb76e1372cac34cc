// Pod garbage collection on the real control plane, one test per rule: the operator runs as its
// service account; records and endpoints are written by the compiled CNI plugin; pods are
// created bound to a node (no kubelet runs, so phases are written by the test as a kubelet would).
import { AppsV1Api, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { finalizer } from '../../../api/index.js';
import { uniqueName } from '../../harness/clients.js';
import { eventually } from '../../harness/wait.js';
import {
  bare,
  createBoundPod,
  poolHolders,
  setPodPhase,
  type TestPodOptions,
  useOperatorWorld,
} from './fixtures/ipam-world.js';

const bed = useOperatorWorld({
  namespace: 'gc',
  pool: { subnet: '198.18.10.0/24', ips: ['198.18.10.10-198.18.10.250'] },
  operator: {
    identity: 'gc-op',
    conf: { gc: { intervalSeconds: 3600 } },
    args: ['--no-address-event-after=3s', '--log-level=debug'],
  },
});

const createPod = (name: string, o: TestPodOptions = {}) => createBoundPod(bed.world, bed.ns, name, o);
const setPhase = (pod: V1Pod, phase: string, reason?: string) => setPodPhase(bed.world, pod, phase, reason);
const holders = () => poolHolders(bed.world, bed.pool);

const releasedSoon = (ip: string, what: string) =>
  eventually(`${ip} released (${what})`, async () => !(await holders()).has(ip), { timeoutMs: 20_000 });

async function eventsOf(uid: string, reason: string): Promise<CoreV1Event[]> {
  const list = await bed.world.fixtures.core.listNamespacedEvent({
    namespace: bed.ns,
    fieldSelector: `involvedObject.uid=${uid}`,
  });
  return list.items.filter((e) => e.reason === reason);
}

const gcCount = async (reason: string) => (await bed.op.metric('spiderpool_ip_gc_counts', { reason })) ?? 0;

test('a deleted pod gets its address back; its endpoint goes with it; Events say so', async () => {
  const pod = await createPod(uniqueName('deleted'));
  const uid = pod.metadata?.uid ?? '';
  const ip = bare(await bed.world.plugin.add(pod, bed.pool));
  const allocated = await eventually(
    'the allocation Event',
    async () => (await eventsOf(uid, 'AddressAllocated'))[0],
  );
  expect(allocated.message).toBe(
    `Allocated ${ip}/24 from pool ${bed.pool} for eth0 (pod ${pod.metadata?.name} on node-1)`,
  );
  expect(allocated.type).toBe('Normal');

  const before = (await gcCount('pod-gone')) + (await gcCount('pod-terminating'));
  await bed.world.fixtures.deletePod(bed.ns, pod.metadata?.name ?? '');
  await releasedSoon(ip, 'pod deleted');
  await eventually(
    'the endpoint gone',
    async () => (await bed.world.fixtures.endpoint(bed.ns, pod.metadata?.name ?? '')) === undefined,
  );
  const released = await eventually(
    'the release Event',
    async () => (await eventsOf(uid, 'AddressReleased'))[0],
  );
  // A deletion with grace 0 is seen as terminating-and-due first, or straight as gone.
  expect([
    `Released ${ip} from pool ${bed.pool}: pod ${bed.ns}/${pod.metadata?.name} with UID ${uid} is gone`,
    expect.stringMatching(
      new RegExp(
        `^Released ${ip} from pool ${bed.pool}: pod ${bed.ns}/${pod.metadata?.name} is terminating and its grace period ended at `,
      ),
    ),
  ]).toContainEqual(released.message);
  expect((await gcCount('pod-gone')) + (await gcCount('pod-terminating'))).toBe(before + 1);
}, 60_000);

test('an evicted pod gets its address back while the Pod object stays', async () => {
  const pod = await createPod(uniqueName('evicted'));
  const ip = bare(await bed.world.plugin.add(pod, bed.pool));
  await setPhase(pod, 'Failed', 'Evicted');
  await releasedSoon(ip, 'evicted');
  expect(
    await bed.world.fixtures.core.readNamespacedPod({ name: pod.metadata?.name ?? '', namespace: bed.ns }),
  ).toBeDefined();
  expect(await gcCount('pod-evicted')).toBeGreaterThanOrEqual(1);
}, 60_000);

test('a finished Job pod (restartPolicy Never, Succeeded) gets its address back; a failed pod that restarts keeps it', async () => {
  const job = await createPod(uniqueName('job'), { restartPolicy: 'Never' });
  const jobIp = bare(await bed.world.plugin.add(job, bed.pool));
  const restarting = await createPod(uniqueName('onfailure'), { restartPolicy: 'OnFailure' });
  const restartingIp = bare(await bed.world.plugin.add(restarting, bed.pool));
  await setPhase(restarting, 'Failed');
  await setPhase(job, 'Succeeded');
  await releasedSoon(jobIp, 'finished');
  expect(await gcCount('pod-finished')).toBeGreaterThanOrEqual(1);
  // Handled after the Failed write (same queue order would not prove it): the restarting pod's
  // record is still held by it.
  expect((await holders()).get(restartingIp)).toBe(restarting.metadata?.uid);
}, 60_000);

test('a terminating pod keeps its address until its deletionTimestamp (grace included once), then loses it', async () => {
  const pod = await createPod(uniqueName('terminating'), { grace: 8 });
  const name = pod.metadata?.name ?? '';
  const ip = bare(await bed.world.plugin.add(pod, bed.pool));
  await bed.world.fixtures.core.deleteNamespacedPod({ name, namespace: bed.ns, gracePeriodSeconds: 8 });
  const terminating = await bed.world.fixtures.core.readNamespacedPod({ name, namespace: bed.ns });
  const deadline = new Date(terminating.metadata?.deletionTimestamp ?? 0).getTime();
  expect(deadline).toBeGreaterThan(Date.now());
  // Within the grace period: judged and kept, with a new look due at the deadline.
  const kept = await bed.op.waitForLog(
    'kept until the deadline',
    (l) => l.msg === 'addresses kept until the grace period ends' && l.object === `${bed.ns}/${name}`,
  );
  expect(Date.parse(kept.time)).toBeLessThan(deadline);
  expect((await holders()).get(ip)).toBe(pod.metadata?.uid);
  await releasedSoon(ip, 'grace period over');
  const line = await bed.op.waitForLog(
    'the release logged',
    (l) => l.msg === 'addresses released' && l.object === `${bed.ns}/${name}`,
  );
  expect(line.reason).toBe('pod-terminating');
  // Released at the deadline, not at deadline + grace.
  expect(Date.parse(line.time)).toBeGreaterThanOrEqual(deadline);
  expect(Date.parse(line.time)).toBeLessThan(deadline + 8000);
  await bed.world.fixtures.deletePod(bed.ns, name);
}, 60_000);

test('a same-name successor with another UID keeps what it holds when its predecessor is collected', async () => {
  const name = uniqueName('same');
  const first = await createPod(name);
  const firstIp = bare(await bed.world.plugin.add(first, bed.pool));
  // The operator sees the deletion only after the successor's ADD has written its record.
  bed.op.signal('SIGSTOP');
  let secondIp: string | undefined;
  let second: V1Pod | undefined;
  try {
    await bed.world.fixtures.deletePod(bed.ns, name);
    second = await createPod(name);
    const successor = second;
    // The plugin writes the pool record first; its endpoint write is refused while the
    // predecessor's endpoint is being deleted (the kubelet retries the ADD).
    secondIp = await bed.world.plugin.add(successor, bed.pool).then(
      (a) => bare(a),
      async (err: unknown) => {
        expect(String(err)).toContain('of an earlier pod is being deleted');
        return undefined;
      },
    );
  } finally {
    bed.op.signal('SIGCONT');
  }
  const successor = second as V1Pod;
  await releasedSoon(firstIp, 'predecessor gone');
  // The retried ADD finds its own record: the same address, now with its endpoint.
  const retried = await eventually('the retried ADD', () =>
    bed.world.plugin.add(successor, bed.pool).then(bare, () => undefined),
  );
  if (secondIp) expect(retried).toBe(secondIp);
  expect(retried).not.toBe(firstIp);
  const now = await holders();
  expect(now.get(retried)).toBe(successor.metadata?.uid);
  expect([...now.values()].filter((uid) => uid === successor.metadata?.uid)).toHaveLength(1);
  expect((await bed.world.fixtures.endpoint(bed.ns, name))?.status?.current.uid).toBe(
    successor.metadata?.uid,
  );
}, 60_000);

test('a StatefulSet replica keeps its address while its ordinal is valid and loses it when scaled below it', async () => {
  const apps = bed.world.cluster.kc.makeApiClient(AppsV1Api);
  const stsName = uniqueName('db');
  const sts = await apps.createNamespacedStatefulSet({
    namespace: bed.ns,
    body: {
      metadata: { name: stsName },
      spec: {
        replicas: 3,
        serviceName: stsName,
        selector: { matchLabels: { app: stsName } },
        template: {
          metadata: { labels: { app: stsName } },
          spec: { containers: [{ name: 'c', image: 'registry.invalid/none' }] },
        },
      },
    },
  });
  const podName = `${stsName}-2`;
  const pod = await createPod(podName, {
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: stsName,
        uid: sts.metadata?.uid ?? '',
        controller: true,
      },
    ],
  });
  const ip = bare(await bed.world.plugin.add(pod, bed.pool));
  await bed.world.fixtures.deletePod(bed.ns, podName);
  // The replica's pod is gone but ordinal 2 is within 3 replicas: judged, and the address stays.
  await bed.op.waitForLog(
    'the deleted replica judged',
    (l) =>
      l.msg === 'addresses kept' &&
      l.object === `${bed.ns}/${podName}` &&
      String(l.cause).endsWith('DELETED'),
  );
  expect((await holders()).get(ip)).toBe(pod.metadata?.uid);
  expect((await bed.world.fixtures.endpoint(bed.ns, podName))?.metadata.finalizers).toContain(finalizer);

  const fresh = await apps.readNamespacedStatefulSet({ name: stsName, namespace: bed.ns });
  await apps.replaceNamespacedStatefulSet({
    name: stsName,
    namespace: bed.ns,
    body: { ...fresh, spec: { ...(fresh.spec as NonNullable<typeof fresh.spec>), replicas: 2 } },
  });
  await releasedSoon(ip, 'scaled below the ordinal');
  await eventually(
    'the replica endpoint deleted',
    async () => (await bed.world.fixtures.endpoint(bed.ns, podName)) === undefined,
  );
  expect(await gcCount('statefulset-replica-gone')).toBeGreaterThanOrEqual(1);
}, 60_000);

test('an endpoint deleted by hand while its pod lives: the finalizer goes, the live pod keeps its address', async () => {
  const pod = await createPod(uniqueName('handdel'));
  const name = pod.metadata?.name ?? '';
  const ip = bare(await bed.world.plugin.add(pod, bed.pool));
  await bed.world.fixtures.spiderpool.deleteEndpoint(bed.ns, name);
  await eventually(
    'the endpoint gone',
    async () => (await bed.world.fixtures.endpoint(bed.ns, name)) === undefined,
  );
  expect((await holders()).get(ip)).toBe(pod.metadata?.uid);
  await bed.op.waitForLog(
    'the kept holder logged',
    (l) => l.msg === 'endpoint deleted; its holder keeps the addresses' && l.object === `${bed.ns}/${name}`,
  );
  expect(
    bed.op.find(
      (l) => l.msg === 'endpoint deleted; its holder keeps the addresses' && l.object === `${bed.ns}/${name}`,
    ),
  ).toHaveLength(1);
  // The pod's own end still gives the address back.
  await bed.world.fixtures.deletePod(bed.ns, name);
  await releasedSoon(ip, 'pod deleted after its endpoint');
}, 60_000);

test('a pod bound to a node without addresses gets an Event that says why', async () => {
  const narrow = await bed.world.fixtures.pool({
    subnet: '198.18.11.0/24',
    ips: ['198.18.11.10-198.18.11.20'],
    nodeName: ['node-2'],
  });
  const pod = await createPod(uniqueName('noaddr'), {
    annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [narrow] }) },
  });
  const event = await eventually(
    'the explanation Event',
    async () => (await eventsOf(pod.metadata?.uid ?? '', 'NoUsablePool'))[0],
    { timeoutMs: 20_000 },
  );
  expect(event.type).toBe('Warning');
  expect(event.message).toBe(
    `no address 3s after creation on node-1: pools from ipam.spidernet.io/ippool: eth0 IPv4: pool ${narrow} skipped: nodeName does not include node-1`,
  );
  await bed.world.fixtures.deletePod(bed.ns, pod.metadata?.name ?? '');
}, 60_000);

test('/metrics: pool totals, allocations and free counts, GC reclaims by reason, reconcile errors', async () => {
  const state = await bed.world.fixtures.poolState(bed.pool);
  await eventually('gauges match the pool', async () => {
    const total = await bed.op.metric('spiderpool_ippool_total_ip_counts', { pool: bed.pool });
    const allocated = await bed.op.metric('spiderpool_ippool_allocated_ip_counts', { pool: bed.pool });
    return total === 241 && allocated === (await bed.world.fixtures.poolState(bed.pool)).records.length;
  });
  expect(await bed.op.metric('spiderpool_ippool_free_ip_counts', { pool: bed.pool })).toBe(
    241 - state.records.length,
  );
  // Earlier tests deleted pods; a pod deleted with grace 0 is judged gone or terminating depending on
  // which event the operator sees first, so both reasons count.
  expect((await gcCount('pod-gone')) + (await gcCount('pod-terminating'))).toBeGreaterThanOrEqual(1);
  const text = await bed.op.metrics();
  expect(text).toContain('# TYPE spiderpool_operator_reconcile_errors_total counter');
  expect(text).toContain('# TYPE spiderpool_ip_gc_failure_counts counter');
  expect(text).toContain('# TYPE spiderpool_operator_webhook_request_duration_seconds histogram');
}, 60_000);
