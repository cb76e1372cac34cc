// DEL: idempotent. The pod may be gone already: its UID then comes from CNI_ARGS or, failing that,
// from the attachment record ADD wrote, and the node's leader finds what that UID holds in the pools.
// A pod that is still alive keeps its addresses (its sandbox is being recreated), as in Spiderpool;
// a static identity keeps them while it is valid. A DEL without pod arguments and without a record
// has nothing to go on and succeeds (the operator reclaims what no pod explains).
import type { ReleaseAnswer } from '../allocation/requests.js';
import type { VerbContext } from '../plugin.js';
import { readAttachment, removeAttachment } from '../state/attachments.js';
import { ask, switchesOf } from './ask.js';

export async function del(ctx: VerbContext): Promise<undefined> {
  const { env, config } = ctx;
  const containerId = env.containerId as string;
  const ifname = env.ifname as string;
  let record: ReturnType<typeof readAttachment>;
  try {
    record = readAttachment(config.stateDir, containerId, ifname);
  } catch (err) {
    ctx.log.warn('unreadable attachment record', { error: (err as Error).message });
  }
  const { podNamespace, podName, podUid } = env.args;
  const namespace = podNamespace ?? record?.pod.namespace;
  const name = podName ?? record?.pod.name;
  if (!namespace || !name) {
    ctx.log.info('DEL names no pod and this node has no record of the attachment: nothing to release');
    return undefined;
  }
  // A record of another pod (a container ID reused under other pod arguments) says nothing of this one.
  const samePod =
    record && record.pod.namespace === namespace && record.pod.name === name ? record : undefined;
  const uid = podUid ?? samePod?.pod.uid;
  const answer = await ask<ReleaseAnswer>(ctx, {
    verb: 'RELEASE',
    reason: 'DEL',
    pod: { namespace, name, ...(uid ? { uid } : {}) },
    ...(samePod?.identity && samePod.pod.uid === uid ? { identity: samePod.identity } : {}),
    ifname,
    ...(samePod?.pools?.length && samePod.pod.uid === uid ? { pools: samePod.pools } : {}),
    switches: switchesOf(ctx),
  });
  removeAttachment(config.stateDir, containerId, ifname);
  ctx.log.info(
    answer.kept ? 'kept' : 'released',
    answer.kept ? { why: answer.kept.reason } : { ips: answer.released },
  );
  return undefined;
}
