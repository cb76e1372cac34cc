// iproute2 for the coordinator: in the pod's network namespace (`nsenter --net=<CNI_NETNS>`) or in
// the one the plugin runs in (the node's). A failure becomes a CNI I/O error naming the command.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CniError, ErrorCode } from '../protocol/errors.js';

const run = promisify(execFile);

async function runIp(command: string, args: string[], shown: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args);
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new CniError(ErrorCode.ioFailure, `ip ${shown.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** `ip` inside the pod's network namespace. */
export function ipIn(netns: string, args: string[]): Promise<string> {
  return runIp('nsenter', [`--net=${netns}`, 'ip', ...args], args);
}

/** `ip` in the plugin's own (the node's) network namespace. */
export function ipHost(args: string[]): Promise<string> {
  return runIp('ip', args, args);
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
  try {
    await run('nsenter', [`--net=${netns}`, 'sh', '-c', script]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new CniError(ErrorCode.ioFailure, `${script}: ${(err.stderr ?? err.message).trim()}`);
  }
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
