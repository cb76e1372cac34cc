// Plugin processes SIGKILLed in the middle of a burst of ADDs on one node, against the real API
// server: the leader killed before its pool write, between its pool write and its endpoint writes,
// and after them (before answering); and random processes killed at random moments. Afterwards no
// address is held twice, every record names the UID of a pod that exists (so the operator can
// reclaim it once that pod is gone), and retrying the killed calls, as the kubelet does, gives every
// pod exactly one address. The test build (fixtures/killable-plugin.ts) is the plugin's own main
// with a stage observer armed by environment variables.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { TestNode } from '../../harness/cni-plugin.js';
import { usePluginBed } from '../../harness/plugin-bed.js';
import { buildKillablePlugin, type Call, startCall } from '../../harness/plugin-calls.js';
import { eventually } from '../../harness/wait.js';

const bed = usePluginBed('cni-kills', 'kills');
let dir: string;
let binary: string;

beforeAll(async () => {
  dir = bed.testbed.dir;
  binary = buildKillablePlugin(dir);
}, 120_000);

type Run = Call;

/**
 * No lingering leader (cni/leader/): the tests that stop a leader at a stage of its batch are about
 * a plugin call that leads. test/integration/cni/linger.test.ts kills lingering leaders.
 */
const callsLead = { pluginLeaderLingerMs: 0 };

const start = (command: 'ADD' | 'DEL', node: TestNode, pod: V1Pod, env: Record<string, string> = {}): Run =>
  startCall(binary, command, node, bed.testbed.kubeconfig, pod, env);

const podsFor = (pool: string, count: number, prefix: string, node: TestNode): Promise<V1Pod[]> =>
  bed.fixtures.podsNamingPool(bed.namespace, node.name, pool, count, prefix);

/** What must hold after any burst, kills or not; returns the pods whose call did not finish. */
async function checkAfterBurst(pool: string, runs: Run[]): Promise<V1Pod[]> {
  const results = await Promise.all(runs.map((r) => r.done));
  const state = await bed.fixtures.poolState(pool);
  expect(state.allocatedIPCount).toBe(state.records.length);
  // Every record names an existing pod by UID.
  const uids = new Set(runs.map((r) => r.pod.metadata?.uid));
  expect(state.records.filter((r) => !uids.has(r.podUid))).toEqual([]);
  // No pod holds two addresses, so no address is lost to a pod twice over.
  const perPod = new Map<string, number>();
  for (const r of state.records) perPod.set(r.podUid, (perPod.get(r.podUid) ?? 0) + 1);
  expect([...perPod.values()].filter((n) => n > 1)).toEqual([]);
  const unfinished: V1Pod[] = [];
  results.forEach((result, i) => {
    const run = runs[i] as Run;
    if (result.code === 0) {
      // Whoever was answered holds exactly that address, under its own UID.
      const record = state.records.find((r) => r.podUid === run.pod.metadata?.uid);
      expect(record?.ip).toBe(result.address?.split('/')[0]);
    } else {
      // Only the killed fail. A leader may have printed its own answer and been killed later while
      // serving others: the runtime sees the signal, not the answer, and retries.
      expect(result.signal).toBe('SIGKILL');
      unfinished.push(run.pod);
    }
  });
  const answered = results.filter((r) => r.code === 0).map((r) => r.address);
  expect(new Set(answered).size).toBe(answered.length);
  return unfinished;
}

/** Retries the killed calls, then every pod holds exactly one address; then DEL empties the pool. */
async function retryThenRelease(
  pool: string,
  node: TestNode,
  pods: V1Pod[],
  unfinished: V1Pod[],
): Promise<void> {
  const retried = await Promise.all(unfinished.map((pod) => start('ADD', node, pod).done));
  expect(retried.map((r) => r.code)).toEqual(unfinished.map(() => 0));
  const state = await bed.fixtures.poolState(pool);
  expect(state.records.map((r) => r.podUid).sort()).toEqual(pods.map((p) => p.metadata?.uid).sort());
  await Promise.all(pods.map((p) => bed.fixtures.deletePod(bed.namespace, p.metadata?.name ?? '')));
  const dels = await Promise.all(pods.map((pod) => start('DEL', node, pod).done));
  expect(dels.map((r) => r.code)).toEqual(pods.map(() => 0));
  expect((await bed.fixtures.poolState(pool)).allocatedIPCount).toBe(0);
}

test.each(['before-pool-write', 'after-pool-write', 'after-endpoint-write'])(
  'the leader killed %s: its followers are served by the next leader, and its retry converges',
  async (stage) => {
    const node = bed.testbed.node(`kill-${stage}`, callsLead);
    const pool = await bed.fixtures.pool(
      { subnet: '198.18.30.0/24', ips: ['198.18.30.1-198.18.30.40'] },
      'kills',
    );
    const pods = await podsFor(pool, 30, stage, node);
    const marker = join(dir, `${stage}.killed`);
    const runs = pods.map((pod) =>
      start('ADD', node, pod, { SPIDERPOOL_TEST_KILL_AT: stage, SPIDERPOOL_TEST_KILL_MARKER: marker }),
    );
    const unfinished = await checkAfterBurst(pool, runs);
    expect(unfinished).toHaveLength(1); // the leader itself; everyone it led was served by the next one
    await retryThenRelease(pool, node, pods, unfinished);
  },
  120_000,
);

test('random processes killed at random moments of a burst leave nothing that a retry does not repair', async () => {
  const node = bed.testbed.node('kill-random');
  const pool = await bed.fixtures.pool(
    { subnet: '198.18.31.0/24', ips: ['198.18.31.1-198.18.31.60'] },
    'kills',
  );
  const pods = await podsFor(pool, 48, 'random', node);
  const runs = pods.map((pod) => start('ADD', node, pod));
  const victims = [...runs].sort(() => Math.random() - 0.5).slice(0, 10);
  for (const victim of victims) setTimeout(() => victim.child.kill('SIGKILL'), Math.random() * 600);
  const unfinished = await checkAfterBurst(pool, runs);
  await retryThenRelease(pool, node, pods, unfinished);
}, 120_000);

test('a DEL after the leader was killed between its pool write and its endpoint write still finds and releases the record', async () => {
  const node = bed.testbed.node('kill-alone', callsLead);
  const pool = await bed.fixtures.pool(
    { subnet: '198.18.32.0/24', ips: ['198.18.32.1-198.18.32.9'] },
    'kills',
  );
  const [pod] = await podsFor(pool, 1, 'alone', node);
  const marker = join(dir, 'alone.killed');
  const killed = await start('ADD', node, pod as V1Pod, {
    SPIDERPOOL_TEST_KILL_AT: 'after-pool-write',
    SPIDERPOOL_TEST_KILL_MIN_BATCH: '1',
    SPIDERPOOL_TEST_KILL_MARKER: marker,
  }).done;
  expect(killed.signal).toBe('SIGKILL');
  const uid = pod?.metadata?.uid;
  expect((await bed.fixtures.poolState(pool)).records.map((r) => r.podUid)).toEqual([uid]);
  expect(await bed.fixtures.endpoint(bed.namespace, 'alone-0')).toBeUndefined();

  // The runtime gives up on the pod; its DEL carries no K8S_POD_UID: the attachment record ADD wrote
  // before asking names it.
  await bed.fixtures.deletePod(bed.namespace, 'alone-0');
  const noUid = { ...(pod as V1Pod), metadata: { ...pod?.metadata, uid: '' } };
  const del = await start('DEL', node, noUid, { CNI_CONTAINERID: `c-${uid}` }).done;
  expect(del.code).toBe(0);
  expect((await bed.fixtures.poolState(pool)).records).toEqual([]);
}, 60_000);

test('a DEL whose endpoint the operator deletes between the leader’s read and its write succeeds', async () => {
  const node = bed.testbed.node('endpoint-gone', callsLead);
  const pool = await bed.fixtures.pool(
    { subnet: '198.18.34.0/24', ips: ['198.18.34.1-198.18.34.9'] },
    'kills',
  );
  const [pod] = (await podsFor(pool, 1, 'endpoint-gone', node)) as [V1Pod];
  const name = pod.metadata?.name ?? '';
  expect((await start('ADD', node, pod).done).code).toBe(0);
  expect(await bed.fixtures.endpoint(bed.namespace, name)).toBeDefined();
  await bed.fixtures.deletePod(bed.namespace, name);

  // The leader stands still after its reads and pool write; the endpoint goes for good meanwhile.
  const gate = join(dir, 'endpoint-gone.resume');
  const del = start('DEL', node, pod, {
    SPIDERPOOL_TEST_PAUSE_AT: 'after-pool-write',
    SPIDERPOOL_TEST_PAUSE_FILE: gate,
  });
  await eventually('the leader paused before its endpoint write', () => existsSync(`${gate}.paused`), {
    timeoutMs: 30_000,
    intervalMs: 20,
  });
  await bed.fixtures.removeEndpoint(bed.namespace, name);
  expect(await bed.fixtures.endpoint(bed.namespace, name)).toBeUndefined();
  writeFileSync(gate, '');

  const out = await del.done;
  expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: '' });
  expect((await bed.fixtures.poolState(pool)).records).toEqual([]);
  expect(await bed.fixtures.endpoint(bed.namespace, name)).toBeUndefined();
}, 60_000);
