// One round of `npm run bench` for one system: N fresh Pod objects on two nodes, a fresh pool of
// exactly N addresses, N ADDs at most C at a time, the API's records read back, the pods deleted,
// then N DELs (a DEL for a live pod keeps its addresses, so the pods go first). A round that stalls
// stops starting calls at its deadline; what never started is counted, not waited for.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { uniqueName } from '../../test/harness/clients.js';
import type { ControlPlane } from '../../test/harness/control-plane.js';
import { eventually } from '../../test/harness/wait.js';
import { percentile, stopOnInterrupt } from '../harness.js';
import {
  type BenchPod,
  readBack,
  resultAddress,
  type SystemStarter,
  type SystemUnderTest,
} from './system.js';

export const nodeNames = ['bench-node-a', 'bench-node-b'];

/**
 * A system started on a fresh control plane (`dir` its folder): the two nodes' Node objects, a work
 * folder, the system itself. close() stops the system, and so does SIGINT or SIGTERM before that
 * (Spiderpool's agents run detached).
 */
export async function startOnTwoNodes(
  cp: ControlPlane,
  dir: string,
  starter: SystemStarter,
  netns: string,
  log: (line: string) => void,
): Promise<{ admin: KubeConfig; work: string; system: SystemUnderTest; close: () => Promise<void> }> {
  const admin = new KubeConfig();
  admin.loadFromFile(cp.kubeconfigPath('admin'));
  const core = admin.makeApiClient(CoreV1Api);
  for (const node of nodeNames) await core.createNode({ body: { metadata: { name: node } } });
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  const system = await starter(cp, admin, work, netns, log);
  const unguard = stopOnInterrupt(() => system.close());
  return {
    admin,
    work,
    system,
    close: async () => {
      unguard();
      await system.close();
    },
  };
}

export interface PhaseStats {
  wallMs: number;
  latencies: number[];
  ok: number;
  failed: number;
  /** Calls never started because the round's deadline had passed. */
  skipped: number;
  firstFailure?: string;
}

export interface RoundResult {
  system: string;
  concurrency: number;
  n: number;
  add: PhaseStats;
  del: PhaseStats;
  /** Addresses held by more than one pod, from the ADD results and the API's records together. */
  duplicates: number;
  /** Records in the API after the ADDs. */
  recorded: number;
  /** Successful ADDs whose address the API does not record for that pod. */
  unrecorded: number;
  /** Records left in the API after the DELs (0 when every address came back). */
  left: number;
}

export interface RoundOptions {
  n: number;
  concurrency: number;
  /** DELs at most this many at a time (a node tears many pods down at once whatever the ADDs did). */
  delConcurrency: number;
  /**
   * After this long a phase above concurrency 1 starts no more calls (a stalled round ends instead of
   * hanging; one call at a time cannot stall on the others).
   */
  stallMs: number;
  callTimeoutMs: number;
  progress: (line: string) => void;
}

/** Runs `call` for every pod, at most `concurrency` at a time, printing progress every 10 s. */
export async function phase(
  what: string,
  pods: BenchPod[],
  opts: Pick<RoundOptions, 'stallMs' | 'progress'>,
  concurrency: number,
  call: (pod: BenchPod) => Promise<boolean | string>,
): Promise<PhaseStats> {
  const stats: PhaseStats = { wallMs: 0, latencies: [], ok: 0, failed: 0, skipped: 0 };
  const started = performance.now();
  const deadline = started + (concurrency > 1 ? opts.stallMs : Number.POSITIVE_INFINITY);
  const ticker = setInterval(() => {
    const s = ((performance.now() - started) / 1000).toFixed(0);
    opts.progress(
      `    ${what}: ${stats.ok + stats.failed}/${pods.length} done, ${stats.failed} failed, ${s} s`,
    );
  }, 10_000);
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < pods.length; i = next++) {
          if (performance.now() > deadline) {
            stats.skipped++;
            continue;
          }
          const t = performance.now();
          const outcome = await call(pods[i] as BenchPod);
          stats.latencies.push(performance.now() - t);
          if (outcome === true) stats.ok++;
          else {
            stats.failed++;
            stats.firstFailure ??= typeof outcome === 'string' ? outcome : 'failed';
          }
        }
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  stats.wallMs = performance.now() - started;
  return stats;
}

/** Creates `n` pods in a new namespace, alternating between the two nodes. */
export async function createPods(admin: KubeConfig, n: number, prefix: string): Promise<BenchPod[]> {
  const core = admin.makeApiClient(CoreV1Api);
  const namespace = uniqueName(prefix);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const pods: BenchPod[] = [];
  for (let start = 0; start < n; start += 50) {
    const chunk = Array.from({ length: Math.min(50, n - start) }, (_, k) => start + k);
    pods.push(
      ...(await Promise.all(
        chunk.map(async (i) => {
          const node = i % 2;
          const pod = await core.createNamespacedPod({
            namespace,
            body: {
              metadata: { name: `p${i}` },
              spec: {
                nodeName: nodeNames[node],
                containers: [{ name: 'c', image: 'registry.invalid/none' }],
              },
            },
          });
          return { namespace, name: `p${i}`, uid: pod.metadata?.uid ?? '', node };
        }),
      )),
    );
  }
  return pods;
}

async function deletePods(core: CoreV1Api, pods: BenchPod[]): Promise<void> {
  for (let start = 0; start < pods.length; start += 50) {
    await Promise.all(
      pods
        .slice(start, start + 50)
        .map((p) =>
          core.deleteNamespacedPod({ namespace: p.namespace, name: p.name, gracePeriodSeconds: 0 }),
        ),
    );
  }
  const namespace = pods[0]?.namespace;
  if (namespace)
    await eventually('the round pods to be gone', async () => {
      const list = await core.listNamespacedPod({ namespace, limit: 1 });
      return list.items.length === 0;
    });
}

function failureText(stdout: string, code: number | null, signal: string | null): string {
  return stdout.trim().slice(0, 300) || `exit ${code ?? signal}`;
}

export async function runRound(
  system: SystemUnderTest,
  admin: KubeConfig,
  opts: RoundOptions,
): Promise<RoundResult> {
  const core = admin.makeApiClient(CoreV1Api);
  const label = `c${opts.concurrency}`;
  const pods = await createPods(admin, opts.n, `bench-${label}`);
  await system.newPool(opts.n, label);
  const got = new Map<string, string>();
  opts.progress(`  ${system.label}, concurrency ${opts.concurrency}: ${opts.n} ADDs`);
  const added: BenchPod[] = [];
  const add = await phase(`ADD c${opts.concurrency}`, pods, opts, opts.concurrency, async (pod) => {
    added.push(pod);
    const out = await system.call('ADD', pod, opts.callTimeoutMs);
    const address = resultAddress(out);
    if (!address) return failureText(out.stdout, out.code, out.signal);
    got.set(`${pod.namespace}/${pod.name}`, address);
    return true;
  });
  const { duplicates, unrecorded, recorded } = readBack(got, await system.recorded());
  opts.progress(
    `    ADD c${opts.concurrency}: ${(add.wallMs / 1000).toFixed(1)} s, ${add.failed} failed, ${add.skipped} not started; ${recorded} records, ${duplicates} duplicates; deleting the pods, then the DELs, ${opts.delConcurrency} at a time`,
  );
  await deletePods(core, pods);
  // A runtime calls DEL for every sandbox it set up, failed ADD or not; a pod whose ADD never
  // started never had one.
  const attempted = new Set(added);
  const del = await phase(
    `DEL c${opts.concurrency}`,
    pods.filter((p) => attempted.has(p)),
    opts,
    opts.delConcurrency,
    async (pod) => {
      const out = await system.call('DEL', pod, opts.callTimeoutMs);
      return out.code === 0 ? true : failureText(out.stdout, out.code, out.signal);
    },
  );
  const after = await system.recorded();
  const left = [...after.values()].reduce((sum, h) => sum + h.length, 0);
  opts.progress(
    `    DEL c${opts.concurrency}: ${(del.wallMs / 1000).toFixed(1)} s, ${del.failed} failed, ${left} records left`,
  );
  return {
    system: system.label,
    concurrency: opts.concurrency,
    n: opts.n,
    add,
    del,
    duplicates,
    recorded,
    unrecorded,
    left,
  };
}

/** p50, p90 and p99 of a phase's call latencies, in ms. */
export function latencySummary(stats: PhaseStats): { p50: number; p90: number; p99: number } {
  return {
    p50: percentile(stats.latencies, 50),
    p90: percentile(stats.latencies, 90),
    p99: percentile(stats.latencies, 99),
  };
}
