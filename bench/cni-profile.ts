// Where one ADD's time goes, from the compiled plugin itself: an unminified build of the plugin
// (the same Bun flags as dist/bin/spiderpool but --minify, so the profiles name functions), run
// with Bun's CPU profiler (BUN_OPTIONS=--cpu-prof-md) in three scenarios against a control plane:
//   lead:   serial ADDs with no lingering leader (pluginLeaderLingerMs 0): every call leads its own batch;
//   follow: serial ADDs with the lingering leader on: every call but the first is a follower;
//   burst:  64 ADDs started at once with the lingering leader on.
// First the one list every batch of ADDs makes, consistent and from the API server's cache. Then,
// per scenario, the medians of the plugin's own log fields (startupMs, durationMs, the
// batch's ms and its client setup) and of the process wall time, and where the profiles are.
// Usage: npx tsx bench/cni-profile.ts [-- --serial 10 --burst 64 --out <dir>]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { pluginBuildFlags, pluginEntry, repoRoot } from '../build/executables.js';
import { loadKubeConfig } from '../kube/client.js';
import { RestClient } from '../kube/rest.js';
import { SpiderpoolApi } from '../kube/spiderpool.js';
import { retryTransient } from '../kube/transient.js';
import { cniEnv, netConf, runProcess, testNode } from '../test/harness/cni-plugin.js';
import { poolSpec } from './cni-adds.js';
import { median, pluginBenchCluster, runBench } from './harness.js';

function buildUnminified(dir: string): string {
  const out = join(dir, 'spiderpool');
  const bun = join(repoRoot, 'node_modules', '.bin', 'bun');
  const flags = pluginBuildFlags.filter((f) => f !== '--minify');
  const args = ['build', ...flags, pluginEntry, '--outfile', out];
  const run = spawnSync(bun, args, { cwd: repoRoot, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`bun build failed: ${run.stderr}${run.stdout}`);
  return out;
}

interface LogLine {
  msg: string;
  pid: number;
  durationMs?: number;
  startupMs?: number;
  ms?: number;
  setupMs?: number;
}

function logLines(file: string): LogLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogLine);
}

const med = (xs: (number | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === 'number');
  return v.length ? `${median(v).toFixed(0)} (n=${v.length})` : '-';
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serial: { type: 'string', default: '10' },
      burst: { type: 'string', default: '64' },
      out: { type: 'string' },
    },
  });
  const serial = Number(values.serial);
  const burst = Number(values.burst);
  const out = values.out ?? mkdtempSync(join(tmpdir(), 'cni-profile-'));
  mkdirSync(out, { recursive: true });
  const binary = buildUnminified(out);
  const { cp, fixtures, close } = await pluginBenchCluster();
  try {
    // The one list of a batch, consistent and from the API server's watch cache, interleaved.
    const rest = new RestClient(loadKubeConfig(cp.kubeconfigPath('cni')));
    const spiderpool = new SpiderpoolApi(rest);
    // A new CRD's watch cache answers 429 until it has filled.
    await retryTransient(() => spiderpool.listReservedIPs({ fromCache: true }), { budgetMs: 30_000 });
    const consistent: number[] = [];
    const cached: number[] = [];
    const scratch = await fixtures.namespace('profile-writes');
    for (let i = 0; i < 20; i++) {
      // A write first, as a batch follows the writes of the batch before: etcd has moved on.
      await fixtures.core.createNamespacedConfigMap({
        namespace: scratch,
        body: { metadata: { name: `w${i}a` } },
      });
      let t = performance.now();
      await spiderpool.listReservedIPs();
      consistent.push(performance.now() - t);
      await fixtures.core.createNamespacedConfigMap({
        namespace: scratch,
        body: { metadata: { name: `w${i}b` } },
      });
      t = performance.now();
      await spiderpool.listReservedIPs({ fromCache: true });
      cached.push(performance.now() - t);
    }
    rest.close();
    console.log(
      `list spiderreservedips, median of 20: consistent ${med(consistent)} ms, from the cache ${med(cached)} ms`,
    );
    // A call that does nothing but answer VERSION: Bun's start and the modules every call evaluates.
    const versionCpu: number[] = [];
    for (let i = 0; i < 2 * serial; i++) {
      const r = await runProcess('/usr/bin/time', ['-f', '%U %S', binary], { CNI_COMMAND: 'VERSION' }, '{}');
      const [user, sys] = (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
      versionCpu.push(((user ?? 0) + (sys ?? 0)) * 1000);
    }
    const versionMean = versionCpu.reduce((a, b) => a + b, 0) / versionCpu.length;
    console.log(`VERSION: CPU per call mean ${versionMean.toFixed(1)} ms over ${versionCpu.length} calls`);
    const scenarios: {
      name: string;
      calls: number;
      concurrent: boolean;
      settings: Record<string, number>;
    }[] = [
      { name: 'lead', calls: serial, concurrent: false, settings: { pluginLeaderLingerMs: 0 } },
      { name: 'follow', calls: serial, concurrent: false, settings: {} },
      { name: 'burst', calls: burst, concurrent: true, settings: {} },
    ];
    for (const s of scenarios) {
      const node = testNode(out, `profile-${s.name}`, s.settings);
      const pool = await fixtures.pool(poolSpec(Math.max(s.calls, 10)), `profile-${s.name}`);
      const namespace = await fixtures.namespace(`profile-${s.name}`);
      const pods = await fixtures.podsNamingPool(namespace, node.name, pool, s.calls, 'p');
      const profiles = join(out, `profiles-${s.name}`);
      mkdirSync(profiles, { recursive: true });
      const config = JSON.stringify(
        netConf(node, cp.kubeconfigPath('cni'), { ipam: { log_level: 'debug' } }),
      );
      const cpu: number[] = [];
      const call = async (pod: V1Pod) => {
        const ref = { namespace, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
        // Every other call is profiled; the others are timed whole (wall, and CPU by /usr/bin/time).
        const profiled = Number(pod.metadata?.name?.split('-')[1]) % 2 === 1;
        const env = {
          PATH: process.env.PATH,
          ...(profiled ? { BUN_OPTIONS: `--cpu-prof-md --cpu-prof-dir=${profiles}` } : {}),
          ...cniEnv('ADD', ref),
        };
        const t = performance.now();
        const r = profiled
          ? await runProcess(binary, [], env, config)
          : await runProcess('/usr/bin/time', ['-f', '%U %S', binary], env, config);
        const wall = performance.now() - t;
        if (r.code !== 0) throw new Error(`ADD of ${ref.name} failed: ${r.stdout}${r.stderr}`);
        if (profiled) return undefined;
        const [user, sys] = (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
        cpu.push(((user ?? 0) + (sys ?? 0)) * 1000);
        return wall;
      };
      const walls: (number | undefined)[] = [];
      if (s.concurrent) walls.push(...(await Promise.all(pods.map(call))));
      else for (const pod of pods) walls.push(await call(pod));
      // Let a lingering leader hand over and write its profile.
      await new Promise((r) => setTimeout(r, 4_000));
      const lines = logLines(node.logFile);
      const done = lines.filter((l) => l.msg === 'done');
      const batches = lines.filter((l) => l.msg === 'batch');
      console.log(`\n${s.name}: ${s.calls} ADDs${s.concurrent ? ' at once' : ' one after the other'}`);
      console.log(`  wall per call, unprofiled (ms) ${med(walls)}`);
      const mean = cpu.reduce((a, b) => a + b, 0) / Math.max(1, cpu.length);
      console.log(
        `  CPU per call, unprofiled (ms)  median ${med(cpu)}, mean ${mean.toFixed(1)} (user + system, 10 ms ticks)`,
      );
      console.log(`  startupMs (process start to work) ${med(done.map((l) => l.startupMs))}`);
      console.log(`  durationMs (work to answer)   ${med(done.map((l) => l.durationMs))}`);
      console.log(
        `  batch ms                      ${med(batches.map((l) => l.ms))} in ${batches.length} batches`,
      );
      console.log(
        `  api client setupMs            ${med(lines.filter((l) => l.msg === 'api client').map((l) => l.setupMs))}`,
      );
      console.log(`  profiles: ${profiles} (${readdirSync(profiles).length} files)`);
    }
  } finally {
    await close();
  }
}

runBench(main);
