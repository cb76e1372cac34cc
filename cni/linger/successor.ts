// A leader that lingers. A plugin process that led its node's batches must exit as soon as it has
// handed over: the runtime waits for the process, not for its answer. So once it has, it starts a
// successor, `spiderpool lead <spec>` (lead.ts), detached from the call: it takes the node's leader
// name and serves the next calls with its API connection open and the pools it wrote in memory,
// until it has had no request for `pluginLeaderLingerMs`. The calls that follow it are followers:
// a process start and one socket round trip, no Kubernetes client, no kubeconfig.
import type { LogSettings } from '../protocol/config.js';

/** What a successor needs to find its scope and settings again (it reads both files afresh). */
export interface SuccessorSpec {
  kubeconfigPath: string;
  nodeConfigPath: string;
  log: LogSettings;
  /** Started by a lingering leader handing over (which waits for it), not by a call that led. */
  handover?: boolean;
}

export const leadSubcommand = 'lead';

/** What a successor prints on stdout once it is up and about to take the name. */
export const readyLine = 'ready';

/** How long a leader handing over waits for its successor to be up before it lets go anyway. */
export const readyTimeoutMs = 3_000;

const due = new Map<string, SuccessorSpec>();

/** Notes that this process led `scope`: startSuccessors() starts one successor for it. */
export function noteLed(scope: string, spec: SuccessorSpec): void {
  due.set(scope, spec);
}

/** Starts a successor for each scope this process led; called once every leadership has handed over. */
export function startSuccessors(): void {
  for (const spec of due.values()) void spawnSuccessor(spec);
  due.clear();
}

/**
 * Starts `spiderpool lead <spec>` in a session of its own with none of this process's stdio, so
 * whoever waits for this process (and reads its output to the end) does not wait for the successor.
 * With `awaitReady`, resolves once the successor says it is up, has exited, or after readyTimeoutMs.
 */
export function spawnSuccessor(spec: SuccessorSpec, awaitReady = false): Promise<void> {
  // Taken here, not imported: every call loads this module, only the few that led start a successor,
  // and importing node:child_process costs each process start up to 1 ms of CPU.
  const { spawn } = process.getBuiltinModule('node:child_process');
  const child = spawn(process.execPath, [leadSubcommand, JSON.stringify(spec)], {
    detached: true,
    stdio: ['ignore', awaitReady ? 'pipe' : 'ignore', 'ignore'],
  });
  child.on('error', () => undefined);
  if (!awaitReady) {
    child.unref();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      child.stdout?.destroy();
      child.unref();
      resolve();
    };
    const timer = setTimeout(done, readyTimeoutMs);
    child.stdout?.once('data', done);
    child.once('exit', done);
  });
}
