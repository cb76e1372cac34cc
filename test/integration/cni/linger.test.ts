// The lingering leader (cni/leader/) through the compiled plugin against the real API server: after a
// call has led its node's batch it leaves a successor (`spiderpool lead`) that serves the next calls
// with its connection open and the pools it wrote in memory. Checked here: the calls that follow are
// followers and the pool is read once; a pool changed by someone else between two of its batches (a
// record, then the spec) is caught by the guarded write; hand-over from one lingering leader to the
// next under load (pluginLeaderMaxLifeMs); a lingering leader SIGKILLed while idle and in the middle
// of a burst. After each: no address twice, every answered pod holds what it was answered.
import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import {
  cniEnv,
  netConf,
  type ProcessOutcome,
  pluginBinary,
  runProcess,
  type TestNode,
} from '../../harness/cni-plugin.js';
import { type ClusterFixtures, PluginTestbed } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';

let testbed: PluginTestbed;
let fixtures: ClusterFixtures;
let namespace: string;

beforeAll(async () => {
  testbed = await PluginTestbed.start('cni-linger');
  fixtures = testbed.fixtures;
  namespace = await fixtures.namespace('linger');
}, 120_000);

afterAll(() => testbed?.close());

/** A linger long enough that one lingering leader sees the whole test through on a busy machine. */
const steady = { pluginLeaderLingerMs: 30_000 };

interface LogLine {
  msg: string;
  pid: number;
  role?: string;
  reason?: string;
  conflicts?: number;
  poolReads?: { gets: number; carried: number };
}

function log(node: TestNode): LogLine[] {
  try {
    return readFileSync(node.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine);
  } catch {
    return [];
  }
}

/** Whether `pid` runs (a zombie waiting for its reaper does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pid of the newest lingering leader of `node` that is still alive and is not `except`. */
async function lingerer(node: TestNode, except?: number): Promise<number> {
  return eventually(
    'a lingering leader',
    () => {
      const pids = log(node)
        .filter((l) => l.msg === 'lingering leader' && l.pid !== except)
        .map((l) => l.pid);
      const pid = pids.at(-1);
      return pid !== undefined && alive(pid) ? pid : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 20 },
  );
}

const podsOn = (node: TestNode, pool: string, count: number, prefix: string): Promise<V1Pod[]> =>
  fixtures.podsNamingPool(namespace, node.name, pool, count, prefix);

function add(node: TestNode, pod: V1Pod): Promise<ProcessOutcome> {
  const ref = { namespace, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
  return runProcess(
    pluginBinary(),
    [],
    { PATH: process.env.PATH, ...cniEnv('ADD', ref) },
    JSON.stringify(netConf(node, testbed.kubeconfig)),
  );
}

const addressOf = (out: ProcessOutcome) =>
  (out.json?.ips as Array<{ address: string }> | undefined)?.[0]?.address.split('/')[0];

/** Every answered pod holds exactly its answer, no address twice, no record of a pod not asked for. */
async function checkPool(pool: string, pods: V1Pod[], outcomes: ProcessOutcome[]): Promise<void> {
  const state = await fixtures.poolState(pool);
  expect(state.allocatedIPCount).toBe(state.records.length);
  expect(new Set(state.records.map((r) => r.ip)).size).toBe(state.records.length);
  const uids = new Set(pods.map((p) => p.metadata?.uid));
  expect(state.records.filter((r) => !uids.has(r.podUid))).toEqual([]);
  outcomes.forEach((out, i) => {
    if (out.code !== 0) return;
    const uid = pods[i]?.metadata?.uid;
    expect(state.records.filter((r) => r.podUid === uid).map((r) => r.ip)).toEqual([addressOf(out)]);
  });
}

test('after a call has led, a lingering leader serves the next calls: they follow, and the pool is read once', async () => {
  const node = testbed.node('linger-serial', steady);
  const pool = await fixtures.pool({ subnet: '198.18.40.0/24', ips: ['198.18.40.1-198.18.40.20'] }, 'linger');
  const pods = await podsOn(node, pool, 5, 'serial');
  const outcomes = [await add(node, pods[0] as V1Pod)];
  const pid = await lingerer(node);
  for (const pod of pods.slice(1)) outcomes.push(await add(node, pod));
  expect(outcomes.map((o) => o.code)).toEqual([0, 0, 0, 0, 0]);
  const lines = log(node);
  // Each later call was a follower; the lingering leader made every batch after the first.
  expect(lines.filter((l) => l.msg === 'answered').map((l) => l.role)).toEqual([
    'leader',
    'follower',
    'follower',
    'follower',
    'follower',
  ]);
  const batches = lines.filter((l) => l.msg === 'batch');
  expect(batches.slice(1).map((b) => b.pid)).toEqual([pid, pid, pid, pid]);
  // Its first batch read the pool; the others took it as the previous write returned it.
  expect(batches.slice(1).map((b) => b.poolReads?.gets)).toEqual([1, 0, 0, 0]);
  expect(batches.slice(2).every((b) => b.poolReads?.carried === 1)).toBe(true);
  await checkPool(pool, pods, outcomes);
}, 60_000);

test('a pool changed by someone else between two batches of a lingering leader: a record (409, read again), then its spec (code 11, the retry decides on the new spec)', async () => {
  const node = testbed.node('linger-stale', steady);
  const pool = await fixtures.pool({ subnet: '198.18.41.0/24', ips: ['198.18.41.1-198.18.41.4'] }, 'linger');
  const pods = await podsOn(node, pool, 4, 'stale');
  const outcomes = [await add(node, pods[0] as V1Pod)];
  await lingerer(node);
  outcomes.push(await add(node, pods[1] as V1Pod));
  // Another writer takes two of the remaining addresses (records of a pod of this test's own).
  const taken = await fixtures.spiderpool.getPool(pool);
  const held = JSON.parse(taken.status?.allocatedIPs ?? '{}') as Record<string, unknown>;
  const free = ['198.18.41.1', '198.18.41.2', '198.18.41.3', '198.18.41.4'].filter((ip) => !(ip in held));
  const other = pods[3] as V1Pod;
  const otherRecord = {
    pod: `${namespace}/${other.metadata?.name}`,
    podUid: other.metadata?.uid,
    nic: 'eth0',
  };
  await fixtures.spiderpool.replacePoolStatus({
    ...taken,
    status: {
      ...taken.status,
      allocatedIPs: JSON.stringify({ ...held, [free[0] as string]: otherRecord }),
      allocatedIPCount: Object.keys(held).length + 1,
    },
  });
  const conflictsBefore = log(node)
    .filter((l) => l.msg === 'batch')
    .reduce((n, b) => n + (b.conflicts ?? 0), 0);
  outcomes.push(await add(node, pods[2] as V1Pod));
  expect(outcomes.map((o) => o.code)).toEqual([0, 0, 0]);
  expect(addressOf(outcomes[2] as ProcessOutcome)).toBe(free[1]);
  const conflictsAfter = log(node)
    .filter((l) => l.msg === 'batch')
    .reduce((n, b) => n + (b.conflicts ?? 0), 0);
  expect(conflictsAfter).toBe(conflictsBefore + 1);

  // Now the spec: two more addresses. The leader chose the pool by the spec it carried, so the ADD
  // is sent back (code 11), and the runtime's retry is served on the new spec.
  const current = await fixtures.spiderpool.getPool(pool);
  await fixtures.spiderpool.replacePool({
    ...current,
    spec: { ...current.spec, ips: ['198.18.41.1-198.18.41.6'] },
  });
  expect((await fixtures.spiderpool.getPool(pool)).metadata.generation).not.toBe(current.metadata.generation);
  const late = (await podsOn(node, pool, 1, 'late'))[0] as V1Pod;
  const first = await add(node, late);
  expect(first.json).toMatchObject({ code: 11, msg: expect.stringContaining(`pool ${pool} was changed`) });
  const retried = await add(node, late);
  expect(retried.code).toBe(0);
  expect(['198.18.41.5', '198.18.41.6']).toContain(addressOf(retried));
  await checkPool(
    pool,
    [...pods.slice(0, 3), other, late],
    [...outcomes, { code: 1 } as ProcessOutcome, retried],
  );
}, 60_000);

test('hand-over from one lingering leader to the next (pluginLeaderMaxLifeMs) under a steady stream of calls', async () => {
  const node = testbed.node('linger-handover', { pluginLeaderLingerMs: 5_000, pluginLeaderMaxLifeMs: 1_000 });
  const pool = await fixtures.pool({ subnet: '198.18.42.0/24', ips: ['198.18.42.1-198.18.42.80'] }, 'linger');
  const pods = await podsOn(node, pool, 48, 'handover');
  const outcomes: ProcessOutcome[] = [];
  outcomes[0] = await add(node, pods[0] as V1Pod);
  const first = await lingerer(node);
  // Four callers at a time, for longer than a lingering leader may lead.
  let next = 1;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = next++; i < pods.length; i = next++) {
        outcomes[i] = await add(node, pods[i] as V1Pod);
        // Spread over a few seconds even on an idle machine.
        await new Promise((r) => setTimeout(r, 60));
      }
    }),
  );
  expect(outcomes.map((o) => o.code)).toEqual(pods.map(() => 0));
  const lines = log(node);
  expect(
    lines.some((l) => l.msg === 'lingering leader handed over' && l.pid === first && l.reason === 'max-lead'),
  ).toBe(true);
  const leaders = new Set(lines.filter((l) => l.msg === 'lingering leader').map((l) => l.pid));
  expect(leaders.size).toBeGreaterThanOrEqual(2);
  await checkPool(pool, pods, outcomes);
}, 120_000);

test('a lingering leader SIGKILLed while idle, and again in the middle of a burst: nothing lost, nothing twice', async () => {
  const node = testbed.node('linger-kill', steady);
  const pool = await fixtures.pool({ subnet: '198.18.43.0/24', ips: ['198.18.43.1-198.18.43.60'] }, 'linger');
  const pods = await podsOn(node, pool, 41, 'kill');
  const outcomes: ProcessOutcome[] = [await add(node, pods[0] as V1Pod)];
  const idle = await lingerer(node);
  process.kill(idle, 'SIGKILL');
  // The name went with the process: the next call leads itself and leaves a new lingering leader.
  outcomes[1] = await add(node, pods[1] as V1Pod);
  expect(outcomes[1].code).toBe(0);
  const busy = await lingerer(node, idle);
  // A burst; the lingering leader dies a moment into it, wherever it is in its batch.
  const burst = pods.slice(2).map((pod) => add(node, pod));
  setTimeout(() => process.kill(busy, 'SIGKILL'), 150);
  outcomes.push(...(await Promise.all(burst)));
  // Its followers were not killed: each tried again with the next leader and was answered.
  expect(outcomes.map((o) => o.code)).toEqual(pods.map(() => 0));
  expect(alive(busy)).toBe(false);
  await checkPool(pool, pods, outcomes);
  expect((await fixtures.poolState(pool)).records).toHaveLength(pods.length);
}, 120_000);
