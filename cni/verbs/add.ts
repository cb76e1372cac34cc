// ADD: note the attachment on this node, have the node's leader allocate (or confirm) the pod's
// addresses, probe them for conflicts when the node asks for it, and answer with this interface's
// result. The attachment record is written before the request, so a process killed while waiting
// still leaves the pod's name and UID for DEL and GC.
import type { AddAnswer, AddRequest, ReleaseAnswer } from '../allocation/requests.js';
import type { VerbContext } from '../plugin.js';
import { probeForConflicts, shouldProbeForConflicts } from '../probe/client.js';
import type { ProbeResult } from '../probe/probe.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import type { CniResult } from '../protocol/result.js';
import { writeAttachment } from '../state/attachments.js';
import { ask, podArgsOf, switchesOf } from './ask.js';

export async function add(ctx: VerbContext): Promise<CniResult> {
  const { env, config } = ctx;
  const pod = podArgsOf(ctx, 'ADD');
  const containerId = env.containerId as string;
  const ifname = env.ifname as string;
  const request: AddRequest = {
    verb: 'ADD',
    pod,
    ifname,
    containerId,
    network: config.name,
    defaultIPv4Pools: config.ipam.defaultIPv4Pools,
    defaultIPv6Pools: config.ipam.defaultIPv6Pools,
    cleanGateway: config.ipam.cleanGateway,
    switches: switchesOf(ctx),
  };
  const record = { containerId, ifname, network: config.name, pod };
  writeAttachment(config.stateDir, { ...record, state: 'adding', time: new Date().toISOString() });

  const answer = await ask<AddAnswer>(ctx, request);
  writeAttachment(config.stateDir, {
    ...record,
    pod: { ...pod, uid: answer.podUid },
    state: 'added',
    identity: { key: answer.identity.key, static: answer.identity.static },
    addresses: answer.result.ips.map((ip) => ip.address),
    pools: answer.pools,
    time: new Date().toISOString(),
  });
  if (shouldProbeForConflicts(answer.probe, answer.source === 'migration-source')) {
    await probe(ctx, request, answer, env.netns as string);
  }
  ctx.log.debug('allocated', { source: answer.source, identity: answer.identity.key });
  return answer.result;
}

async function probe(ctx: VerbContext, request: AddRequest, answer: AddAnswer, netns: string): Promise<void> {
  let results: ProbeResult[];
  try {
    results = await probeForConflicts({
      netns,
      ifname: request.ifname,
      addresses: answer.result.ips.map((ip) => ip.address),
    });
  } catch (err) {
    // The addresses stay with the pod: the runtime's retry reuses and probes them again.
    throw new CniError(
      ErrorCode.addressConflict,
      `IP conflict detection could not run: ${(err as Error).message}`,
    );
  }
  const conflicts = results.filter((r) => r.conflict);
  if (conflicts.length === 0) return;
  const releasable = conflicts.map((c) => c.address).filter((ip) => answer.releasable.includes(ip));
  let released: string[] = [];
  if (releasable.length > 0) {
    const out = await ask<ReleaseAnswer>(ctx, {
      verb: 'RELEASE',
      reason: 'conflict',
      pod: { ...request.pod, uid: answer.podUid },
      nic: request.ifname,
      ips: releasable,
      identity: { key: answer.identity.key, static: answer.identity.static },
      ifname: request.ifname,
      pools: answer.pools,
      switches: request.switches,
    });
    released = out.released;
  }
  const what = conflicts.map((c) => `${c.address} is in use by ${c.mac ?? 'another host'}`).join('; ');
  const after = released.length
    ? `released ${released.join(', ')}; the next ADD gets other addresses`
    : `kept: the addresses of ${answer.identity.key} are fixed`;
  throw new CniError(ErrorCode.addressConflict, `IP conflict on ${request.ifname}: ${what} (${after})`);
}
