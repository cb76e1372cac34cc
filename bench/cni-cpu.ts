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
// beside the whole machine's busy CPU in the same window (other work included). Then what the API
// server was asked in the window (requests, bytes answered and seconds spent, by verb and resource,
// from its own counters) and, for ours, the leaders' batches from their log lines (how many, their
// sizes, pool writes, 409s, and the leading processes' CPU while they ran).
// Usage: npx tsx bench/cni-cpu.ts [-- --n 1000 --concurrency 64 --systems ours,spiderpool
//   --baseline <executable> --call-timeout 60 --apiserver-profile <dir> --logs <dir>]
// --apiserver-profile runs the API server with --profiling=true and writes a CPU profile of the first
// `--profile-seconds` (20) of each round to <dir>/<system>.pprof (`go tool pprof -top <kube-apiserver> <file>`).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBinaries } from '../test/harness/binaries.js';
import { pluginBinary } from '../test/harness/cni-plugin.js';
import { NetworkLab } from '../test/harness/netns.js';
import { profileApiServer, type RequestRow, requestsBetween, scrapeMetrics } from './apiserver-metrics.js';
import { type BatchStats, batchStats } from './cni-adds.js';
import { median, percentile, privateControlPlane, runBench, stopOnInterrupt } from './harness.js';
import { oursWith } from './peers/ours.js';
import { createPods, phase, startOnTwoNodes } from './peers/round.js';
import { startSpiderpool } from './peers/spiderpool.js';
import { resultAddress, type SystemStarter } from './peers/system.js';
import { machineBusyCpu, ProcessSampler, processCpu, reapedChildrenCpu, tcpActiveOpens } from './proc-cpu.js';

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
  requests: RequestRow[];
  /** TCP connections opened on the machine during the round (tcpActiveOpens). */
  connections: number;
  batches?: BatchStats;
}

const stamp = () => new Date().toISOString().slice(11, 19);
const log = (line: string) => console.log(`${stamp()} ${line}`);

async function measure(
  starter: SystemStarter,
  leaderArgv: string[] | undefined,
  opts: {
    n: number;
    concurrency: number;
    callTimeoutMs: number;
    netns: string;
    profile?: { dir: string; seconds: number };
    /** Copy the plugin's log files here (<dir>/<system>-<node>.log) before the round's folder goes. */
    logsDir?: string;
  },
): Promise<Budget> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cpu-'));
  const { cp, stop } = await privateControlPlane(
    dir,
    log,
    opts.profile ? { 'kube-apiserver': ['--profiling=true'] } : undefined,
  );
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
      const adminKubeconfig = cp.kubeconfigPath('admin');
      const metricsBefore = await scrapeMetrics(adminKubeconfig);
      const before = pids.map(([, pid]) => (pid ? (processCpu(pid) ?? 0) : 0));
      const leaders = leaderArgv ? new ProcessSampler(leaderArgv) : undefined;
      const children = reapedChildrenCpu();
      const driver = process.cpuUsage();
      const machine = machineBusyCpu();
      const opens = tcpActiveOpens();
      log(`  ${system.label}: ${opts.n} ADDs at concurrency ${opts.concurrency}`);
      const profile = opts.profile;
      const profiled = profile
        ? profileApiServer(adminKubeconfig, profile.seconds).then((pprof) => {
            const file = join(profile.dir, `${system.label.replace(/[^\w.-]+/g, '_')}.pprof`);
            writeFileSync(file, pprof);
            log(`  API server profile: ${file}`);
          })
        : undefined;
      // A failed profile is reported, not fatal; the round goes on.
      profiled?.catch((err: unknown) => log(`  no API server profile: ${(err as Error).message}`));
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
      const connections = tcpActiveOpens() - opens;
      const driverUsage = process.cpuUsage(driver);
      const plugins = reapedChildrenCpu() - children;
      const lingering = leaders?.stop();
      const after = pids.map(([, pid]) => (pid ? (processCpu(pid) ?? 0) : 0));
      const requests = requestsBetween(metricsBefore, await scrapeMetrics(adminKubeconfig));
      keepLogs(system, opts.logsDir);
      await profiled?.catch(() => undefined);
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
        requests,
        connections,
        ...(system.logFiles ? { batches: batchStats(...system.logFiles) } : {}),
      };
    } finally {
      await close();
    }
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Copies a system's log files (ours: one per node) into `dir`, if given. */
function keepLogs(system: { label: string; logFiles?: string[] }, dir: string | undefined): void {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  system.logFiles?.forEach((file, i) => {
    if (existsSync(file)) copyFileSync(file, join(dir, `${system.label.replace(/[^\w.-]+/g, '_')}-${i}.log`));
  });
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
    '',
    '| API server requests | count | per ADD | KiB answered | s in the API server |',
    '| --- | --- | --- | --- | --- |',
    ...b.requests.map(
      (r) =>
        `| ${r.what} | ${r.requests} | ${(r.requests / n).toFixed(2)} | ${(r.responseBytes / 1024).toFixed(0)} | ${r.seconds.toFixed(2)} |`,
    ),
    '',
    `TCP connections opened on the machine during the round (each a TLS handshake to the API server when a leader's): ${b.connections}`,
    ...(b.batches ? ['', batchLine(b.batches, n)] : []),
  ].join('\n');
}

/** Least squares y = fixed + perItem * x: a batch's cost split into its fixed part and per request. */
export function linearFit(xs: number[], ys: number[]): { fixed: number; perItem: number } | undefined {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return undefined;
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my);
    sxx += ((xs[i] ?? 0) - mx) ** 2;
  }
  if (sxx === 0) return undefined;
  const perItem = sxy / sxx;
  return { fixed: my - perItem * mx, perItem };
}

/** The leaders' batches of a round in one line. */
function batchLine(s: BatchStats, n: number): string {
  const sizes = [...s.sizes].sort((a, b) => a - b);
  const mean = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
  const fit = s.cpuMsEach.length === s.sizes.length ? linearFit(s.sizes, s.cpuMsEach) : undefined;
  return [
    `batches ${s.batches} (size mean ${mean.toFixed(1)}, median ${median(sizes)}, max ${sizes.at(-1) ?? 0}),`,
    `pool writes ${s.poolWrites}, 409s ${s.conflicts}, endpoint writes ${s.endpointWrites},`,
    `batch ms median ${median(s.ms).toFixed(0)}, p99 ${percentile(s.ms, 99).toFixed(0)},`,
    `leader CPU during batches ${(s.cpuMs / 1000).toFixed(2)} s (${(s.cpuMs / Math.max(1, s.batches)).toFixed(1)} ms per batch, ${(s.cpuMs / n).toFixed(2)} ms per ADD)`,
    ...(fit
      ? [`~ ${fit.fixed.toFixed(1)} ms + ${fit.perItem.toFixed(2)} ms per request (least squares)`]
      : []),
  ].join(' ');
}

async function main(): Promise<void> {
  // `npx tsx bench/cni-cpu.ts -- --n 200` passes the `--` on; npm run would have taken it.
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      n: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '64' },
      systems: { type: 'string', default: 'ours,spiderpool' },
      /** Another build of our plugin, measured the same way right before this one. */
      baseline: { type: 'string' },
      'call-timeout': { type: 'string', default: '60' },
      'apiserver-profile': { type: 'string' },
      'profile-seconds': { type: 'string', default: '20' },
      /** Keep the plugin's log files (its `batch` and `done` lines) in this folder. */
      logs: { type: 'string' },
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
    const profileDir = values['apiserver-profile'];
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const profile = profileDir ? { dir: profileDir, seconds: Number(values['profile-seconds']) } : undefined;
    for (const run of runs)
      budgets.push(
        await measure(run.starter, run.leaderArgv, {
          n,
          concurrency,
          callTimeoutMs,
          netns,
          ...(profile ? { profile } : {}),
          ...(values.logs ? { logsDir: values.logs } : {}),
        }),
      );
  } finally {
    unguardLab();
    await lab.cleanup();
  }
  log(`load average at the end ${loadavg()[0]?.toFixed(1)}`);
  for (const b of budgets) console.log(`\n${table(b, n)}`);
}

runBench(main);
