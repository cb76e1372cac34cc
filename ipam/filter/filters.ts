// Whether a candidate pool may serve a NIC, with the reason when it may not, in Spiderpool's order
// of checks: terminating, disabled, family, node (nodeName, else nodeAffinity), namespace
// (namespaceName, else namespaceAffinity), podAffinity, multusName. Exhaustion is not a filter: an
// exhausted pool fails at allocation and the next one is tried.
import type { V1Pod } from '@kubernetes/client-node';
import { labels, type SpiderIPPool } from '../../api/index.js';
import type { Family } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { type MultusSettings, type NicAttachment, networkOfNic } from '../multus/networks.js';
import { poolFamily } from '../pool/space.js';
import { labelSelectorMatches } from './label-selector.js';

export interface FilterContext {
  family: Family;
  /** The pod interface the pool would serve. */
  nic: string;
  /** Position of the NIC in an unnamed `ipam.spidernet.io/ippools` (0 is the default network). */
  position?: number;
  /** The pod (labels, namespace, annotations for Multus); its node is `nodeName`. */
  pod: V1Pod;
  nodeName: string;
  /** Labels of the pod's Node; needed when a candidate has nodeAffinity and no nodeName (see filterInputsNeeded). */
  nodeLabels?: Record<string, string>;
  /** Labels of the pod's Namespace; needed when a candidate has namespaceAffinity and no namespaceName. */
  namespaceLabels?: Record<string, string>;
  /**
   * The app-* values of the pod's application (ipam/autopool/application.ts): an auto-pool's
   * podAffinity is matched against them instead of the pod's labels, as in Spiderpool.
   */
  applicationLabels?: Record<string, string>;
  multus: MultusSettings;
}

/** Which optional reads the filters of these pools need, so a caller reads a Node or Namespace only then. */
export function filterInputsNeeded(pools: readonly SpiderIPPool[]): {
  nodeLabels: boolean;
  namespaceLabels: boolean;
} {
  return {
    nodeLabels: pools.some((p) => !p.spec.nodeName?.length && p.spec.nodeAffinity !== undefined),
    namespaceLabels: pools.some(
      (p) => !p.spec.namespaceName?.length && p.spec.namespaceAffinity !== undefined,
    ),
  };
}

function selectorVerdict(
  pool: SpiderIPPool,
  key: 'nodeAffinity' | 'namespaceAffinity' | 'podAffinity',
  labels: Record<string, string> | undefined,
  whose: string,
): string | undefined {
  const selector = pool.spec[key];
  if (selector === undefined) return undefined;
  try {
    return labelSelectorMatches(selector, labels, `spec.${key}`)
      ? undefined
      : `${key} does not match the labels of ${whose}`;
  } catch (error) {
    if (error instanceof IpamError) return `invalid ${error.message}`;
    throw error;
  }
}

/** Why `pool` cannot serve this NIC, or undefined when it can. */
export function poolSkipReason(pool: SpiderIPPool, ctx: FilterContext): string | undefined {
  const spec = pool.spec;
  if (pool.metadata.deletionTimestamp) return 'terminating';
  if (spec.disable) return 'disabled';
  let family: Family;
  try {
    family = poolFamily(pool);
  } catch (error) {
    if (error instanceof IpamError) return `invalid spec (${error.detail})`;
    throw error;
  }
  if (family !== ctx.family) return `an IPv${family} pool, IPv${ctx.family} wanted`;

  if (spec.nodeName?.length) {
    if (!spec.nodeName.includes(ctx.nodeName)) return `nodeName does not include ${ctx.nodeName}`;
  } else if (spec.nodeAffinity) {
    if (!ctx.nodeLabels)
      throw new IpamError('InvalidInput', 'node labels are needed for nodeAffinity', { field: 'nodeLabels' });
    const why = selectorVerdict(pool, 'nodeAffinity', ctx.nodeLabels, `node ${ctx.nodeName}`);
    if (why) return why;
  }

  const namespace = ctx.pod.metadata?.namespace ?? '';
  if (spec.namespaceName?.length) {
    if (!spec.namespaceName.includes(namespace)) return `namespaceName does not include ${namespace}`;
  } else if (spec.namespaceAffinity) {
    if (!ctx.namespaceLabels) {
      throw new IpamError('InvalidInput', 'namespace labels are needed for namespaceAffinity', {
        field: 'namespaceLabels',
      });
    }
    const why = selectorVerdict(pool, 'namespaceAffinity', ctx.namespaceLabels, `namespace ${namespace}`);
    if (why) return why;
  }

  const auto = pool.metadata.labels?.[labels.ownerApplicationName] !== undefined;
  const podWhy = auto
    ? selectorVerdict(
        pool,
        'podAffinity',
        ctx.applicationLabels,
        `the application of pod ${ctx.pod.metadata?.name ?? ''}`,
      )
    : selectorVerdict(pool, 'podAffinity', ctx.pod.metadata?.labels, `pod ${ctx.pod.metadata?.name ?? ''}`);
  if (podWhy) return podWhy;

  if (spec.multusName?.length) {
    let found: NicAttachment;
    try {
      found = networkOfNic(ctx.pod, ctx.nic, ctx.multus, ctx.position);
    } catch (error) {
      if (error instanceof IpamError) return `multusName cannot be checked: ${error.message}`;
      throw error;
    }
    if (!found.network) return `multusName cannot be checked: ${found.reason}`;
    const network = `${found.network.namespace}/${found.network.name}`;
    // A multusName without a namespace is in Spiderpool's (Multus's) namespace.
    const allowed = spec.multusName.map((n) => (n.includes('/') ? n : `${ctx.multus.multusNamespace}/${n}`));
    if (!allowed.includes(network))
      return `multusName does not include ${network} (the network of ${ctx.nic})`;
  }
  return undefined;
}

export interface SkippedPool {
  pool: string;
  reason: string;
}

/** Splits pools into usable ones (input order kept) and skipped ones with their reasons. */
export function filterPools(
  pools: readonly SpiderIPPool[],
  ctx: FilterContext,
): { usable: SpiderIPPool[]; skipped: SkippedPool[] } {
  const usable: SpiderIPPool[] = [];
  const skipped: SkippedPool[] = [];
  for (const pool of pools) {
    const reason = poolSkipReason(pool, ctx);
    if (reason === undefined) usable.push(pool);
    else skipped.push({ pool: pool.metadata.name ?? '', reason });
  }
  return { usable, skipped };
}

/** `pool vlan40-v4 skipped: nodeName does not include node-2`, for Events and error messages. */
export function describeSkipped(skipped: SkippedPool): string {
  return `pool ${skipped.pool} skipped: ${skipped.reason}`;
}
