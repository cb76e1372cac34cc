// CNI calls of the killable plugin (the plugin's own main plus the
// leader's stage observer, test/integration/cni/fixtures/killable-plugin.ts) run as a runtime runs
// it, with a handle to SIGKILL it at any moment. Each outcome says whether the process was killed
// (by the suite, or by itself at a stage of its leader's group commit) and which CNI code it printed.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { buildExecutable, repoRoot } from '../../build/executables.js';
import { collectOutput } from './child-output.js';
import { cniEnv, netConf, type TestNode } from './cni-plugin.js';

export interface CallOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The CNI error code printed on failure. */
  cniCode?: number;
  msg?: string;
  /** The first address of the result on success (without the prefix length). */
  address?: string;
  /** The process killed itself at a stage of its leader's batch (see kill-at-stage.ts). */
  killedAt?: string;
}

export interface Call {
  pod: V1Pod;
  child: ChildProcess;
  /** Set by kill(): the suite killed it. */
  killedBySuite: boolean;
  kill(): void;
  done: Promise<CallOutcome>;
}

/** Builds the killable plugin into `dir` (once per suite). */
export function buildKillablePlugin(dir: string): string {
  const binary = join(dir, 'killable-spiderpool');
  buildExecutable(join(repoRoot, 'test', 'integration', 'cni', 'fixtures', 'killable-plugin.ts'), binary);
  return binary;
}

export function startCall(
  binary: string,
  command: 'ADD' | 'DEL',
  node: TestNode,
  kubeconfig: string,
  pod: V1Pod,
  env: Record<string, string> = {},
): Call {
  const ref = {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
  };
  const child = spawn(binary, [], {
    env: { PATH: process.env.PATH, ...cniEnv(command, ref), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  child.stdin?.on('error', () => undefined); // a process killed before reading its stdin
  child.stdin?.end(JSON.stringify(netConf(node, kubeconfig)));
  const call: Call = {
    pod,
    child,
    killedBySuite: false,
    kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      call.killedBySuite = true;
      child.kill('SIGKILL');
    },
    done: new Promise((resolve) => {
      child.on('close', (code, signal) => {
        const { stdout, stderr } = output;
        const outcome: CallOutcome = { code, signal, stdout };
        try {
          const doc = JSON.parse(stdout) as { code?: number; msg?: string; ips?: { address: string }[] };
          if (typeof doc.code === 'number') outcome.cniCode = doc.code;
          if (doc.msg) outcome.msg = doc.msg;
          const address = doc.ips?.[0]?.address;
          if (address) outcome.address = address.split('/')[0] as string;
        } catch {
          // killed before printing, or DEL's empty output
        }
        const self = /\{"killed":"([a-z-]+)"/.exec(stderr);
        if (self) outcome.killedAt = self[1] as string;
        resolve(outcome);
      });
    }),
  };
  return call;
}

/** The environment that makes the first leader reaching `stage` with a batch of 2 or more kill itself. */
export function leaderKillEnv(stage: string, marker: string): Record<string, string> {
  return { SPIDERPOOL_TEST_KILL_AT: stage, SPIDERPOOL_TEST_KILL_MARKER: marker };
}
