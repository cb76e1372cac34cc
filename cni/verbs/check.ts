// CHECK (CNI >= 0.4.0): the addresses the runtime recorded for this interface (prevResult) must be
// those the pod's SpiderEndpoint records for it, and each must be recorded in its pool for the
// endpoint's current pod UID, which is this pod's (or, for a live-migration target, the source's).
// Read-only, so it makes its few reads itself instead of going through the node's leader.
import { identityOf } from '../../ipam/identity/identity.js';
import { claimIdentity, claimReferenceOf } from '../../ipam/identity/ipamclaim.js';
import { poolFamily } from '../../ipam/pool/space.js';
import { decodeRecords } from '../../ipam/records/codec.js';
import { RestClient } from '../../kube/rest.js';
import { migrationInProgress } from '../allocation/add-plan.js';
import { callTimeoutMs, PluginApi } from '../allocation/reads.js';
import { pluginKubeConfig } from '../kube-access.js';
import type { VerbContext } from '../plugin.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import type { CniResult } from '../protocol/result.js';
import { multusSettingsOf, podArgsOf, switchesOf } from './ask.js';

/** The prevResult's addresses of interface `ifname` (all of them when it names no interfaces). */
export function addressesOfInterface(prev: CniResult, ifname: string): string[] {
  const interfaces = prev.interfaces ?? [];
  return prev.ips
    .filter((ip) => {
      if (ip.interface === undefined || interfaces.length === 0) return true;
      return interfaces[ip.interface]?.name === ifname;
    })
    .map((ip) => ip.address)
    .sort();
}

function mismatch(message: string): CniError {
  return new CniError(ErrorCode.checkFailed, message);
}

export async function check(ctx: VerbContext): Promise<undefined> {
  const args = podArgsOf(ctx, 'CHECK');
  const ifname = ctx.env.ifname as string;
  const prev = addressesOfInterface(ctx.config.prevResult ?? { ips: [] }, ifname);
  let api: PluginApi;
  try {
    api = new PluginApi(new RestClient(pluginKubeConfig(ctx.config.kubeconfigPath), callTimeoutMs));
  } catch (err) {
    throw new CniError(ErrorCode.tryAgainLater, (err as Error).message);
  }
  const podName = `${args.namespace}/${args.name}`;
  const pod = await api.pod(args.namespace, args.name);
  if (!pod || (args.uid && pod.metadata?.uid !== args.uid))
    throw mismatch(`pod ${podName}${args.uid ? ` with UID ${args.uid}` : ''} not found`);
  // An attachment keyed to an IPAMClaim is recorded under the claim's name (docs/ipamclaim.md).
  const switches = switchesOf(ctx);
  const claim = switches.enableIPAMClaim ? claimReferenceOf(pod, ifname, multusSettingsOf(ctx)) : undefined;
  const identity = claim ? claimIdentity(pod, claim) : identityOf(pod, switches);
  const endpoint = await api.endpoint(identity.namespace, identity.name);
  const current = endpoint?.status?.current;
  const entry = current?.ips.find((e) => e.interface === ifname);
  if (!current || !entry) throw mismatch(`SpiderEndpoint ${identity.key} records no addresses for ${ifname}`);
  const recorded = [entry.ipv4, entry.ipv6].filter((a): a is string => a !== undefined).sort();
  if (JSON.stringify(recorded) !== JSON.stringify(prev)) {
    throw mismatch(
      `${ifname}: prevResult has ${prev.join(', ') || 'no address'}, SpiderEndpoint ${identity.key} records ${recorded.join(', ')}`,
    );
  }
  const holders = new Set([identity.podUid]);
  const marks = pod.metadata?.annotations?.['kubevirt.io/migrationJobName'];
  if ((identity.kind === 'kubevirt-vm' || claim) && marks && current.uid !== identity.podUid) {
    if (migrationInProgress(pod, await api.migration(args.namespace, marks))) holders.add(current.uid);
  }
  if (!holders.has(current.uid))
    throw mismatch(
      `SpiderEndpoint ${identity.key} is held by pod UID ${current.uid}, not ${identity.podUid}`,
    );
  for (const [address, poolName] of [
    [entry.ipv4, entry.ipv4Pool],
    [entry.ipv6, entry.ipv6Pool],
  ] as const) {
    if (!address) continue;
    const ip = address.split('/')[0] as string;
    const pool = poolName ? await api.pool(poolName) : undefined;
    if (!pool) throw mismatch(`${ip}: pool ${poolName ?? '(none recorded)'} not found`);
    const record = decodeRecords(poolName as string, pool.status?.allocatedIPs, poolFamily(pool)).find(
      (r) => r.ip === ip,
    );
    if (!record || record.pod !== identity.key || !holders.has(record.podUid)) {
      const holder = record ? `${record.pod} (pod UID ${record.podUid})` : 'nobody';
      throw mismatch(
        `${ip}: pool ${poolName} records it for ${holder}, not ${identity.key} (pod UID ${current.uid})`,
      );
    }
  }
  return undefined;
}
