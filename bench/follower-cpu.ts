// The CPU of one plugin process start, per module: what a follower ADD costs and where it goes. Runs
// under Bun (`Bun.spawn` reports each child's user and system CPU from wait4, in microseconds; Node
// has no such call), each command `--runs` times, interleaved round by round so that drift in the
// machine's load meets every command alike:
//   bare                   a compiled executable that only exits: Bun's own start;
//   import <module>        a compiled executable that imports one module (and what it imports) and
//                          exits: the cost of evaluating it, less bare;
//   <plugin> VERSION       the plugin's modules every call evaluates;
//   <plugin> ADD           a follower ADD behind a live leader, which this process plays: the real
//                          coordination code (cni/coordination lead()) answering every request with one
//                          canned allocation, so the follower's work is all that is measured.
// The probes are built with the plugin's own Bun flags (build/executables.ts, pluginBuildFlags).
// Usage: node_modules/.bin/bun bench/follower-cpu.ts [--runs 200] [--plugin dist/bin/spiderpool]
//   [--baseline <executable>] [--no-probes]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pluginBuildFlags, pluginExecutable, repoRoot } from '../build/executables.js';
import { leaderScope } from '../cni/allocation/leader-options.js';
import type { AddAnswer, PluginRequest } from '../cni/allocation/requests.js';
import { lead } from '../cni/coordination/coordinate.js';
import type { Answer } from '../cni/coordination/wire.js';
import { cniEnv, netConf, testNode } from '../test/harness/cni-plugin.js';
import { median } from './harness.js';

interface BunChild {
  exited: Promise<number>;
  stdout: ReadableStream<Uint8Array>;
  resourceUsage(): { cpuTime: { user: bigint; system: bigint } } | undefined;
}
interface BunRuntime {
  spawn(
    argv: string[],
    opts: { env: Record<string, string>; stdin: Blob; stdout: 'pipe'; stderr: 'ignore' },
  ): BunChild;
}
const bun = (globalThis as { Bun?: BunRuntime }).Bun;

/** Modules of the follower's path, each compiled alone into a probe. */
const probeModules: [string, string][] = [
  ['node:net', 'node:net'],
  ['node:child_process', 'node:child_process'],
  ['node:os', 'node:os'],
  ['node:fs', 'node:fs'],
  ['node:path', 'node:path'],
  ['node:timers/promises', 'node:timers/promises'],
  ['ip-address', 'ip-address'],
  ['@sinclair/typebox (Type)', '@sinclair/typebox'],
  ['@sinclair/typebox/value', '@sinclair/typebox/value'],
  ['cni/protocol/config.ts (net conf schema)', join(repoRoot, 'cni/protocol/config.ts')],
  ['cni/node-config.ts (node config schema)', join(repoRoot, 'cni/node-config.ts')],
  ['cni/protocol/result.ts (result schema, node:net)', join(repoRoot, 'cni/protocol/result.ts')],
  ['cni/state/attachments.ts', join(repoRoot, 'cni/state/attachments.ts')],
  ['kube/log.ts', join(repoRoot, 'kube/log.ts')],
  ['cni/log/logger.ts', join(repoRoot, 'cni/log/logger.ts')],
  ['api/install/conf-yml.ts (conf.yml schema)', join(repoRoot, 'api/install/conf-yml.ts')],
  ['cni/protocol/validate.ts', join(repoRoot, 'cni/protocol/validate.ts')],
  ['cni/coordination/coordinate.ts', join(repoRoot, 'cni/coordination/coordinate.ts')],
  ['cni/linger/successor.ts', join(repoRoot, 'cni/linger/successor.ts')],
];

function buildProbe(dir: string, name: string, module: string | undefined): string {
  const entry = join(dir, `${name}.ts`);
  // A package is resolved from the repository (as the plugin's own imports are): the entry is elsewhere.
  const resolved =
    module && !module.startsWith('node:') && !module.startsWith('/')
      ? fileURLToPath(import.meta.resolve(module))
      : module;
  // Kept alive through a global, so the bundler cannot drop the module as unused.
  writeFileSync(
    entry,
    module
      ? `import * as m from ${JSON.stringify(resolved)};\n(globalThis as Record<string, unknown>).probe = m;\nprocess.exit(0);\n`
      : 'process.exit(0);\n',
  );
  const out = join(dir, name);
  const bunPath = join(repoRoot, 'node_modules', '.bin', 'bun');
  const run = spawnSync(bunPath, ['build', ...pluginBuildFlags, entry, '--outfile', out], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`bun build ${module ?? 'bare'} failed: ${run.stderr}${run.stdout}`);
  return out;
}

interface Command {
  label: string;
  argv: string[];
  env?: (run: number) => Record<string, string>;
  stdin?: string;
  /** Checks the output; a wrong one counts as a failure. */
  expect?: RegExp;
}

/** The leader the follower ADDs talk to: the real protocol, one canned allocation for every request. */
function playLeader(name: string): { stop: () => void; served: () => number } {
  let stopped = false;
  let served = 0;
  const answer: AddAnswer = {
    identity: { key: 'bench/follower', kind: 'stateless', static: false },
    podUid: 'bench-uid',
    result: { ips: [{ address: '198.18.0.10/24', gateway: '198.18.0.1' }] },
    source: 'allocated',
    probe: false,
    releasable: [],
    pools: ['bench-pool'],
  };
  const loop = async () => {
    while (!stopped) {
      await lead<PluginRequest, AddAnswer>(
        {
          name,
          idleMs: 1_000,
          maxLeadMs: 3_600_000,
          handleBatch: async (requests) => {
            served += requests.length;
            return requests.map((): Answer<AddAnswer> => ({ ok: true, value: answer }));
          },
        },
        1_000,
      );
    }
  };
  void loop();
  return { stop: () => (stopped = true), served: () => served };
}

async function cpuOf(cmd: Command, run: number): Promise<{ ms: number; ok: boolean }> {
  if (!bun) throw new Error('run this under Bun: node_modules/.bin/bun bench/follower-cpu.ts');
  const child = bun.spawn(cmd.argv, {
    env: { PATH: process.env.PATH ?? '', ...cmd.env?.(run) },
    stdin: new Blob([cmd.stdin ?? '']),
    stdout: 'pipe',
    stderr: 'ignore',
  });
  const out = await new Response(child.stdout).text();
  const code = await child.exited;
  const usage = child.resourceUsage();
  const us = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) : Number.NaN;
  return { ms: us / 1000, ok: code === 0 && (!cmd.expect || cmd.expect.test(out)) };
}

function pluginCommands(label: string, exe: string, dir: string): Command[] {
  const node = testNode(dir, `node-${label}`);
  const kubeconfig = join(dir, 'kubeconfig');
  const conf = JSON.stringify(netConf(node, kubeconfig, { ipam: { log_level: 'info' } }));
  return [
    {
      label: `${label} VERSION`,
      argv: [exe],
      env: () => cniEnv('VERSION', undefined),
      stdin: conf,
      expect: /supportedVersions/,
    },
    {
      label: `${label} ADD (follower)`,
      argv: [exe],
      env: (run) =>
        cniEnv(
          'ADD',
          { namespace: 'bench', name: 'follower', uid: 'bench-uid' },
          { containerId: `${label}-${run}` },
        ),
      stdin: conf,
      expect: /198\.18\.0\.10/,
    },
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '200' },
      plugin: { type: 'string', default: pluginExecutable },
      baseline: { type: 'string' },
      'no-probes': { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const dir = mkdtempSync(join(tmpdir(), 'follower-cpu-'));
  try {
    mkdirSync(join(dir, 'probes'));
    const kubeconfig = join(dir, 'kubeconfig');
    // The follower only hashes it (for the leader's name); it is never parsed.
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
    const commands: Command[] = [
      { label: 'bare', argv: [buildProbe(join(dir, 'probes'), 'bare', undefined)] },
    ];
    if (!values['no-probes']) {
      probeModules.forEach(([label, module], i) => {
        commands.push({ label: `import ${label}`, argv: [buildProbe(join(dir, 'probes'), `p${i}`, module)] });
      });
    }
    if (values.baseline) commands.push(...pluginCommands('baseline', values.baseline, dir));
    commands.push(...pluginCommands('plugin', values.plugin, dir));
    // Every plugin's node is named after its label; the leader for each is played here.
    const leaders = ['baseline', 'plugin'].map((l) => playLeader(leaderScope(`node-${l}`, kubeconfig)));
    const cpu = commands.map(() => [] as number[]);
    const failed = commands.map(() => 0);
    const load = loadavg()[0]?.toFixed(1);
    const started = new Date().toISOString();
    for (let run = 0; run < runs; run++) {
      for (const [i, cmd] of commands.entries()) {
        const { ms, ok } = await cpuOf(cmd, run);
        cpu[i]?.push(ms);
        if (!ok) failed[i] = (failed[i] ?? 0) + 1;
      }
    }
    for (const l of leaders) l.stop();
    console.log(
      `${runs} runs each, interleaved; ${started} to ${new Date().toISOString()}, load average ${load} at the start, ${loadavg()[0]?.toFixed(1)} at the end`,
    );
    console.log('| command | CPU per start, median (ms) | mean (ms) | median less bare (ms) | failed |');
    console.log('| --- | --- | --- | --- | --- |');
    const bare = median(cpu[0] ?? []);
    commands.forEach((cmd, i) => {
      const xs = cpu[i] ?? [];
      const m = median(xs);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      console.log(
        `| ${cmd.label} | ${m.toFixed(2)} | ${mean.toFixed(2)} | ${i === 0 ? '' : (m - bare).toFixed(2)} | ${failed[i]} |`,
      );
    });
    console.log(`leader answered ${leaders.map((l) => l.served()).join(' + ')} requests`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

void main();
