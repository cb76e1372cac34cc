// `npm run bench`: this project's compiled plugin, Spiderpool v1.2.2 (agent + plugin) and Whereabouts
// v0.9.2 side by side in one run, each on a fresh control plane of its own: N Pod objects on two
// nodes and a pool of exactly N addresses per round, N ADDs at concurrency 1, 16 and 64, the pods
// deleted, then N DELs; then the limits (bench/limits.ts). Writes bench/results/ (report.ts).
// Usage: npm run bench [-- --n 1000 --concurrency 1,16,64 --systems ours,spiderpool,whereabouts
//   --stall-timeout 150 --del-concurrency 16 --call-timeout 60 --pool-records <N> --growth 20000 --split-calls 30 --in-process 300
//   --no-limits --keep --operator --operator-pods 10000 --operator-vms 50
//   --out <dir>]
// `--systems none --operator` measures only the operator at scale (bench/operator-scale.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBinaries, moduleVersion, repoRoot } from '../test/harness/binaries.js';
import { pluginBinary } from '../test/harness/cni-plugin.js';
import { NetworkLab } from '../test/harness/netns.js';
import { privateControlPlane, runBench, stopOnInterrupt } from './harness.js';
import { type Limits, measureLimits } from './limits.js';
import { measureOperatorAtScale, type OperatorScale } from './operator-scale.js';
import { startOurs } from './peers/ours.js';
import { type RoundResult, runRound, startOnTwoNodes } from './peers/round.js';
import { startSpiderpool } from './peers/spiderpool.js';
import type { SystemStarter } from './peers/system.js';
import { startWhereabouts } from './peers/whereabouts.js';
import { type RunInfo, resultsTable, writeOperatorScale, writeResults } from './report.js';

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
      /** Also measure the operator at scale (bench/operator-scale.ts); needs root. */
      operator: { type: 'boolean', default: false },
      'operator-pods': { type: 'string', default: '10000' },
      'operator-vms': { type: 'string', default: '50' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
    },
  });
  const n = Number(values.n);
  const levels = values.concurrency.split(',').map(Number);
  const systems = (values.systems === 'none' ? [] : values.systems.split(',')) as SystemName[];
  for (const s of systems) if (!(s in starters)) throw new Error(`--systems: unknown system ${s}`);
  if (!Number.isInteger(n) || n < 1 || n > 65_000) throw new Error(`--n: ${values.n} is not 1..65000`);
  const operatorPods = Number(values['operator-pods']);
  const operatorVms = Number(values['operator-vms']);
  if (!Number.isInteger(operatorPods) || operatorPods < 1 || operatorPods > 65_000)
    throw new Error(`--operator-pods: ${values['operator-pods']} is not 1..65000`);
  if (!Number.isInteger(operatorVms) || operatorVms < 1 || operatorVms > 240)
    throw new Error(`--operator-vms: ${values['operator-vms']} is not 1..240`);
  if (!systems.length && !values.operator)
    throw new Error('--systems none: nothing to run without --operator');
  if (values.operator && typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new Error('--operator needs root: the VMs get network namespaces and veth links');
  const started = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const what = [
    systems.length ? `N = ${n}, concurrency ${levels.join(', ')}, systems ${systems.join(', ')}` : '',
    values.operator ? `the operator with ${operatorPods} pods and ${operatorVms} VMs` : '',
  ];
  log(`bench: ${what.filter(Boolean).join('; ')}`);
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
    const info: RunInfo = {
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
    };
    // A run of the operator alone leaves the comparison's files as they are, and the other way round.
    if (rounds.length) await writeResults(values.out, info, rounds, limits);
    if (operatorScale) writeOperatorScale(values.out, info, operatorScale);
  };
  const lab = new NetworkLab();
  const unguardLab = stopOnInterrupt(() => lab.cleanup());
  const rounds: RoundResult[] = [];
  let limits: Limits | undefined;
  let operatorScale: OperatorScale | undefined;
  try {
    // Spiderpool's plugin needs CNI_NETNS to exist; every system gets the same one.
    const netns = lab.netnsPath(await lab.netns());
    for (const name of systems) {
      const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
      log(`${name}: starting a fresh control plane`);
      const { cp, stop } = await privateControlPlane(dir, log);
      try {
        const { admin, work, system, close } = await startOnTwoNodes(cp, dir, starters[name], netns, log);
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
          await close();
        }
      } finally {
        await stop();
        if (values.keep) log(`${name}: kept ${dir}`);
        else rmSync(dir, { recursive: true, force: true });
      }
      await save();
    }
    if (values.operator) {
      log(`the operator at scale: ${operatorPods} pods and SpiderEndpoints, then ${operatorVms} VMs`);
      operatorScale = await measureOperatorAtScale({
        pods: operatorPods,
        vms: operatorVms,
        concurrency: 64,
        progress: log,
      });
      await save();
    }
  } finally {
    unguardLab();
    await lab.cleanup();
  }
  await save();
  if (rounds.length) {
    console.log(`\n${resultsTable(rounds)}\n`);
    log(`wrote ${values.out}/results.md, adds-per-second.png, p99.png, results.json`);
  }
  if (operatorScale) log(`wrote ${values.out}/operator-scale.md and operator-scale.json`);
}

runBench(main);
