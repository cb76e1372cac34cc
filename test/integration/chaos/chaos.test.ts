// Chaos against a private control plane (etcd, kube-apiserver, kube-controller-manager) with the
// compiled operator running (its full scan every 2 s): plugin processes SIGKILLed in the middle of a
// burst of ADDs, leaders in the middle of a group commit included; kube-apiserver and etcd restarted
// in the middle of a burst; two nodes' leaders racing on one pool. After each: no address is held
// twice, none is held by nobody, every answered pod holds what it was answered. Every failed call
// must be a killed one, or (while a component restarts) one that said "try again later" (code 11),
// and retries succeed.
//
// `npm test` runs a small subset; `npm run chaos` (SPIDERPOOL_TS_CHAOS=full) the full sizes: 100
// ADDs with kills, 500 ADDs across the restarts, 1000 concurrent ADDs from two nodes, 5 times. The
// assertions are the same at both sizes and never on timings.
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import { uniqueName } from '../../harness/clients.js';
import { type TestNode, testNode } from '../../harness/cni-plugin.js';
import { buildKillablePlugin, type Call, leaderKillEnv, startCall } from '../../harness/plugin-calls.js';
import { eventually } from '../../harness/wait.js';
import { startOperator, startWorld, type World } from '../operator/fixtures/ipam-world.js';
import type { OperatorProcess } from '../operator/operator-process.js';
import { type Audit, audit, clean } from './books.js';
import { count, newCounts, noteAudit, report, type ScenarioCounts } from './summary.js';

const full = process.env.SPIDERPOOL_TS_CHAOS === 'full';
const size = (fullSize: number, subset: number) => (full ? fullSize : subset);
const stages = ['before-pool-write', 'after-pool-write', 'after-endpoint-write'];

const timeout = full ? 3_600_000 : 120_000;

let world: World;
let op: OperatorProcess;
let binary: string;
let namespace: string;
let nodes: [TestNode, TestNode];
const results: ScenarioCounts[] = [];
let operators = 0;

beforeAll(async () => {
  world = await startWorld();
  binary = buildKillablePlugin(world.cluster.dir);
  namespace = await world.fixtures.namespace('chaos');
  nodes = [testNode(world.cluster.dir, 'node-1'), testNode(world.cluster.dir, 'node-2')];
  op = await startOperator(world.cluster, {
    identity: `chaos-${operators++}`,
    conf: { gc: { intervalSeconds: 2 } },
  });
}, 180_000);

afterAll(async () => {
  report(results);
  await op?.stop();
  await world?.stop();
});

const kubeconfig = () => world.cluster.cp.kubeconfigPath('cni');
const uidOf = (pod: V1Pod) => pod.metadata?.uid ?? '';
const nameOf = (pod: V1Pod) => pod.metadata?.name ?? '';

async function pool(first: string, last: string, subnet: string): Promise<string> {
  return world.fixtures.pool({ subnet, ips: [`${first}-${last}`] }, 'chaos');
}

/** `n` pods naming `poolName`, bound alternately to node-1 and node-2 when `twoNodes`. */
async function pods(n: number, prefix: string, poolName: string, twoNodes = false): Promise<V1Pod[]> {
  const out: V1Pod[] = [];
  for (let i = 0; i < n; i += 50) {
    const chunk = Array.from({ length: Math.min(50, n - i) }, (_, k) =>
      world.fixtures.pod({
        namespace,
        name: `${prefix}-${i + k}`,
        nodeName: twoNodes && (i + k) % 2 === 1 ? 'node-2' : 'node-1',
        annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [poolName] }) },
      }),
    );
    out.push(...(await Promise.all(chunk)));
  }
  return out;
}

const nodeOf = (pod: V1Pod): TestNode => (pod.spec?.nodeName === 'node-2' ? nodes[1] : nodes[0]);

function call(command: 'ADD' | 'DEL', pod: V1Pod, env: Record<string, string> = {}): Call {
  return startCall(binary, command, nodeOf(pod), kubeconfig(), pod, env);
}

/** Runs the calls of `pods` with at most `inFlight` at once; `onStart` sees each call as it starts. */
async function runAll(
  c: ScenarioCounts,
  command: 'ADD' | 'DEL',
  list: V1Pod[],
  answered: Map<string, string>,
  o: {
    inFlight?: number;
    /** Start call i no sooner than i * paceMs after the first. */
    paceMs?: number;
    /** Added to a failure's description: what was going on when the call ended. */
    label?: () => string;
    env?: (i: number) => Record<string, string>;
    onStart?: (call: Call, i: number) => void;
  } = {},
): Promise<{ pod: V1Pod; failed: boolean; tryAgain: boolean }[]> {
  const out: { pod: V1Pod; failed: boolean; tryAgain: boolean }[] = [];
  let next = 0;
  const begin = Date.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      const pod = list[i];
      if (!pod) return;
      if (o.paceMs) await sleep(Math.max(0, begin + i * o.paceMs - Date.now()));
      const running = call(command, pod, o.env?.(i) ?? {});
      o.onStart?.(running, i);
      const outcome = await running.done;
      count(c, outcome, running.killedBySuite, `${command} ${nameOf(pod)}${o.label?.() ?? ''}`);
      if (command === 'ADD' && outcome.code === 0 && outcome.address)
        answered.set(uidOf(pod), outcome.address);
      out.push({ pod, failed: outcome.code !== 0, tryAgain: outcome.cniCode === 11 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.inFlight ?? list.length, list.length) }, worker));
  return out;
}

/** Retries calls, as the kubelet does, until each succeeds (or the deadline passes: they are reported). */
async function retryUntilDone(
  c: ScenarioCounts,
  command: 'ADD' | 'DEL',
  list: V1Pod[],
  answered: Map<string, string>,
): Promise<void> {
  let pending = list;
  const deadline = Date.now() + (full ? 300_000 : 60_000);
  while (pending.length > 0 && Date.now() < deadline) {
    c.retries += pending.length;
    const outcomes = await runAll(c, command, pending, answered, { inFlight: 64 });
    pending = outcomes.filter((x) => x.failed).map((x) => x.pod);
    if (pending.length > 0) await sleep(500);
  }
  expect(pending.map(nameOf)).toEqual([]);
}

/** Waits for the books to be clean with a full scan of the operator done after `since` lines. */
async function settledAudit(pools: string[], answered: Map<string, string>): Promise<Audit> {
  const scansBefore = op.find((l) => l.msg === 'full scan done').length;
  let last: Audit | undefined;
  try {
    await eventually(
      'a clean audit after a full scan of the operator',
      async () => {
        if (op.find((l) => l.msg === 'full scan done').length < scansBefore + 2) return false;
        last = await audit(world.fixtures, namespace, pools, answered);
        return clean(last);
      },
      { timeoutMs: full ? 180_000 : 60_000, intervalMs: 500 },
    );
  } catch {
    // reported below with what was found
  }
  return last ?? (await audit(world.fixtures, namespace, pools, answered));
}

/** A scenario's counts, in the summary even when the scenario fails half-way. */
function scenario(name: string): ScenarioCounts {
  const c = newCounts(name);
  results.push(c);
  return c;
}

function finish(c: ScenarioCounts, a: Audit, started: number): void {
  noteAudit(c, a);
  c.seconds = Math.round((Date.now() - started) / 1000);
  expect(a).toEqual({ records: a.records, duplicates: [], leaks: [], miscounted: [], lost: [] });
  expect(c.failedOther).toEqual([]);
}

test(
  'plugin processes SIGKILLed at random moments of a burst of ADDs, leaders mid group commit included',
  async () => {
    const started = Date.now();
    const c = scenario('SIGKILLed plugin processes');
    const n = size(100, 24);
    const waves = size(4, 2);
    const poolName = await pool('198.18.50.1', '198.18.50.250', '198.18.50.0/24');
    const list = await pods(n, 'kill', poolName);
    const answered = new Map<string, string>();
    // Each wave's leader kills itself at a random stage of its batch; the suite kills others at random.
    const perWave = Math.ceil(n / waves);
    const waveStage = Array.from(
      { length: waves },
      () => stages[Math.floor(Math.random() * stages.length)] as string,
    );
    // One marker per wave: the first leader of the wave to reach its stage takes it and dies.
    const markers = waveStage.map((_, wave) => `${world.cluster.dir}/${uniqueName('killed')}-${wave}`);
    const victims = new Set<number>();
    while (victims.size < size(20, 5)) victims.add(Math.floor(Math.random() * n));
    const outcomes = await runAll(c, 'ADD', list, answered, {
      env: (i) => {
        const wave = Math.floor(i / perWave);
        return leaderKillEnv(waveStage[wave] as string, markers[wave] as string);
      },
      onStart: (running, i) => {
        if (victims.has(i)) setTimeout(() => running.kill(), Math.random() * 1500);
      },
    });
    // Every failure is a killed call.
    expect(outcomes.filter((x) => x.failed).length).toBe(c.failedKilled);
    const failedPods = outcomes.filter((x) => x.failed).map((x) => x.pod);
    // Half of the killed pods are retried; the runtime gives up on the others and they are deleted
    // without a DEL, and so are a few that were served: the operator must reclaim their addresses.
    const retried = failedPods.filter((_, i) => i % 2 === 0);
    const abandoned = [
      ...failedPods.filter((_, i) => i % 2 === 1),
      ...list.filter((_, i) => i % 10 === 5 && !failedPods.includes(list[i] as V1Pod)),
    ];
    await retryUntilDone(c, 'ADD', retried, answered);
    await Promise.all(abandoned.map((p) => world.fixtures.deletePod(namespace, nameOf(p))));
    finish(c, await settledAudit([poolName], answered), started);
  },
  timeout,
);

test(
  'two nodes’ leaders racing on one pool: every ADD served once, every DEL frees its address',
  async () => {
    const started = Date.now();
    const c = scenario('two nodes racing');
    const n = size(1000, 24);
    const rounds = full ? Number(process.env.SPIDERPOOL_TS_CHAOS_ROUNDS ?? 5) : 2;
    const poolName = await pool('198.19.0.1', '198.19.4.200', '198.19.0.0/21');
    let last: Audit | undefined;
    for (let round = 0; round < rounds; round++) {
      const list = await pods(n, `race${round}`, poolName, true);
      const answered = new Map<string, string>();
      // A call may be answered "try again later" (code 11) when its leader's batch outlasts the
      // follower's wait; the runtime retries it, and so does the suite.
      const adds = await runAll(c, 'ADD', list, answered);
      expect(c.failedOther).toEqual([]);
      await retryUntilDone(
        c,
        'ADD',
        adds.filter((x) => x.failed).map((x) => x.pod),
        answered,
      );
      const added = await audit(world.fixtures, namespace, [poolName], answered);
      expect(added.records).toBe(n);
      expect({ ...added, records: 0 }).toEqual({
        records: 0,
        duplicates: [],
        leaks: [],
        miscounted: [],
        lost: [],
      });
      await Promise.all(list.map((p) => world.fixtures.deletePod(namespace, nameOf(p))));
      const dels = await runAll(c, 'DEL', list, new Map());
      expect(c.failedOther).toEqual([]);
      await retryUntilDone(
        c,
        'DEL',
        dels.filter((x) => x.failed).map((x) => x.pod),
        new Map(),
      );
      last = await audit(world.fixtures, namespace, [poolName], new Map());
      c.duplicates += added.duplicates.length;
      expect(last.records).toBe(0);
    }
    const final = last as Audit;
    final.leaks = (await world.fixtures.poolState(poolName)).records.map(
      (r) => `${r.ip} ${r.pod} ${r.podUid}`,
    );
    finish(c, final, started);
  },
  timeout,
);

test(
  'kube-apiserver and etcd restarted in the middle of a burst of ADDs: code 11 or success, retries succeed',
  async () => {
    const started = Date.now();
    const c = scenario('apiserver and etcd restarted');
    const n = size(500, 30);
    const poolName = await pool('198.18.52.1', '198.18.53.250', '198.18.52.0/23');
    const list = await pods(n, 'restart', poolName);
    const answered = new Map<string, string>();
    let begun = 0;
    const fifth = Math.floor(n / 5);
    let restarts: Promise<void> = Promise.resolve();
    let phase = 'before the restarts';
    // Paced so that the burst spans both restarts (each takes seconds): calls before, during, after.
    const outcomes = await runAll(c, 'ADD', list, answered, {
      paceMs: size(80, 500),
      label: () => ` (${phase})`,
      onStart: () => {
        begun++;
        // The restarts run beside the burst, which keeps starting calls meanwhile.
        if (begun === fifth)
          restarts = (async () => {
            phase = 'kube-apiserver restarting';
            await world.cluster.cp.restart('kube-apiserver');
            c.restarts++;
            phase = 'etcd restarting';
            await world.cluster.cp.restart('etcd');
            c.restarts++;
            phase = 'after the restarts';
          })();
      },
    });
    await restarts;
    const failedPods = outcomes.filter((x) => x.failed).map((x) => x.pod);
    expect(c.failedOther).toEqual([]);
    expect(failedPods.length).toBe(c.failedTryAgain);
    await retryUntilDone(c, 'ADD', failedPods, answered);
    // The operator may have lost its lease while the API server was away; one is brought back.
    if (!op.running) {
      op = await startOperator(world.cluster, {
        identity: `chaos-${operators++}`,
        conf: { gc: { intervalSeconds: 2 } },
      });
      c.restarts++;
    }
    finish(c, await settledAudit([poolName], answered), started);
  },
  timeout,
);
