// ADD: note the attachment on this node, have the node's leader allocate (or confirm) the pod's
// addresses, probe them for conflicts when the node asks for it, and answer with this interface's
// result. The attachment record is written before the request, so a process killed while waiting
// still leaves the pod's name and UID for DEL and GC. An ADD that fails puts the record back as it
// was (or removes it): the failed call's pod arguments may disagree with the pod that owns this
// attachment, and DEL and GC trust the record to name that pod.
import type { AddAnswer, AddRequest, ReleaseAnswer } from '../allocation/requests.js';
import type { VerbContext } from '../plugin.js';
import { probeForConflicts, shouldProbeForConflicts } from '../probe/client.js';
import type { ProbeResult } from '../probe/probe.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import type { CniResult } from '../protocol/result.js';
import {
  type AttachmentRecord,
  readAttachment,
  removeAttachment,
  writeAttachment,
} from '../state/attachments.js';
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
  const before = previousRecord(ctx, containerId, ifname);
  writeAttachment(config.stateDir, { ...record, state: 'adding', time: new Date().toISOString() });
  try {
    return await allocate(ctx, request, record);
  } catch (err) {
    restoreRecord(ctx, containerId, ifname, before);
    throw err;
  }
}

async function allocate(
  ctx: VerbContext,
  request: AddRequest,
  record: Pick<AttachmentRecord, 'containerId' | 'ifname' | 'network' | 'pod'>,
): Promise<CniResult> {
  const { env, config } = ctx;
  const { pod } = request;
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

/** The attachment's record before this ADD; an unreadable one counts as none (it helps nobody). */
function previousRecord(ctx: VerbContext, containerId: string, ifname: string): AttachmentRecord | undefined {
  try {
    return readAttachment(ctx.config.stateDir, containerId, ifname);
  } catch (err) {
    ctx.log.warn('unreadable attachment record', { error: (err as Error).message });
    return undefined;
  }
}

/** Puts the attachment's record back as it was before a failed ADD; the ADD's own error wins. */
function restoreRecord(
  ctx: VerbContext,
  containerId: string,
  ifname: string,
  before: AttachmentRecord | undefined,
): void {
  try {
    if (before) writeAttachment(ctx.config.stateDir, before);
    else removeAttachment(ctx.config.stateDir, containerId, ifname);
  } catch (err) {
    ctx.log.warn('could not restore the attachment record after a failed ADD', {
      error: (err as Error).message,
    });
  }
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
