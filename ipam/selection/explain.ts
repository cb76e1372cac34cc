// Why a pod that was bound to a node has no address, in words for a Kubernetes Event: the same
// candidate selection and filters an ADD runs, reported instead of thrown. The operator does not
// know the CNI config's default pools (they live in the NetworkAttachmentDefinition), so when none
// of the other rules applies it says so instead of guessing.
import type { V1Namespace, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import { annotations, type SpiderIPPool } from '../../api/index.js';
import type { Family } from '../address/ip.js';
import { applicationAffinityLabels } from '../autopool/application.js';
import { namesSubnet, parseAutoPoolRequest } from '../autopool/request.js';
import { autoPoolCandidates, podApplication } from '../autopool/select.js';
import { type Candidates, type NicCandidates, selectCandidates } from '../candidates/candidates.js';
import { IpamError } from '../errors.js';
import { describeSkipped, type FilterContext, filterPools } from '../filter/filters.js';
import { topController } from '../identity/owners.js';
import type { MultusSettings } from '../multus/networks.js';
import { poolUsage } from '../pool/usage.js';
import type { IntervalSet } from '../ranges/intervals.js';

export interface NoAddressInput {
  pod: V1Pod;
  /** The pod's Namespace (its default-pool annotations and labels). */
  namespace?: V1Namespace;
  pools: readonly SpiderIPPool[];
  enableIPv4: boolean;
  enableIPv6: boolean;
  nodeName: string;
  nodeLabels?: Record<string, string>;
  multus: MultusSettings;
  /** SpiderReservedIPs of a family, for the free counts. */
  reserved?: (family: Family) => IntervalSet;
  /** SpiderSubnet auto-pools on (conf.yml enableSpiderSubnet and enableAutoPoolForApplication). */
  autoPools?: boolean;
  /** The ReplicaSet or Job the pod's controller reference names, when read (its application). */
  intermediate?: V1ObjectMeta;
}

export interface NoAddressExplanation {
  /** True when the pools could not have served the pod: a Warning; else it is the plugin's turn. */
  blocked: boolean;
  message: string;
}

function errorText(error: unknown): string {
  if (error instanceof IpamError) return error.message;
  throw error;
}

/** A pod that names a SpiderSubnet: its application's auto-pool, or why there is none (yet). */
function autoPoolToExplain(input: NoAddressInput): Candidates | NoAddressExplanation {
  try {
    const request = parseAutoPoolRequest(input.pod.metadata?.annotations, { flexible: true, n: 0 });
    return autoPoolCandidates({
      ifName: request?.slots[0]?.nic ?? 'eth0',
      pod: input.pod,
      app: applicationOf(input),
      autoPools: input.autoPools ?? false,
      enableIPv4: input.enableIPv4,
      enableIPv6: input.enableIPv6,
      cleanGateway: false,
      pools: input.pools,
    });
  } catch (error) {
    return { blocked: true, message: `no pool can be chosen: ${errorText(error)}` };
  }
}

function applicationOf(input: NoAddressInput) {
  const md = input.pod.metadata ?? {};
  return podApplication(md.namespace ?? '', topController(md, input.intermediate));
}

/** The candidates of the pod's NICs, or why none can be chosen. */
function candidatesToExplain(input: NoAddressInput): Candidates | NoAddressExplanation {
  if (namesSubnet(input.pod.metadata?.annotations)) return autoPoolToExplain(input);
  const select = (ifName: string) =>
    selectCandidates({
      ifName,
      pod: input.pod,
      ...(input.namespace ? { namespace: input.namespace } : {}),
      enableIPv4: input.enableIPv4,
      enableIPv6: input.enableIPv6,
      pools: input.pools,
    });
  try {
    return select('eth0');
  } catch (error) {
    // A named `ippools` annotation need not list eth0: explain from its first NIC instead.
    const named = firstNamedInterface(input.pod);
    if (!named) return { blocked: true, message: `no pool can be chosen: ${errorText(error)}` };
    try {
      return select(named);
    } catch (inner) {
      return { blocked: true, message: `no pool can be chosen: ${errorText(inner)}` };
    }
  }
}

/** What one NIC and family of the pod would run into: its usable pools, or why there are none. */
function explainFamily(
  input: NoAddressInput,
  nic: NicCandidates,
  family: Family,
  names: readonly string[],
  byName: ReadonlyMap<string, SpiderIPPool>,
): { blocked: boolean; part: string } {
  const where = `${nic.nic} IPv${family}`;
  const found = names.flatMap((n) => {
    const pool = byName.get(n);
    return pool ? [pool] : [];
  });
  const missing = names.filter((n) => !byName.has(n)).map((n) => `pool ${n} not found`);
  const ctx: FilterContext = {
    family,
    nic: nic.nic,
    pod: input.pod,
    nodeName: input.nodeName,
    multus: input.multus,
    ...(input.nodeLabels ? { nodeLabels: input.nodeLabels } : {}),
    ...(input.namespace ? { namespaceLabels: input.namespace.metadata?.labels ?? {} } : {}),
    ...(nic.position !== undefined ? { position: nic.position } : {}),
  };
  const app = applicationOf(input);
  if (app) ctx.applicationLabels = applicationAffinityLabels(app);
  let usable: SpiderIPPool[];
  let skipped: string[];
  try {
    const filtered = filterPools(found, ctx);
    usable = filtered.usable;
    skipped = filtered.skipped.map(describeSkipped);
  } catch (error) {
    return { blocked: true, part: `${where}: ${errorText(error)}` };
  }
  const exhausted: string[] = [];
  const free: string[] = [];
  for (const pool of usable) {
    try {
      const usage = poolUsage(pool, input.reserved?.(family));
      if (usage.free === 0n)
        exhausted.push(`pool ${pool.metadata.name} exhausted (${usage.allocated} allocated)`);
      else free.push(`${pool.metadata.name} (${usage.free} free)`);
    } catch (error) {
      exhausted.push(`pool ${pool.metadata.name} unusable: ${errorText(error)}`);
    }
  }
  const reasons = [...missing, ...skipped, ...exhausted];
  if (free.length === 0)
    return { blocked: true, part: `${where}: ${reasons.join('; ') || 'no candidate pool'}` };
  const also = reasons.length ? ` (${reasons.join('; ')})` : '';
  return { blocked: false, part: `${where}: usable pools ${free.join(', ')}${also}` };
}

/** Explains, NIC by NIC and family by family, what an ADD for this pod would run into. */
export function explainNoAddress(input: NoAddressInput): NoAddressExplanation {
  const candidates = candidatesToExplain(input);
  if ('blocked' in candidates) return candidates;
  const byName = new Map(input.pools.map((p) => [p.metadata.name ?? '', p]));
  const parts: string[] = [];
  let blocked = false;
  for (const nic of candidates.nics) {
    for (const [family, names] of [
      [4, nic.ipv4],
      [6, nic.ipv6],
    ] as const) {
      if (!names) continue;
      const explained = explainFamily(input, nic, family, names, byName);
      blocked ||= explained.blocked;
      parts.push(explained.part);
    }
  }
  const origin = `pools from ${candidates.origin}`;
  if (blocked) return { blocked, message: `${origin}: ${parts.join('; ')}` };
  return {
    blocked,
    message: `${origin}: ${parts.join('; ')}; the CNI plugin has recorded no allocation yet (see the kubelet's events and the plugin's log on ${input.nodeName})`,
  };
}

function firstNamedInterface(pod: V1Pod): string | undefined {
  const text = pod.metadata?.annotations?.[annotations.ippools];
  if (!text) return undefined;
  try {
    const items = JSON.parse(text) as Array<{ interface?: unknown }>;
    const first = Array.isArray(items) ? items[0]?.interface : undefined;
    return typeof first === 'string' && first !== '' ? first : undefined;
  } catch {
    return undefined;
  }
}
