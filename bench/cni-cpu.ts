// The CPU budget of one round of N ADDs at concurrency C (64 by default): for each system on a
// fresh control plane of its own (as `npm run bench` runs them: two nodes, N pods, one pool of
// exactly N), the CPU seconds each class of process used while the round ran, from /proc:
//   kube-apiserver, etcd                 /proc/<pid>/stat before and after;
//   the plugin processes                 this process's reaped children (cutime + cstime): every
//                                        CNI call it spawned and waited for, with their own children;
//   lingering leaders (ours)             detached, so never reaped here: /proc scanned every 25 ms;
//   daemons (Spiderpool's agents)        /proc/<pid>/stat before and after;
//   the bench driver                     process.cpuUsage(): spawning, piping, the scan above;
// and their sum over the two cores of the round's wall time (is the round CPU-bound or waiting?),
// beside the whole machine's busy CPU in the same window (other work included).
// Usage: npx tsx bench/cni-cpu.ts [-- --n 1000 --concurrency 64 --systems ours,spiderpool
//   --baseline <executable> --call-timeout 60]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBinaries } from '../test/harness/binaries.js';
import { pluginBinary } from '../test/harness/cni-plugin.js';
import { NetworkLab } from '../test/harness/netns.js';
import { percentile, privateControlPlane, runBench, stopOnInterrupt } from './harness.js';
import { oursWith } from './peers/ours.js';
import { createPods, phase, startOnTwoNodes } from './peers/round.js';
import { startSpiderpool } from './peers/spiderpool.js';
import { resultAddress, type SystemStarter } from './peers/system.js';
import { machineBusyCpu, ProcessSampler, processCpu, reapedChildrenCpu } from './proc-cpu.js';

interface Budget {
  system: string;
  wallS: number;
  ok: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU seconds by process class, in the order printed. */
  cpu: [string, number][];
  machineBusyS: number;
}

const stamp = () => new Date().toISOString().slice(11, 19);
const log = (line: string) => console.log(`${stamp()} ${line}`);

async function measure(
  starter: SystemStarter,
  leaderArgv: string[] | undefined,
  opts: { n: number; concurrency: number; callTimeoutMs: number; netns: string },
): Promise<Budget> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cpu-'));
  const { cp, stop } = await privateControlPlane(dir, log);
  try {
    const { admin, system, close } = await startOnTwoNodes(cp, dir, starter, opts.netns, log);
    try {
      const pods = await createPods(admin, opts.n, `cpu-c${opts.concurrency}`);
      await system.newPool(opts.n, `c${opts.concurrency}`);
      const pids: [string, number | undefined][] = [
        ['kube-apiserver', cp.pid('kube-apiserver')],
        ['etcd', cp.pid('etcd')],
        ...(system.daemons ?? []).map((d): [string, number] => [d.name, d.pid]),
      ];
      const before = pids.map(([, pid]) => (pid ? (processCpu(pid) ?? 0) : 0));
      const leaders = leaderArgv ? new ProcessSampler(leaderArgv) : undefined;
      const children = reapedChildrenCpu();
      const driver = process.cpuUsage();
      const machine = machineBusyCpu();
      log(`  ${system.label}: ${opts.n} ADDs at concurrency ${opts.concurrency}`);
      const stats = await phase(
        `ADD c${opts.concurrency}`,
        pods,
        { stallMs: Number.POSITIVE_INFINITY, progress: log },
        opts.concurrency,
        async (pod) => {
          const out = await system.call('ADD', pod, opts.callTimeoutMs);
          return resultAddress(out) ? true : out.stdout.slice(0, 300) || `exit ${out.code ?? out.signal}`;
        },
      );
      const machineBusyS = machineBusyCpu() - machine;
      const driverUsage = process.cpuUsage(driver);
      const plugins = reapedChildrenCpu() - children;
      const lingering = leaders?.stop();
      const after = pids.map(([, pid]) => (pid ? (processCpu(pid) ?? 0) : 0));
      if (stats.firstFailure) log(`  first failure: ${stats.firstFailure}`);
      return {
        system: system.label,
        wallS: stats.wallMs / 1000,
        ok: stats.ok,
        failed: stats.failed,
        p50Ms: percentile(stats.latencies, 50),
        p99Ms: percentile(stats.latencies, 99),
        cpu: [
          ...pids.map(([name], i): [string, number] => [name, (after[i] ?? 0) - (before[i] ?? 0)]),
          [`plugin processes (${stats.ok + stats.failed})`, plugins],
          ...(lingering
            ? [[`lingering leaders (${lingering.processes})`, lingering.cpu] as [string, number]]
            : []),
          ['bench driver', (driverUsage.user + driverUsage.system) / 1e6],
        ],
        machineBusyS,
      };
    } finally {
      await close();
    }
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The budget as a markdown table: CPU seconds, ms per ADD, share of the round's cores. */
function table(b: Budget, n: number): string {
  const cores = cpus().length;
  const capacity = b.wallS * cores;
  const sum = b.cpu.reduce((s, [, v]) => s + v, 0);
  const row = (name: string, s: number) =>
    `| ${name} | ${s.toFixed(2)} | ${((s / n) * 1000).toFixed(1)} | ${((s / capacity) * 100).toFixed(0)} % |`;
  return [
    `${b.system}: wall ${b.wallS.toFixed(1)} s, ${b.ok} ok, ${b.failed} failed, p50 ${b.p50Ms.toFixed(0)} ms, p99 ${b.p99Ms.toFixed(0)} ms`,
    '',
    `| process class | CPU s | CPU ms per ADD | share of ${cores} cores × wall |`,
    '| --- | --- | --- | --- |',
    ...b.cpu.map(([name, s]) => row(name, s)),
    row('**sum of the above**', sum),
    row('whole machine busy (other work included)', b.machineBusyS),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '64' },
      systems: { type: 'string', default: 'ours,spiderpool' },
      /** Another build of our plugin, measured the same way right before this one. */
      baseline: { type: 'string' },
      'call-timeout': { type: 'string', default: '60' },
    },
  });
  const n = Number(values.n);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(n) || n < 1 || n > 65_000) throw new Error(`--n: ${values.n} is not 1..65000`);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`--concurrency: ${values.concurrency} is not a positive integer`);
  const systems = values.systems.split(',');
  for (const s of systems)
    if (s !== 'ours' && s !== 'spiderpool') throw new Error(`--systems: unknown system ${s}`);
  const binary = pluginBinary();
  ensureBinaries('etcd', log);
  ensureBinaries('k8s', log);
  if (systems.includes('spiderpool')) ensureBinaries('spiderpool', log);
  const runs: { starter: SystemStarter; leaderArgv?: string[] }[] = [];
  if (systems.includes('ours')) {
    if (values.baseline)
      runs.push({
        starter: oursWith({ binary: values.baseline, label: 'spiderpool-ts (baseline)' }),
        leaderArgv: [values.baseline, 'lead'],
      });
    runs.push({ starter: oursWith(), leaderArgv: [binary, 'lead'] });
  }
  if (systems.includes('spiderpool')) runs.push({ starter: startSpiderpool });
  log(`load average at the start ${loadavg()[0]?.toFixed(1)}`);
  const lab = new NetworkLab();
  const unguardLab = stopOnInterrupt(() => lab.cleanup());
  const budgets: Budget[] = [];
  try {
    // Spiderpool's plugin needs CNI_NETNS to exist; every system gets the same one.
    const netns = lab.netnsPath(await lab.netns());
    const callTimeoutMs = Number(values['call-timeout']) * 1000;
    for (const run of runs)
      budgets.push(await measure(run.starter, run.leaderArgv, { n, concurrency, callTimeoutMs, netns }));
  } finally {
    unguardLab();
    await lab.cleanup();
  }
  log(`load average at the end ${loadavg()[0]?.toFixed(1)}`);
  for (const b of budgets) console.log(`\n${table(b, n)}`);
}

runBench(main);
