// What `npm run bench` needs of each IPAM it compares: a pool of exactly N addresses per round, one
// CNI call (a real process, as a runtime makes it), and the API's own record of who holds which
// address, read back after the ADDs and after the DELs.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ProcessOutcome } from '../../test/harness/cni-plugin.js';
import type { ControlPlane } from '../../test/harness/control-plane.js';

/** One Pod object of a round, as a runtime names it in CNI_ARGS. */
export interface BenchPod {
  namespace: string;
  name: string;
  uid: string;
  /** Which of the round's two nodes it is bound to (0 or 1). */
  node: number;
}

export interface SystemUnderTest {
  /** Short name for tables and charts, e.g. `Spiderpool v1.2.2`. */
  readonly label: string;
  /** The plugin's log files, one per node, when it logs its batches there (ours). */
  readonly logFiles?: string[];
  /** Its long-running processes beside the control plane (Spiderpool's agents), by name. */
  readonly daemons?: { name: string; pid: number }[];
  /** Makes a fresh pool (or range) of exactly `size` addresses for the next round's calls. */
  newPool(size: number, round: string): Promise<void>;
  /** One ADD or DEL of `pod`, as a container runtime calls the IPAM plugin. */
  call(verb: 'ADD' | 'DEL', pod: BenchPod, timeoutMs: number): Promise<ProcessOutcome>;
  /** The current pool's records as the API holds them: address -> `<namespace>/<name>` of each holder. */
  recorded(): Promise<Map<string, string[]>>;
  close(): Promise<void>;
}

/**
 * Starts a system on its own control plane: `work` is a folder for its files, `netns` the network
 * namespace every call names (Spiderpool's plugin needs one that exists), `log` a line per step.
 */
export type SystemStarter = (
  cp: ControlPlane,
  admin: KubeConfig,
  work: string,
  netns: string,
  log: (line: string) => void,
) => Promise<SystemUnderTest>;

/** The address of a CNI result's first IP, without its prefix length. */
export function resultAddress(out: ProcessOutcome): string | undefined {
  if (out.code !== 0) return undefined;
  const ips = out.json?.ips as Array<{ address?: string }> | undefined;
  return ips?.[0]?.address?.split('/')[0];
}

/** Adds `holder` to the holders of `address`. */
export function addHolder(map: Map<string, string[]>, address: string, holder: string): void {
  const holders = map.get(address);
  if (holders) holders.push(holder);
  else map.set(address, [holder]);
}

export interface ReadBack {
  /** Addresses held by more than one pod, by the ADD results and the API's records together. */
  duplicates: number;
  /** Successful ADDs whose address the API does not record for that pod. */
  unrecorded: number;
  /** Records in the API. */
  recorded: number;
}

/**
 * Checks the ADD results (`<namespace>/<name>` -> address) against the API's records (address ->
 * holders), so a duplicate shows whether the results or the API hold it.
 */
export function readBack(results: Map<string, string>, records: Map<string, string[]>): ReadBack {
  const holders = new Map<string, Set<string>>();
  for (const [address, pods] of records) holders.set(address, new Set(pods));
  for (const [pod, address] of results) {
    const set = holders.get(address) ?? new Set<string>();
    set.add(pod);
    holders.set(address, set);
  }
  return {
    duplicates: [...holders.values()].filter((s) => s.size > 1).length,
    unrecorded: [...results].filter(([pod, address]) => !records.get(address)?.includes(pod)).length,
    recorded: [...records.values()].reduce((sum, h) => sum + h.length, 0),
  };
}
