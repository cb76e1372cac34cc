// `npm run bench`: this project's compiled plugin, Spiderpool v1.2.2 (agent + plugin) and Whereabouts
// v0.9.2 side by side in one run, each on a fresh control plane of its own: N Pod objects on two
// nodes and a pool of exactly N addresses per round, N ADDs at concurrency 1, 16 and 64, the pods
// deleted, then N DELs; then the limits (bench/limits.ts). Writes bench/results/ (report.ts).
// Usage: npm run bench [-- --n 1000 --concurrency 1,16,64 --systems ours,spiderpool,whereabouts
//   --stall-timeout 150 --del-concurrency 16 --call-timeout 60 --pool-records <N> --growth 20000 --split-calls 30 --in-process 300
//   --no-limits --keep
//   --out <dir>]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ensureBinaries, moduleVersion, repoRoot } from '../test/harness/binaries.js';
import { pluginBinary } from '../test/harness/cni-plugin.js';
import { ControlPlane } from '../test/harness/control-plane.js';
import { NetworkLab } from '../test/harness/netns.js';
import { runBench } from './harness.js';
import { type Limits, measureLimits } from './limits.js';
import { startOurs } from './peers/ours.js';
import { nodeNames, type RoundResult, runRound } from './peers/round.js';
import { startSpiderpool } from './peers/spiderpool.js';
import type { SystemStarter } from './peers/system.js';
import { startWhereabouts } from './peers/whereabouts.js';
import { resultsTable, writeResults } from './report.js';

type SystemName = 'ours' | 'spiderpool' | 'whereabouts';

const starters: Record<SystemName, SystemStarter> = {
  ours: startOurs,
  spiderpool: startSpiderpool,
  whereabouts: startWhereabouts,
};

const stamp = () => new Date().toISOString().slice(11, 19);
const log = (line: string) => console.log(`${stamp()} ${line}`);

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '1,16,64' },
      systems: { type: 'string', default: 'ours,spiderpool,whereabouts' },
      'stall-timeout': { type: 'string', default: '150' },
      'del-concurrency': { type: 'string', default: '16' },
      'call-timeout': { type: 'string', default: '60' },
      'pool-records': { type: 'string' },
      growth: { type: 'string', default: '20000' },
      'split-calls': { type: 'string', default: '30' },
      'in-process': { type: 'string', default: '300' },
      'no-limits': { type: 'boolean', default: false },
      /** Keep each system's folder (control plane logs, the agents' and plugins' logs) for a look afterwards. */
      keep: { type: 'boolean', default: false },
      out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
    },
  });
  const n = Number(values.n);
  const levels = values.concurrency.split(',').map(Number);
  const systems = values.systems.split(',') as SystemName[];
  for (const s of systems) if (!(s in starters)) throw new Error(`--systems: unknown system ${s}`);
  if (!Number.isInteger(n) || n < 1 || n > 65_000) throw new Error(`--n: ${values.n} is not 1..65000`);
  const started = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  log(`bench: N = ${n}, concurrency ${levels.join(', ')}, systems ${systems.join(', ')}`);
  log(
    'building what is missing (the compiled plugin; etcd, kube-apiserver and the peers from their Go modules)',
  );
  pluginBinary();
  ensureBinaries('etcd', log);
  ensureBinaries('k8s', log);
  if (systems.includes('spiderpool')) ensureBinaries('spiderpool', log);
  if (systems.includes('whereabouts')) ensureBinaries('whereabouts', log);
  // Written after each system, so a run cut short still leaves what it measured.
  const dirty = git('status', '--porcelain').length > 0 ? ' with uncommitted changes' : '';
  const save = async () => {
    mkdirSync(values.out, { recursive: true });
    await writeResults(
      values.out,
      {
        date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
        machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`,
        load: [loadAtStart, loadavg()[0] ?? 0],
        versions: [
          `spiderpool-ts ${git('rev-parse', '--short', 'HEAD')}${dirty} (compiled plugin)`,
          'Spiderpool v1.2.2 (spiderpool-agent + spiderpool, built from its Go module)',
          `Whereabouts ${moduleVersion('whereabouts')} (built from its Go module)`,
          `kube-apiserver ${moduleVersion('k8s')}`,
          `etcd ${moduleVersion('etcd')}`,
          execFileSync('go', ['version'], { encoding: 'utf8' }).trim(),
        ],
        n,
        command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
        totalS: (Date.now() - started) / 1000,
      },
      rounds,
      limits,
    );
  };
  const lab = new NetworkLab();
  const rounds: RoundResult[] = [];
  let limits: Limits | undefined;
  try {
    // Spiderpool's plugin needs CNI_NETNS to exist; every system gets the same one.
    const netns = lab.netnsPath(await lab.netns());
    for (const name of systems) {
      const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
      log(`${name}: starting a fresh control plane`);
      const cp = await ControlPlane.start({ dir, scheduler: false, controllerManager: false, log });
      try {
        const admin = new KubeConfig();
        admin.loadFromFile(cp.kubeconfigPath('admin'));
        const core = admin.makeApiClient(CoreV1Api);
        for (const node of nodeNames) await core.createNode({ body: { metadata: { name: node } } });
        const work = join(dir, 'work');
        mkdirSync(work, { recursive: true });
        const system = await starters[name](cp, admin, work, netns, log);
        try {
          for (const concurrency of levels) {
            rounds.push(
              await runRound(system, admin, {
                n,
                concurrency,
                delConcurrency: Math.max(concurrency, Number(values['del-concurrency'])),
                stallMs: Number(values['stall-timeout']) * 1000,
                callTimeoutMs: Number(values['call-timeout']) * 1000,
                progress: log,
              }),
            );
          }
          if (name === 'ours' && !values['no-limits']) {
            limits = await measureLimits(cp, admin, work, netns, {
              inProcess: Math.min(n, Number(values['in-process'])),
              poolRecords: Number(values['pool-records'] ?? n),
              growth: Number(values.growth),
              splitCalls: Number(values['split-calls']),
              progress: log,
            });
          }
        } finally {
          await system.close();
        }
      } finally {
        await cp.stop();
        if (values.keep) log(`${name}: kept ${dir}`);
        else rmSync(dir, { recursive: true, force: true });
      }
      await save();
    }
  } finally {
    await lab.cleanup();
  }
  await save();
  console.log(`\n${resultsTable(rounds)}\n`);
  log(`wrote ${values.out}/results.md, adds-per-second.png, p99.png, results.json`);
}

runBench(main);
