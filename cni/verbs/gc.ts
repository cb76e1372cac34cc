// GC (CNI 1.1): release this node's attachments of this network that the runtime no longer lists in
// `cni.dev/valid-attachments` (or `cni.dev/attachments`). Each stale attachment is released as a DEL
// of that one interface would be: only records of its pod UID and interface, never while the pod is
// alive or its static identity valid, and not at all when another attachment the runtime still uses
// belongs to the same pod and interface (a sandbox recreated with the same addresses). Errors do not
// stop the others; they are reported together at the end.
//
// No list at all (cnitool gc sends none) releases nothing: without the runtime's list this plugin
// cannot tell a stale attachment from a live one, and guessing "all stale" would take the addresses
// of every running pod of the network on this node.
import type { ReleaseAnswer } from '../allocation/requests.js';
import type { VerbContext } from '../plugin.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import { type AttachmentRecord, listAttachments, removeAttachment } from '../state/attachments.js';
import { ask, switchesOf } from './ask.js';

const keyOf = (containerId: string, ifname: string) => `${containerId}\n${ifname}`;

export async function gc(ctx: VerbContext): Promise<undefined> {
  const { config } = ctx;
  const valid = config.validAttachments;
  if (!valid) {
    ctx.log.info('GC without cni.dev/valid-attachments: nothing is released');
    return undefined;
  }
  const inUse = new Set(valid.map((a) => keyOf(a.containerID, a.ifname)));
  const listing = listAttachments(config.stateDir);
  const live = listing.records.filter((r) => inUse.has(keyOf(r.containerId, r.ifname)));
  const stale = listing.records.filter((r) => !inUse.has(keyOf(r.containerId, r.ifname)));
  const errors = [...listing.unreadable];
  const switches = switchesOf(ctx);

  const outcomes = await Promise.allSettled(
    stale.map(async (record) => {
      const sharedWithLive = live.some(
        (l) => l.pod.uid !== undefined && l.pod.uid === record.pod.uid && l.ifname === record.ifname,
      );
      if (sharedWithLive) return { record, answer: undefined };
      const answer = await ask<ReleaseAnswer>(ctx, {
        verb: 'RELEASE',
        reason: 'GC',
        pod: record.pod,
        nic: record.ifname,
        ...(record.identity ? { identity: record.identity } : {}),
        ifname: record.ifname,
        ...(record.pools?.length ? { pools: record.pools } : {}),
        switches,
      });
      return { record, answer };
    }),
  );
  outcomes.forEach((outcome, i) => {
    const record = stale[i] as AttachmentRecord;
    const what = `${record.containerId}/${record.ifname} of pod ${record.pod.namespace}/${record.pod.name}`;
    if (outcome.status === 'rejected') {
      errors.push(`${what}: ${(outcome.reason as Error).message}`);
      return;
    }
    const { answer } = outcome.value;
    // A pod that is still alive may still DEL or be deleted later: keep its record for the next GC.
    if (answer?.kept?.because === 'pod-alive') {
      ctx.log.info('GC keeps a stale attachment of a live pod', { attachment: what });
      return;
    }
    removeAttachment(config.stateDir, record.containerId, record.ifname);
    ctx.log.info('GC', { attachment: what, released: answer?.released ?? [], kept: answer?.kept?.reason });
  });
  if (errors.length > 0) {
    throw new CniError(
      ErrorCode.ioFailure,
      `GC of network ${config.name}: ${errors.length} attachment(s) failed: ${errors.join('; ')}`,
    );
  }
  return undefined;
}
