// What other pools cost an ADD, side by side in one run: the same ADDs (fresh pods on one node, one
// pool of exactly that many addresses, at most C calls at a time) first with no other pools in the
// cluster, then with P other pools of R records each present (a busy cluster: 50 pools of 5,000
// allocations hold about 25 MB of status). The baseline is the run without other pools; the ratio
// of the crowded run's wall time to it says what the other pools cost. A plugin that read only the
// pools its pods need stays near 1.0; one that listed every pool on every batch would not.
// `--baseline <executable>` runs another build of the plugin (say the previous commit's) through both
// scenarios in the same run, for a before/after comparison.
// Usage: npm run bench:cni-pools [-- --adds 200 --concurrency 16 --pools 50 --records 5000 --baseline <file>]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { buildExecutable, pluginExecutable } from '../build/executables.js';
import { formatValue, parseIP } from '../ipam/address/ip.js';
import {
  ClusterFixtures,
  cniPolicyRules,
  ensureSpiderpoolCrds,
  grantClusterRules,
} from '../test/harness/spiderpool-api.js';
import { addRun, type Level } from './cni-adds.js';
import { benchControlPlane, median, percentile, runBench } from './harness.js';

/** Creates one pool in 198.19.0.0/16 holding `records` records of pods that do not exist. */
async function crowdPool(fixtures: ClusterFixtures, records: number): Promise<void> {
  const name = await fixtures.pool({ subnet: '198.19.0.0/16', ips: ['198.19.0.1-198.19.255.254'] }, 'crowd');
  const first = parseIP('198.19.0.1', 4).value;
  const allocated: Record<string, { pod: string; podUid: string }> = {};
  for (let i = 0; i < records; i++) {
    const uid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    allocated[formatValue(4, first + BigInt(i))] = { pod: `elsewhere/${name}-${i}`, podUid: uid };
  }
  const pool = await fixtures.spiderpool.getPool(name);
  await fixtures.spiderpool.replacePoolStatus({
    ...pool,
    status: { allocatedIPs: JSON.stringify(allocated), allocatedIPCount: records },
  });
}

interface Row {
  binary: string;
  scenario: string;
  run: Level;
}

function header(): void {
  console.log(
    'binary'.padEnd(10),
    'other pools'.padEnd(22),
    'wall s'.padStart(7),
    'ADDs/s'.padStart(7),
    'p50 ms'.padStart(7),
    'p99 ms'.padStart(7),
    'failed'.padStart(7),
    'dup'.padStart(4),
    'batches'.padStart(8),
  );
}

function print(row: Row, adds: number): void {
  const { run } = row;
  console.log(
    row.binary.padEnd(10),
    row.scenario.padEnd(22),
    (run.wallMs / 1000).toFixed(1).padStart(7),
    (adds / (run.wallMs / 1000)).toFixed(1).padStart(7),
    median(run.latencies).toFixed(0).padStart(7),
    percentile(run.latencies, 99).toFixed(0).padStart(7),
    String(run.failures.length).padStart(7),
    String(run.duplicates).padStart(4),
    String(run.batches).padStart(8),
  );
  if (run.failures.length) console.log(`  first failure: ${run.failures[0]}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      adds: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '16' },
      pools: { type: 'string', default: '50' },
      records: { type: 'string', default: '5000' },
      baseline: { type: 'string' },
    },
  });
  const adds = Number(values.adds);
  const concurrency = Number(values.concurrency);
  const poolCount = Number(values.pools);
  const records = Number(values.records);
  const binaries: [string, string][] = [['this', pluginExecutable]];
  if (values.baseline) binaries.push(['baseline', values.baseline]);
  buildExecutable();
  const { cp, release } = await benchControlPlane();
  const work = mkdtempSync(join(tmpdir(), 'bench-cni-pools-'));
  const admin = new KubeConfig();
  admin.loadFromFile(cp.kubeconfigPath('admin'));
  const runs = new ClusterFixtures(admin);
  const crowd = new ClusterFixtures(admin);
  let revoke: (() => Promise<void>) | undefined;
  const rows: Row[] = [];
  const run = async (scenario: string) => {
    for (const [binary, file] of binaries) {
      const label = `pools-${binary}-${scenario.split(' ')[0]}`;
      const level = await addRun(runs, cp.kubeconfigPath('cni'), work, adds, concurrency, {
        label,
        binary: file,
      });
      const row = { binary, scenario, run: level };
      rows.push(row);
      print(row, adds);
      await runs.cleanup();
    }
  };
  try {
    await ensureSpiderpoolCrds(admin);
    revoke = await grantClusterRules(admin, 'cni', cniPolicyRules());
    console.log(
      `${adds} ADDs of fresh pods on one node into one pool of exactly ${adds}, concurrency ${concurrency} (API server ${cp.server})`,
    );
    header();
    await run('none');
    for (let k = 0; k < poolCount; k += 5)
      await Promise.all(Array.from({ length: Math.min(5, poolCount - k) }, () => crowdPool(crowd, records)));
    await run(`${poolCount} x ${records} records`);
    console.log('\nwall time with the other pools / without them');
    for (const [binary] of binaries) {
      const [empty, crowded] = rows.filter((r) => r.binary === binary);
      if (!empty || !crowded) continue;
      console.log(
        `  ${binary.padEnd(10)} ${(crowded.run.wallMs / empty.run.wallMs).toFixed(2)}x` +
          `  (p50 ${(median(crowded.run.latencies) / median(empty.run.latencies)).toFixed(2)}x,` +
          ` p99 ${(percentile(crowded.run.latencies, 99) / percentile(empty.run.latencies, 99)).toFixed(2)}x)`,
      );
    }
  } finally {
    await runs.cleanup();
    await crowd.cleanup();
    await revoke?.();
    rmSync(work, { recursive: true, force: true });
    await release();
  }
}

runBench(main);
