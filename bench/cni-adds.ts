// One run of ADDs through the compiled plugin, as a runtime calls it: `adds` fresh pods on one node,
// each naming one pool of exactly `adds` addresses, at most `concurrency` calls at a time. What the
// ADD benchmarks share (bench:cni-alloc, bench:cni-pools): wall time, per-call latencies, failures,
// duplicate addresses, and the leaders' own counts from their `batch` log lines.
import { existsSync, readFileSync } from 'node:fs';
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

/** What the leaders' `batch` log lines of a run add up to. */
export interface BatchStats {
  batches: number;
  poolWrites: number;
  conflicts: number;
  endpointWrites: number;
  /** Requests per batch, in log order. */
  sizes: number[];
  /** Each batch's time from its start to its answers. */
  ms: number[];
  /** The leading processes' CPU while their batches ran, summed (absent from older builds' lines). */
  cpuMs: number;
  /** Each batch's CPU, in log order (empty for older builds). */
  cpuMsEach: number[];
}

/** Sums the leaders' `batch` log lines of one run (the log files of its nodes). */
export function batchStats(...logFiles: string[]): BatchStats {
  const out: BatchStats = {
    batches: 0,
    poolWrites: 0,
    conflicts: 0,
    endpointWrites: 0,
    sizes: [],
    ms: [],
    cpuMs: 0,
    cpuMsEach: [],
  };
  for (const file of logFiles.filter((f) => existsSync(f)))
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.includes('"msg":"batch"')) continue;
      const entry = JSON.parse(line) as {
        size: number;
        poolWrites: number;
        conflicts: number;
        endpointWrites?: number;
        ms: number;
        cpuMs?: number;
      };
      out.batches++;
      out.poolWrites += entry.poolWrites;
      out.conflicts += entry.conflicts;
      out.endpointWrites += entry.endpointWrites ?? 0;
      out.sizes.push(entry.size);
      out.ms.push(entry.ms);
      if (entry.cpuMs !== undefined) {
        out.cpuMs += entry.cpuMs;
        out.cpuMsEach.push(entry.cpuMs);
      }
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
  const stats = batchStats(node.logFile);
  return {
    concurrency,
    wallMs,
    latencies,
    failures,
    duplicates: addresses.length - new Set(addresses).size,
    records: state.records.length,
    batches: stats.batches,
    poolWrites: stats.poolWrites,
    conflicts: stats.conflicts,
  };
}
