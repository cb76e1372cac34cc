// `npm run bench`'s results as files under bench/results/: a markdown page (machine, versions, date,
// the comparison table, the limits) and two PNG charts drawn by Vega-Lite -> Vega (SVG) -> resvg
// (PNG), one bar group per concurrency and one bar per system: ADDs/s, and p99 of one ADD.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Limits, PoolGrowth } from './limits.js';
import type { OperatorScale } from './operator-scale.js';
import { latencySummary, type RoundResult } from './peers/round.js';

export interface RunInfo {
  date: string;
  machine: string;
  /** The 1-minute load average at the start and at the end: other work on the machine skews absolutes. */
  load: [number, number];
  versions: string[];
  n: number;
  command: string;
  /** Wall time of the whole run, s. */
  totalS: number;
}

const fixed = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

export function addsPerSec(r: RoundResult): number {
  return r.add.ok / (r.add.wallMs / 1000);
}

export function resultsTable(rounds: RoundResult[]): string {
  const head =
    '| system | C | ADD wall s | ADDs/s | p50 ms | p90 ms | p99 ms | ADD failed | not started | duplicates | recorded | DEL wall s | DEL failed | left after DEL |';
  const rule = `|${head
    .split('|')
    .slice(1, -1)
    .map(() => '---')
    .join('|')}|`;
  const rows = rounds.map((r) => {
    const l = latencySummary(r.add);
    return `| ${r.system} | ${r.concurrency} | ${fixed(r.add.wallMs / 1000)} | ${fixed(addsPerSec(r))} | ${fixed(l.p50, 0)} | ${fixed(l.p90, 0)} | ${fixed(l.p99, 0)} | ${r.add.failed} | ${r.add.skipped} | ${r.duplicates} | ${r.recorded}${r.unrecorded ? ` (${r.unrecorded} results unrecorded)` : ''} | ${fixed(r.del.wallMs / 1000)} | ${r.del.failed + r.del.skipped} | ${r.left} |`;
  });
  return [head, rule, ...rows].join('\n');
}

export function limitsSection(limits: Limits): string {
  const s = limits.statusRate;
  const p = limits.inProcess;
  const a = limits.addSplit;
  const growth = s.points
    .map((pt) => `| ${pt.records} | ${fixed(pt.bytes / 1024, 0)} | ${fixed(pt.writesPerSec, 0)} |`)
    .join('\n');
  return `## Limits (same run, this project's control plane)

**The API server's serial /status writes on one pool object**, one record more per write (the pool
object as a whole, read-modify-write with its resourceVersion, as every allocation writes it): ${s.records}
writes in ${fixed(s.wallMs / 1000)} s, ${fixed(s.writesPerSec, 0)} writes/s overall${s.stoppedBy ? `; stopped: ${s.stoppedBy}` : ''}.

| records | object KiB | writes/s over the stretch |
|---|---|---|
${growth}

${limits.growth ? growthSection(limits.growth) : ''}**The allocator in-process** (the leader's batch handler called in the bench's Node process: no process
start, no socket, the same reads and writes): ${p.n} ADDs one at a time in ${fixed(p.serialWallMs / 1000)} s,
${fixed(p.serialPerSec)} ADDs/s, p50 ${fixed(p.p50Ms)} ms; per ADD ${fixed(p.reads.count)} GETs taking
${fixed(p.reads.ms)} ms summed (they overlap) and ${fixed(p.writes.count)} writes taking ${fixed(p.writes.ms)} ms.
In batches of 64: ${fixed(p.batch64WallMs / 1000)} s, ${fixed(p.batch64PerSec)} ADDs/s. Failures: ${p.failures}.

**Cold start** (median of 20 interleaved rounds): the compiled plugin's VERSION ${fixed(limits.coldStart.plugin)} ms,
\`node -e 0\` ${fixed(limits.coldStart.node)} ms (${fixed(limits.coldStart.plugin / limits.coldStart.node, 2)}x).

**One ADD of the compiled plugin, split** (medians of ${a.calls} serial ADDs; wall split by the plugin's
own \`done\` (durationMs) and \`batch\` (ms) log lines, CPU from /usr/bin/time and /proc):

| part | ms |
|---|---|
| whole ADD, wall | ${fixed(a.wallMs)} |
| process start and exit (wall - durationMs) | ${fixed(a.processStartAndExitMs)} |
| client setup: config, coordination socket, loading the leader and the Kubernetes client, kubeconfig (durationMs - batch ms) | ${fixed(a.clientSetupMs)} |
| reads and writes: the leader's batch (batch ms) | ${fixed(a.readsAndWritesMs)} |
| CPU of the plugin process (user + system) | ${fixed(a.pluginCpuMs)} |
| CPU of a bare start (VERSION), wall ${fixed(a.versionWallMs)} | ${fixed(a.versionCpuMs)} |
| CPU of kube-apiserver per ADD | ${fixed(a.apiserverCpuMs)} |
| CPU of etcd per ADD | ${fixed(a.etcdCpuMs)} |
`;
}

function growthSection(g: PoolGrowth): string {
  const rows = g.points
    .map((pt) => `| ${pt.records} | ${fixed(pt.bytes / 1024, 0)} | ${fixed(pt.writesPerSec, 0)} |`)
    .join('\n');
  const refused = g.refused
    ? `The API server refused the pool at ${g.refused.records} records: ${g.refused.error.replace(/\|/g, '/')}`
    : 'No size up to the largest tried was refused.';
  return `**How large a pool may be**: the pool filled to each size in one write, then 20 serial writes
of one record more each (record: \`"198.18.x.y":{"pod":"<namespace>/<name>","podUid":"<uuid>","nic":"eth0"}\`).
${refused}

| records | object KiB | writes/s at that size |
|---|---|---|
${rows}

`;
}

async function chart(spec: TopLevelSpec, file: string): Promise<void> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  writeFileSync(file, png);
}

function barSpec(
  title: string,
  field: string,
  yTitle: string,
  values: object[],
  systems: string[],
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 260,
    config: { font: 'DejaVu Sans' },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: {
        field: 'concurrency',
        type: 'ordinal',
        title: 'concurrency (ADDs in flight)',
        axis: { labelAngle: 0 },
      },
      xOffset: { field: 'system', type: 'nominal', sort: systems },
      y: { field, type: 'quantitative', title: yTitle },
      color: {
        field: 'system',
        type: 'nominal',
        title: null,
        scale: { domain: systems },
        legend: { orient: 'top' },
      },
    },
  };
}

/** Writes results.md, results.json, adds-per-second.png and p99.png into `dir`. */
export async function writeResults(dir: string, info: RunInfo, rounds: RoundResult[], limits?: Limits) {
  const values = rounds.map((r) => ({
    system: r.system,
    concurrency: r.concurrency,
    addsPerSec: Number(addsPerSec(r).toFixed(2)),
    p99: Number((latencySummary(r.add).p99 / 1000).toFixed(3)),
  }));
  const systems = [...new Set(rounds.map((r) => r.system))];
  await chart(
    barSpec(`ADDs per second, N = ${info.n} (higher is better)`, 'addsPerSec', 'ADDs/s', values, systems),
    join(dir, 'adds-per-second.png'),
  );
  await chart(
    barSpec(`p99 of one ADD, N = ${info.n} (lower is better)`, 'p99', 'p99 latency, s', values, systems),
    join(dir, 'p99.png'),
  );
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify({ info, rounds, limits }, null, 2)}\n`);
  const md = `# Benchmark results: spiderpool-ts, Spiderpool, Whereabouts

Written by \`${info.command}\` on ${info.date} (${fixed(info.totalS / 60)} min). Machine: ${info.machine}; load average ${fixed(info.load[0])} at the start, ${fixed(info.load[1])} at the end.
Versions: ${info.versions.join('; ')}.

Each system ran on a fresh control plane of its own (etcd + kube-apiserver, identical flags), with N = ${info.n}
Pod objects on two nodes per round and one pool (range) of exactly ${info.n} addresses; the ADDs are real
processes of each IPAM plugin, as a runtime calls them. After the ADDs the pods were deleted, then the DELs
ran (at the round's concurrency, at least 16 at a time). *duplicates*: addresses held by two pods, from the results and the API's records together; *recorded*:
records in the API after the ADDs; *left*: records after the DELs (no garbage collector runs: not
this project's operator, Spiderpool's controller or Whereabouts' control loop, so what a DEL leaves stays). A round starts no calls after its
deadline (*not started*). Figures from one machine are ratios, not absolutes.

![ADDs per second](adds-per-second.png)
![p99 of one ADD](p99.png)

${resultsTable(rounds)}

${limits ? limitsSection(limits) : ''}`;
  writeFileSync(join(dir, 'results.md'), md);
}

/** Writes operator-scale.md and operator-scale.json into `dir` (`npm run bench -- --operator`). */
export function writeOperatorScale(dir: string, info: RunInfo, o: OperatorScale): void {
  writeFileSync(join(dir, 'operator-scale.json'), `${JSON.stringify({ info, operator: o }, null, 2)}\n`);
  const md = `# The operator at scale

Written by \`${info.command}\` on ${info.date}. Machine: ${info.machine}; load average ${fixed(info.load[0])} at the start, ${fixed(info.load[1])} at the end.
Versions: ${info.versions.join('; ')}.

On the demo's stage (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KubeVirt's
virt-controller, the node agent, the compiled operator \`dist/bin/spiderpool-operator\`): ${o.pods} Pod
objects on two nodes, each given an address and a SpiderEndpoint by the compiled plugin (real ADDs at
concurrency ${o.fill.concurrency} into one pool of ${o.pods} addresses: ${fixed(o.fill.wallS)} s, ${o.fill.failed} failed; ${o.endpoints}
SpiderEndpoints). Then the operator was restarted, so that it listed and cached all of it again, and,
with those present, ${o.release.vms} VMs were started and deleted one after another.

| what | value |
|---|---|
| restart to ready (every watch listed) | ${fixed(o.syncS)} s |
| peak resident memory during the initial sync (VmHWM at ready) | ${fixed(o.memory.syncPeakMiB, 0)} MiB |
| resident memory 30 s after ready | ${fixed(o.memory.at30sMiB, 0)} MiB |
| resident memory 60 s after ready | ${fixed(o.memory.at60sMiB, 0)} MiB |
| peak resident memory after the VMs (VmHWM) | ${fixed(o.memory.peakAfterVmsMiB, 0)} MiB |
| VM delete to addresses and SpiderEndpoint free, p50 | ${fixed(o.release.p50Ms, 0)} ms |
| same, p99 | ${fixed(o.release.p99Ms, 0)} ms |
| same, max | ${fixed(o.release.maxMs, 0)} ms |
`;
  writeFileSync(join(dir, 'operator-scale.md'), md);
}
