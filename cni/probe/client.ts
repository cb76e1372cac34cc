// What ADD calls after allocating (phase 2): run `spiderpool probe` as a child process, so the
// plugin's own thread never leaves the host's network namespace, and read its verdict.
import type { ProbeOptions, ProbeResult } from './probe.js';

export interface ConflictProbeRequest {
  netns: string;
  ifname: string;
  /** Addresses with or without a prefix length. */
  addresses: string[];
  options?: Partial<ProbeOptions>;
  /** The compiled plugin; process.execPath is the plugin itself when it runs compiled. */
  executable?: string;
}

/**
 * Whether ADD probes at all: only when the node configuration enables it, and never for a KubeVirt
 * live-migration target, whose addresses are in use by the migration source on purpose.
 */
export function shouldProbeForConflicts(enabled: boolean, isMigrationTarget: boolean): boolean {
  return enabled && !isMigrationTarget;
}

export function probeForConflicts(req: ConflictProbeRequest): Promise<ProbeResult[]> {
  const args = ['probe', '--netns', req.netns, '--ifname', req.ifname];
  if (req.options?.tries) args.push('--tries', String(req.options.tries));
  if (req.options?.timeoutMs) args.push('--timeout-ms', String(req.options.timeoutMs));
  args.push(...req.addresses);
  // Taken here, not imported: every ADD loads this module, few probe, and importing
  // node:child_process costs each process start up to 1 ms of CPU.
  const { execFile } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(req.executable ?? process.execPath, args, { timeout: 30_000 }, (err, stdout) => {
      let parsed: { results?: ProbeResult[]; error?: string } | undefined;
      try {
        parsed = JSON.parse(stdout) as { results?: ProbeResult[]; error?: string };
      } catch {
        parsed = undefined;
      }
      if (parsed?.results) resolve(parsed.results);
      else
        reject(
          new Error(`conflict probe in ${req.netns} failed: ${parsed?.error ?? err?.message ?? 'no output'}`),
        );
    });
  });
}
