// Long-running child processes that outlive the process that started them.
//
// A control plane is started by one process (a CLI, jest's global setup) and may be stopped or
// restarted by another (a test worker, `cluster down`). So processes run detached, their identity is
// recorded (pid + executable), and every operation works from that record alone.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessRecord {
  pid: number;
  bin: string;
  args: string[];
  log: string;
  env?: Record<string, string>;
}

export function startDetached(
  bin: string,
  args: string[],
  log: string,
  env?: Record<string, string>,
): ProcessRecord {
  const fd = openSync(log, 'a');
  const child = spawn(bin, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', ...env },
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${bin}`);
  return { pid: child.pid, bin, args, log, ...(env ? { env } : {}) };
}

/** True while process `pid` exists and is not a zombie (exited, its parent not told yet). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name, which may itself contain spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** True while the recorded process runs (a zombie or a recycled pid does not count). */
export function isRunning(rec: ProcessRecord): boolean {
  if (!isAlive(rec.pid)) return false;
  try {
    return readlinkSync(`/proc/${rec.pid}/exe`).replace(/ \(deleted\)$/, '') === rec.bin;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(rec: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isRunning(rec)) return;
  signal(rec, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isRunning(rec) && Date.now() < deadline) await sleep(50);
  if (isRunning(rec)) {
    signal(rec, 'SIGKILL');
    while (isRunning(rec)) await sleep(20);
  }
}

export function signal(rec: ProcessRecord, sig: NodeJS.Signals): void {
  try {
    process.kill(rec.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Last lines of a process log, for error messages. */
export function tail(log: string, lines = 15): string {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
