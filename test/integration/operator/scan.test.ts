// The periodic full scan repairs what events missed: a record written by a plugin killed between its
// pool write and its endpoint write, whose pod was deleted while no operator ran, is released at the
// start of the next leader's term; one whose pod is alive is kept scan after scan (the kubelet's
// retried ADD adopts it); one written after its pod was already gone is released by a later scan.
// Every record is the compiled plugin's: killed after its pool write (the test build of
// test/integration/cni/fixtures/killable-plugin.ts), and, for the late record, held after its reads
// until the pod is gone.
import type { V1Pod } from '@kubernetes/client-node';
import { uniqueName } from '../../harness/clients.js';
import { eventually } from '../../harness/wait.js';
import { bare, startOperator, startWorld, type World } from './fixtures/ipam-world.js';
import type { LogLine, OperatorProcess } from './operator-process.js';

let world: World;
let op: OperatorProcess | undefined;
let ns: string;
let pool: string;

beforeAll(async () => {
  world = await startWorld();
  ns = await world.fixtures.namespace('scan');
  pool = await world.fixtures.pool({ subnet: '198.18.30.0/24', ips: ['198.18.30.10-198.18.30.99'] });
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await world?.stop();
});

const pod = (name: string): Promise<V1Pod> => world.fixtures.pod({ namespace: ns, name, nodeName: 'node-1' });

async function holders(): Promise<Map<string, string>> {
  return new Map((await world.fixtures.poolState(pool)).records.map((r) => [r.ip, r.podUid]));
}

/** The address of the one record a killed ADD left for `p`. */
async function recordOf(p: V1Pod): Promise<string> {
  const ips = [...(await holders())].filter(([, uid]) => uid === p.metadata?.uid).map(([ip]) => ip);
  expect(ips).toHaveLength(1);
  return ips[0] as string;
}

async function killedAdd(p: V1Pod, beforeWrite?: () => Promise<void>): Promise<string> {
  await world.plugin.killedAfterPoolWrite(p, pool, beforeWrite ? { beforeWrite } : {});
  expect(await world.fixtures.endpoint(ns, p.metadata?.name ?? '')).toBeUndefined();
  return recordOf(p);
}

const scans = (o: OperatorProcess) => o.find((l) => l.msg === 'full scan done');
const releasedBy = (o: OperatorProcess, name: string) =>
  o.find((l: LogLine) => l.msg === 'addresses released' && l.object === `${ns}/${name}`);

test('records of killed plugins: the gone pod’s is released by the scan, the live pod’s is kept scan after scan', async () => {
  // While no operator runs: two plugins die after their pool writes; one pod is then deleted.
  const gone = await pod(uniqueName('gone'));
  const goneIp = await killedAdd(gone);
  const alive = await pod(uniqueName('alive'));
  const aliveIp = await killedAdd(alive);
  await world.fixtures.deletePod(ns, gone.metadata?.name ?? '');
  expect((await holders()).get(goneIp)).toBe(gone.metadata?.uid);

  op = await startOperator(world.cluster, { identity: 'scan-op', conf: { gc: { intervalSeconds: 2 } } });
  const o = op;
  await eventually('the first scan', () => scans(o).length >= 1);
  expect(releasedBy(o, gone.metadata?.name ?? '')).toMatchObject([{ cause: 'scan', reason: 'pod-gone' }]);
  expect((await holders()).has(goneIp)).toBe(false);

  await eventually('three more scans', () => scans(o).length >= 4, { timeoutMs: 20_000 });
  expect((await holders()).get(aliveIp)).toBe(alive.metadata?.uid);
  expect(releasedBy(o, alive.metadata?.name ?? '')).toEqual([]);
  // The kubelet's retried ADD adopts the record: same address, no second one.
  expect(bare(await world.plugin.add(alive, pool))).toBe(aliveIp);
  expect([...(await holders()).values()].filter((u) => u === alive.metadata?.uid)).toHaveLength(1);
  expect(await o.metric('spiderpool_ip_gc_counts', { reason: 'pod-gone' })).toBeGreaterThanOrEqual(1);
}, 90_000);

test('a record written after its pod was already deleted (no pod event follows) goes at a later scan', async () => {
  const o = op as OperatorProcess;
  const late = await pod(uniqueName('late'));
  // Counted before the record exists: the scan that releases it may finish before killedAdd returns.
  const before = scans(o).length;
  const ip = await killedAdd(late, () => world.fixtures.deletePod(ns, late.metadata?.name ?? ''));
  expect(
    await world.fixtures.core.listNamespacedPod({
      namespace: ns,
      fieldSelector: `metadata.name=${late.metadata?.name}`,
    }),
  ).toMatchObject({ items: [] });
  await eventually('released', async () => !(await holders()).has(ip), { timeoutMs: 20_000 });
  // The scan logs its release and its end after the pool write the test saw.
  await eventually('the releasing scan done', () => scans(o).length > before, { timeoutMs: 20_000 });
  expect(releasedBy(o, late.metadata?.name ?? '')).toMatchObject([{ cause: 'scan', reason: 'pod-gone' }]);
}, 60_000);
