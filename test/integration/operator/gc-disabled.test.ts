// `gc.enabled: false` on the real control plane: the pod rules and the scan give nothing back, while
// an endpoint that is deleted (here by the garbage collector, with its Pod) still releases what its
// finalizer holds, so the books stay true. The operator's own counters prove it handled each pod
// event before the test looks at the records.
import type { V1Pod } from '@kubernetes/client-node';
import { uniqueName } from '../../harness/clients.js';
import { eventually } from '../../harness/wait.js';
import {
  bare,
  createBoundPod,
  poolHolders,
  releaseLogged,
  setPodPhase,
  useOperatorWorld,
} from './fixtures/ipam-world.js';

const bed = useOperatorWorld({
  namespace: 'nogc',
  pool: { subnet: '198.18.11.0/24', ips: ['198.18.11.10-198.18.11.50'] },
  operator: {
    identity: 'nogc-op',
    // The scan would run every second if it were scheduled at all.
    conf: { gc: { enabled: false, intervalSeconds: 1 } },
  },
});

const createPod = (name: string, restartPolicy = 'Always') =>
  createBoundPod(bed.world, bed.ns, name, { restartPolicy });
const setPhase = (pod: V1Pod, phase: string, reason?: string) => setPodPhase(bed.world, pod, phase, reason);
const holders = () => poolHolders(bed.world, bed.pool);

const podEventsHandled = async () =>
  (await bed.op.metric('spiderpool_operator_reconcile_total', { controller: 'pods', result: 'success' })) ??
  0;

test('finished and evicted pods keep their addresses, and no scan runs', async () => {
  const job = await createPod(uniqueName('job'), 'Never');
  const evicted = await createPod(uniqueName('evicted'));
  const jobIp = bare(await bed.world.plugin.add(job, bed.pool));
  const evictedIp = bare(await bed.world.plugin.add(evicted, bed.pool));
  const before = await podEventsHandled();
  await setPhase(job, 'Succeeded');
  await setPhase(evicted, 'Failed', 'Evicted');
  // Both phase changes were handled by the pod controller (with GC on, either one releases).
  await eventually('both pod updates handled', async () => (await podEventsHandled()) >= before + 2);
  // Two scan intervals pass too.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const held = await holders();
  expect(held.get(jobIp)).toBe(job.metadata?.uid);
  expect(held.get(evictedIp)).toBe(evicted.metadata?.uid);
  expect(await bed.op.metric('spiderpool_ip_gc_counts')).toBeUndefined();
  expect(
    await bed.op.metric('spiderpool_operator_reconcile_total', { controller: 'gc-scan' }),
  ).toBeUndefined();
}, 90_000);

test("a deleted pod's endpoint, deleted with it by the garbage collector, still gives its address back", async () => {
  const pod = await createPod(uniqueName('deleted'));
  const name = pod.metadata?.name ?? '';
  const ip = bare(await bed.world.plugin.add(pod, bed.pool));
  await bed.world.fixtures.deletePod(bed.ns, name);
  await eventually(
    'the endpoint gone with its Pod',
    async () => (await bed.world.fixtures.endpoint(bed.ns, name)) === undefined,
    {
      timeoutMs: 60_000,
    },
  );
  expect((await holders()).has(ip)).toBe(false);
  const line = await releaseLogged(bed, name);
  // Released by the endpoint's finalizer, not by a pod rule.
  expect(line.cause).toBe('endpoint deleted');
}, 90_000);
