// What every benchmark needs: a control plane (the one named by SPIDERPOOL_TS_CLUSTER_DIR, left
// running, or a private one in a temporary folder, stopped by release() or by SIGINT/SIGTERM), order
// statistics, and a main() runner.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pluginExecutable } from '../build/executables.js';
import { ControlPlane, type ControlPlaneOptions } from '../test/harness/control-plane.js';
import { registerRun, unregisterRun } from '../test/harness/runs.js';
import {
  ClusterFixtures,
  cniPolicyRules,
  ensureSpiderpoolCrds,
  grantClusterRules,
} from '../test/harness/spiderpool-api.js';

/** What runs on SIGINT or SIGTERM before the process exits: stopping what it started. */
const onInterrupt = new Set<() => Promise<void>>();
let listening = false;

async function interrupted(signal: NodeJS.Signals): Promise<void> {
  for (const stop of [...onInterrupt].reverse()) await stop().catch(() => undefined);
  // The shell's convention for death by a signal.
  process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
}

/** Runs `stop` if this process gets SIGINT or SIGTERM before the returned function is called. */
export function stopOnInterrupt(stop: () => Promise<void>): () => void {
  if (!listening) {
    listening = true;
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
  }
  onInterrupt.add(stop);
  return () => onInterrupt.delete(stop);
}

/**
 * A control plane (etcd and kube-apiserver, no scheduler or controller manager) of its own in `dir`,
 * run detached: stop() stops it, and so does SIGINT or SIGTERM of this process, even halfway through
 * its start; a bench killed outright (SIGKILL) leaves it to the next test run, which stops every
 * registered control plane whose owner is gone (test/harness/runs.ts).
 */
export async function privateControlPlane(
  dir: string,
  log?: (line: string) => void,
  extraArgs?: ControlPlaneOptions['extraArgs'],
): Promise<{ cp: ControlPlane; stop: () => Promise<void> }> {
  registerRun(dir);
  const stopStarted = async () => {
    if (existsSync(join(dir, 'state.json'))) await ControlPlane.attach(dir).stop();
    unregisterRun(dir);
  };
  const unguard = stopOnInterrupt(stopStarted);
  let cp: ControlPlane;
  try {
    cp = await ControlPlane.start({
      dir,
      scheduler: false,
      controllerManager: false,
      ...(log ? { log } : {}),
      ...(extraArgs ? { extraArgs } : {}),
    });
  } catch (err) {
    unguard();
    unregisterRun(dir);
    throw err;
  }
  return {
    cp,
    stop: async () => {
      await cp.stop();
      unguard();
      unregisterRun(dir);
    },
  };
}

export async function benchControlPlane(): Promise<{ cp: ControlPlane; release: () => Promise<void> }> {
  const dir = process.env.SPIDERPOOL_TS_CLUSTER_DIR;
  if (dir) return { cp: ControlPlane.attach(dir), release: async () => {} };
  const own = mkdtempSync(join(tmpdir(), 'spiderpool-bench-'));
  const { cp, stop } = await privateControlPlane(own);
  return {
    cp,
    release: async () => {
      await stop();
      rmSync(own, { recursive: true, force: true });
    },
  };
}

/**
 * What a benchmark of the compiled plugin runs on: a control plane (benchControlPlane) with
 * Spiderpool's CRDs, the plugin's RBAC granted to the 'cni' user, and fixtures. close() removes what
 * the fixtures made, the grant, and a private control plane.
 */
export async function pluginBenchCluster(): Promise<{
  cp: ControlPlane;
  fixtures: ClusterFixtures;
  close: () => Promise<void>;
}> {
  const { cp, release } = await benchControlPlane();
  const admin = new KubeConfig();
  admin.loadFromFile(cp.kubeconfigPath('admin'));
  const fixtures = new ClusterFixtures(admin);
  let revoke: (() => Promise<void>) | undefined;
  const close = async () => {
    await fixtures.cleanup();
    await revoke?.();
    await release();
  };
  try {
    await ensureSpiderpoolCrds(admin);
    revoke = await grantClusterRules(admin, 'cni', cniPolicyRules());
  } catch (err) {
    await close();
    throw err;
  }
  return { cp, fixtures, close };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/**
 * The compiled plugin's cold start (VERSION: no I/O beyond stdin/stdout) beside `node -e 0`, medians
 * of `rounds` interleaved rounds after one that warms the page cache, in ms.
 */
export function coldStart(rounds: number): { node: number; plugin: number } {
  const time = (file: string, args: string[], env: Record<string, string>, input: string) => {
    const started = process.hrtime.bigint();
    const run = spawnSync(file, args, { env: { PATH: process.env.PATH ?? '', ...env }, input });
    if (run.status !== 0) throw new Error(`${file} exited ${run.status}: ${run.stdout}${run.stderr}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const node: number[] = [];
  const plugin: number[] = [];
  const version = JSON.stringify({ cniVersion: '1.1.0' });
  for (let r = 0; r < rounds + 1; r++) {
    const a = time(process.execPath, ['-e', '0'], {}, '');
    const b = time(pluginExecutable, [], { CNI_COMMAND: 'VERSION' }, version);
    if (r === 0) continue; // the first round warms the page cache
    node.push(a);
    plugin.push(b);
  }
  return { node: median(node), plugin: median(plugin) };
}

/** Runs a benchmark's main(); a failure is one line on stderr and exit status 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
