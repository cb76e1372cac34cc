// CPU time of processes from /proc, in seconds: what `bench/cni-cpu.ts` adds up per process class.
// The kernel counts in clock ticks (USER_HZ, 100 on Linux), so each figure is exact to 10 ms.
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = 100;

/** Fields 14-17 of /proc/<pid>/stat (utime, stime, cutime, cstime), undefined once the process is gone. */
function statTimes(pid: number | 'self'): number[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count the fields from after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields.slice(11, 15).map(Number);
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds `pid` has used so far (undefined once it is gone). */
export function processCpu(pid: number): number | undefined {
  const t = statTimes(pid);
  return t ? ((t[0] ?? 0) + (t[1] ?? 0)) / ticksPerSecond : undefined;
}

/**
 * User + system CPU seconds of this process's children that have exited and been waited for (and of
 * their own waited children): every CNI call this process spawned and reaped.
 */
export function reapedChildrenCpu(): number {
  const t = statTimes('self') ?? [];
  return ((t[2] ?? 0) + (t[3] ?? 0)) / ticksPerSecond;
}

/** Busy (non-idle, non-iowait) CPU seconds of the whole machine so far, all cores together. */
export function machineBusyCpu(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, ...values] = line.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = values.map(Number);
  return (user + nice + system + irq + softirq + steal) / ticksPerSecond;
}

/**
 * Processes that come and go on their own (lingering leaders: detached, reparented, never waited for
 * by this process): /proc scanned every `everyMs` for processes whose argv starts with `argv`, the
 * CPU each had used when last seen. A process's CPU after its last sample is missed: at most
 * `everyMs` of a leader that is by then idling out its linger.
 */
export class ProcessSampler {
  private readonly seen = new Map<number, number>();
  private readonly ignored = new Set<number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly argv: string[],
    everyMs = 25,
  ) {
    // Processes already there are not this window's: remember them as ignored.
    this.scan(true);
    this.timer = setInterval(() => this.scan(false), everyMs);
  }

  /**
   * 'yes', 'no', or 'not yet': a process with the same executable but other arguments may be a
   * fork that has not yet exec'd its own arguments (a plugin starting a leader), so it is looked at
   * again.
   */
  private matches(pid: number): 'yes' | 'no' | 'not yet' {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (this.argv.every((a, i) => args[i] === a)) return 'yes';
      return args[0] === this.argv[0] ? 'not yet' : 'no';
    } catch {
      return 'no';
    }
  }

  private scan(initial: boolean): void {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || this.ignored.has(pid)) continue;
      if (!this.seen.has(pid)) {
        const match = this.matches(pid);
        if (match === 'no' || (initial && match === 'yes')) this.ignored.add(pid);
        if (match !== 'yes' || initial) continue;
      }
      const cpu = processCpu(pid);
      if (cpu !== undefined) this.seen.set(pid, cpu);
    }
  }

  /** Stops sampling (after one last scan): the processes seen and their CPU seconds in all. */
  stop(): { processes: number; cpu: number } {
    this.scan(false);
    clearInterval(this.timer);
    return { processes: this.seen.size, cpu: [...this.seen.values()].reduce((a, b) => a + b, 0) };
  }
}

/**
 * TCP connections this machine has opened so far (ActiveOpens of /proc/net/snmp), every process
 * together: over a round, the plugin's leaders are the only processes that connect anew (the
 * followers use a unix socket, the API server keeps its etcd connections), so the difference counts
 * their connections to the API server, each a TLS handshake on both sides, plus other work's.
 */
export function tcpActiveOpens(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Tcp:'));
  const names = (lines[0] ?? '').trim().split(/\s+/);
  const values = (lines[1] ?? '').trim().split(/\s+/);
  return Number(values[names.indexOf('ActiveOpens')] ?? 0);
}
