// Two replicas, one leader. A pod is deleted while the leader is dead (SIGKILL, no Lease release) and
// the follower has not taken over yet: no replica sees that deletion as an event. The follower, once it
// leads, lists the pods (the deleted one is simply absent) and its first scan gives the address back;
// while it was a follower it released nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import { uniqueName } from '../../harness/clients.js';
import { eventually } from '../../harness/wait.js';
import { bare, startOperator, startWorld, type World } from './fixtures/ipam-world.js';
import type { OperatorProcess } from './operator-process.js';

let world: World;
const replicas: OperatorProcess[] = [];

beforeAll(async () => {
  world = await startWorld();
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await world?.stop();
});

test('a pod deleted between a leader’s death and the takeover gets its address back from the new leader', async () => {
  const ns = await world.fixtures.namespace('takeover');
  const pool = await world.fixtures.pool({ subnet: '198.18.70.0/24', ips: ['198.18.70.10-198.18.70.19'] });
  const conf = { gc: { intervalSeconds: 3600 } };
  const first = await startOperator(world.cluster, { identity: 'first', conf });
  replicas.push(first);
  const follower = await startOperator(world.cluster, { identity: 'second', conf });
  replicas.push(follower);
  expect(follower.find((l) => l.msg === 'became leader')).toEqual([]);

  const pod = await world.fixtures.pod({ namespace: ns, name: uniqueName('orphan'), nodeName: 'node-1' });
  const ip = bare(await world.plugin.add(pod, pool));
  await eventually(
    'the leader saw the record',
    async () => (await first.metric('spiderpool_ippool_allocated_ip_counts', { pool })) === 1,
  );

  first.signal('SIGKILL');
  await first.exited;
  await world.fixtures.deletePod(ns, pod.metadata?.name ?? '');
  // While the Lease (4 s) has not expired nobody collects. Whether it expired is read from the
  // follower's log after the pool: a slow machine may reach the takeover before this read, and then
  // there is nothing to check here (the log order below still is).
  await sleep(1000);
  const held = (await world.fixtures.poolState(pool)).records.map((r) => r.ip);
  if (follower.find((l) => l.msg === 'became leader').length === 0) expect(held).toEqual([ip]);

  await follower.waitForLog('the follower leads', (l) => l.msg === 'became leader', 20_000);
  await eventually(
    'released by the new leader',
    async () => (await world.fixtures.poolState(pool)).records.length === 0,
    {
      timeoutMs: 20_000,
    },
  );
  // The operator logs right after its write, so the line may trail the pool the test just read.
  const released = await follower.waitForLog(
    'the release logged',
    (l) => l.msg === 'addresses released' && l.object === `${ns}/${pod.metadata?.name}`,
  );
  // Whichever comes first in its term: the start-of-term scan, or the endpoint the garbage collector
  // deleted with the pod (the plugin gives a stateless pod's endpoint an ownerReference to it).
  expect(released.reason).toBe('pod-gone');
  // Nothing was released by the follower before its term began.
  const lines = follower.lines();
  const becameLeader = lines.findIndex((l) => l.msg === 'became leader');
  expect(lines.findIndex((l) => l.msg === 'addresses released')).toBeGreaterThan(becameLeader);
  expect(['scan', 'endpoint deleted']).toContain(released.cause);
}, 90_000);
