// iproute2 for the coordinator: in the pod's network namespace (`nsenter --net=<CNI_NETNS>`) or in
// the one the plugin runs in (the node's). A failure becomes a CNI I/O error naming the command.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CniError, ErrorCode } from '../protocol/errors.js';

const run = promisify(execFile);

async function runTool(command: string, args: string[], shown: string): Promise<string> {
  try {
    const { stdout } = await run(command, args);
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new CniError(ErrorCode.ioFailure, `${shown}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** `ip` inside the pod's network namespace. */
export function ipIn(netns: string, args: string[]): Promise<string> {
  return runTool('nsenter', [`--net=${netns}`, 'ip', ...args], `ip ${args.join(' ')}`);
}

/** `ip` in the plugin's own (the node's) network namespace. */
export function ipHost(args: string[]): Promise<string> {
  return runTool('ip', args, `ip ${args.join(' ')}`);
}

/** `iptables` (family 4) or `ip6tables` (6) inside the pod's network namespace. */
export function iptablesIn(netns: string, family: 4 | 6, args: string[]): Promise<string> {
  const tool = family === 6 ? 'ip6tables' : 'iptables';
  // -w: wait for the xtables lock rather than fail when another rule change holds it.
  return runTool('nsenter', [`--net=${netns}`, tool, '-w', ...args], `${tool} ${args.join(' ')}`);
}

const parsed = <T>(out: string) => (out.trim() ? JSON.parse(out) : []) as T;

export async function ipJson<T>(netns: string, args: string[]): Promise<T> {
  return parsed<T>(await ipIn(netns, ['-json', ...args]));
}

export async function ipHostJson<T>(args: string[]): Promise<T> {
  return parsed<T>(await ipHost(['-json', ...args]));
}

/** A shell command inside the pod's network namespace (for its /proc/sys/net). */
export async function shIn(netns: string, script: string): Promise<void> {
  await runTool('nsenter', [`--net=${netns}`, 'sh', '-c', script], script);
}

export interface LinkInfo {
  ifname: string;
  ifindex: number;
  address?: string;
  addr_info?: Array<{ family: string; local: string; scope?: string }>;
}

/** Addresses other than link-local and host scope. */
export const globalAddresses = (l: LinkInfo | undefined) =>
  (l?.addr_info ?? []).filter((a) => a.scope !== 'link' && a.scope !== 'host').map((a) => a.local);
