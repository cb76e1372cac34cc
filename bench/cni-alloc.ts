// The plugin's allocation path end to end, side by side in one run: N ADDs of the compiled plugin
// (dist/bin/spiderpool, called as a runtime calls it) on one pool of exactly N addresses, for fresh
// pods on one node, at most C calls running at a time, for C = 1, 16, 64. Concurrency 1 is the
// baseline: the rate at 64 must be at least the rate at 1. Reported per level: wall time, ADDs/s and
// the ratio to C = 1, p50/p99 of a single ADD, failures, duplicate addresses, and from the leaders'
// log lines the batches, pool writes and 409 conflicts. Also the cold start of the plugin beside
// `node -e 0` in interleaved rounds. With `--baseline <executable>` (say the previous commit's build)
// each level runs that build too, right before this one, on the same control plane.
// Usage: npm run bench:cni-alloc [-- --adds 1000 --concurrency 1,16,64 --rounds 20 --logs <dir> --baseline <file>]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildExecutable, pluginExecutable } from '../build/executables.js';
import { addRun } from './cni-adds.js';
import { coldStart, median, percentile, pluginBenchCluster, runBench } from './harness.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      adds: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '1,16,64' },
      rounds: { type: 'string', default: '20' },
      /** Keep the plugin's log files (one folder per level) here instead of deleting them. */
      logs: { type: 'string' },
      /** Another build of the plugin to run through the same levels, each right before this one. */
      baseline: { type: 'string' },
    },
  });
  const adds = Number(values.adds);
  const levels = values.concurrency.split(',').map(Number);
  buildExecutable();
  const { cp, fixtures, close } = await pluginBenchCluster();
  const work = values.logs ?? mkdtempSync(join(tmpdir(), 'bench-cni-alloc-'));
  try {
    const start = coldStart(Number(values.rounds));
    console.log(`cold start, median of ${values.rounds} interleaved rounds`);
    console.log(`  node -e 0            ${start.node.toFixed(1)} ms`);
    console.log(
      `  spiderpool VERSION   ${start.plugin.toFixed(1)} ms (${(start.plugin / start.node).toFixed(2)}x node -e 0)`,
    );
    console.log(
      `\n${adds} ADDs of fresh pods on one node into one pool of exactly ${adds} (API server ${cp.server})`,
    );
    const subjects = [
      ...(values.baseline ? [{ name: 'baseline', binary: values.baseline }] : []),
      { name: 'this', binary: pluginExecutable },
    ];
    console.log(
      ...(values.baseline ? ['build'.padStart(8)] : []),
      'concurrency'.padStart(11),
      'wall s'.padStart(7),
      'ADDs/s'.padStart(7),
      'vs c=1'.padStart(7),
      'p50 ms'.padStart(7),
      'p99 ms'.padStart(7),
      'failed'.padStart(7),
      'dup'.padStart(4),
      'records'.padStart(8),
      'batches'.padStart(8),
      'writes'.padStart(7),
      '409s'.padStart(5),
    );
    const baseRates = new Map<string, number>();
    for (const c of levels) {
      for (const subject of subjects) {
        const r = await addRun(fixtures, cp.kubeconfigPath('cni'), work, adds, c, {
          label: `bench-${subject.name}-c${c}`,
          binary: subject.binary,
        });
        const rate = adds / (r.wallMs / 1000);
        const baseRate = baseRates.get(subject.name) ?? rate;
        baseRates.set(subject.name, baseRate);
        console.log(
          ...(values.baseline ? [subject.name.padStart(8)] : []),
          String(c).padStart(11),
          (r.wallMs / 1000).toFixed(1).padStart(7),
          rate.toFixed(1).padStart(7),
          `${(rate / baseRate).toFixed(2)}x`.padStart(7),
          median(r.latencies).toFixed(0).padStart(7),
          percentile(r.latencies, 99).toFixed(0).padStart(7),
          String(r.failures.length).padStart(7),
          String(r.duplicates).padStart(4),
          String(r.records).padStart(8),
          String(r.batches).padStart(8),
          String(r.poolWrites).padStart(7),
          String(r.conflicts).padStart(5),
        );
        if (r.failures.length) console.log(`  first failure: ${r.failures[0]}`);
        await fixtures.cleanup();
      }
    }
  } finally {
    if (!values.logs) rmSync(work, { recursive: true, force: true });
    await close();
  }
}

runBench(main);
