// One run of ADDs through the compiled plugin, as a runtime calls it: `adds` fresh pods on one node,
// each naming one pool of exactly `adds` addresses, at most `concurrency` calls at a time. What the
// ADD benchmarks share (bench:cni-alloc, bench:cni-pools): wall time, per-call latencies, failures,
// duplicate addresses, and the leaders' own counts from their `batch` log lines.
import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import { pluginExecutable } from '../build/executables.js';
import { formatValue, parseIP } from '../ipam/address/ip.js';
import { cniEnv, netConf, runProcess, testNode } from '../test/harness/cni-plugin.js';
import type { ClusterFixtures } from '../test/harness/spiderpool-api.js';

export interface Level {
  concurrency: number;
  wallMs: number;
  latencies: number[];
  failures: string[];
  duplicates: number;
  records: number;
  batches: number;
  poolWrites: number;
  conflicts: number;
}

/** A pool of exactly `size` addresses from 198.18.0.1 on (a /16 holds up to 65534). */
export function poolSpec(size: number) {
  const first = parseIP('198.18.0.1', 4).value;
  return { subnet: '198.18.0.0/16', ips: [`198.18.0.1-${formatValue(4, first + BigInt(size) - 1n)}`] };
}

/** Sums the leaders' `batch` log lines of one run. */
function batchStats(logFile: string): Pick<Level, 'batches' | 'poolWrites' | 'conflicts'> {
  const out = { batches: 0, poolWrites: 0, conflicts: 0 };
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"msg":"batch"')) continue;
    const entry = JSON.parse(line) as { poolWrites: number; conflicts: number };
    out.batches++;
    out.poolWrites += entry.poolWrites;
    out.conflicts += entry.conflicts;
  }
  return out;
}

export async function addRun(
  fixtures: ClusterFixtures,
  kubeconfig: string,
  work: string,
  adds: number,
  concurrency: number,
  opts: { label?: string; binary?: string } = {},
): Promise<Level> {
  const label = opts.label ?? `bench-c${concurrency}`;
  const binary = opts.binary ?? pluginExecutable;
  const node = testNode(work, label);
  const pool = await fixtures.pool(poolSpec(adds), label);
  const namespace = await fixtures.namespace(label);
  const pods: V1Pod[] = [];
  for (let start = 0; start < adds; start += 50) {
    const chunk = Array.from({ length: Math.min(50, adds - start) }, (_, k) => start + k);
    pods.push(
      ...(await Promise.all(
        chunk.map((i) =>
          fixtures.pod({
            namespace,
            name: `p${i}`,
            nodeName: node.name,
            annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }) },
          }),
        ),
      )),
    );
  }
  const config = JSON.stringify(netConf(node, kubeconfig, { ipam: { log_level: 'info' } }));
  const latencies: number[] = [];
  const failures: string[] = [];
  const addresses: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < adds; i = next++) {
        const pod = pods[i] as V1Pod;
        const ref = { namespace, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
        const t = performance.now();
        const out = await runProcess(binary, [], { PATH: process.env.PATH, ...cniEnv('ADD', ref) }, config);
        latencies.push(performance.now() - t);
        const address = (out.json?.ips as Array<{ address: string }> | undefined)?.[0]?.address;
        if (out.code === 0 && address) addresses.push(address);
        else failures.push(out.stdout.trim() || `exit ${out.code ?? out.signal}`);
      }
    }),
  );
  const wallMs = performance.now() - started;
  const state = await fixtures.poolState(pool);
  return {
    concurrency,
    wallMs,
    latencies,
    failures,
    duplicates: addresses.length - new Set(addresses).size,
    records: state.records.length,
    ...batchStats(node.logFile),
  };
}
