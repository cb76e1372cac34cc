// Node-local group commit against naive per-process read-modify-write, side by side: N compiled
// ledger clients (test/harness/ledger-client.ts) each append one entry to a ConfigMap on a real API
// server, at most C running at a time, for C = 1, 16, 64. Reported: entries/s of each mode, the
// ratio, p50/p99 of a single call, and how many writes the ledger took.
// Usage: npm run bench:cni-coordination [-- --entries 400 --concurrency 1,16,64]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { buildExecutable, repoRoot } from '../build/executables.js';
import { benchControlPlane, median, percentile, runBench } from './harness.js';

type Mode = 'naive' | 'coordinated';

function runClient(client: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(client, [], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => {
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`ledger client exited ${code}: ${stderr.slice(-500)}`));
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      entries: { type: 'string', default: '400' },
      concurrency: { type: 'string', default: '1,16,64' },
    },
  });
  const entries = Number(values.entries);
  const levels = values.concurrency.split(',').map(Number);
  const work = mkdtempSync(join(tmpdir(), 'bench-coordination-'));
  const client = join(work, 'ledger-client');
  buildExecutable(join(repoRoot, 'test', 'harness', 'ledger-client.ts'), client);
  const { cp, release } = await benchControlPlane();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath('admin'));
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = 'default';
  try {
    console.log(`${entries} appends to one ConfigMap per run (API server ${cp.server})`);
    console.log(
      'concurrency',
      'mode'.padEnd(12),
      'entries/s'.padStart(10),
      'p50 ms'.padStart(8),
      'p99 ms'.padStart(8),
      'writes'.padStart(7),
    );
    for (const concurrency of levels) {
      const rates: Partial<Record<Mode, number>> = {};
      for (const mode of ['naive', 'coordinated'] as const) {
        const name = `bench-ledger-${process.pid}-${mode}-${concurrency}`;
        await core.createNamespacedConfigMap({
          namespace,
          body: { metadata: { name }, data: { entries: '[]', writes: '0' } },
        });
        try {
          let next = 0;
          const latencies: number[] = [];
          const started = performance.now();
          const worker = async () => {
            while (next < entries) {
              const i = next++;
              latencies.push(
                await runClient(client, {
                  LEDGER_MODE: mode,
                  LEDGER_KUBECONFIG: cp.kubeconfigPath('admin'),
                  LEDGER_NAMESPACE: namespace,
                  LEDGER_NAME: name,
                  LEDGER_ENTRY: `e${i}`,
                  LEDGER_NODE: `bench-node-${process.pid}`,
                }),
              );
            }
          };
          await Promise.all(Array.from({ length: concurrency }, worker));
          const seconds = (performance.now() - started) / 1000;
          const cm = await core.readNamespacedConfigMap({ name, namespace });
          const ledger = JSON.parse(cm.data?.entries ?? '[]') as string[];
          if (ledger.length !== entries || new Set(ledger).size !== entries) {
            throw new Error(
              `${mode} at ${concurrency}: ${ledger.length} entries, ${new Set(ledger).size} distinct`,
            );
          }
          rates[mode] = entries / seconds;
          console.log(
            String(concurrency).padStart(11),
            mode.padEnd(12),
            (entries / seconds).toFixed(1).padStart(10),
            median(latencies).toFixed(0).padStart(8),
            percentile(latencies, 99).toFixed(0).padStart(8),
            (cm.data?.writes ?? '?').padStart(7),
          );
        } finally {
          await core.deleteNamespacedConfigMap({ name, namespace });
        }
      }
      console.log(
        `${' '.repeat(11)} coordinated/naive = ${((rates.coordinated ?? 0) / (rates.naive ?? 1)).toFixed(2)}x`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await release();
  }
}

runBench(main);
