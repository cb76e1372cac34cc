// Which rules run for which resource and operation: the webhook paths /mutate/<plural> and
// /validate/<plural> of the spiderpool.spidernet.io resources. The rules themselves are pure
// (ipam/validation, rules.ts); this file reads the other pools and subnets they compare with and
// turns their answers into AdmissionResponses.
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  kinds,
  type SpiderCoordinator,
  type SpiderIPPool,
  type SpiderMultusConfig,
  type SpiderReservedIP,
  type SpiderSubnet,
  labels as spiderLabels,
} from '../../api/index.js';
import { poolFamily } from '../../ipam/pool/space.js';
import { decodeRecords } from '../../ipam/records/codec.js';
import {
  type Defaults,
  poolDefaults,
  reservedIPDefaults,
  subnetObjectDefaults,
} from '../../ipam/validation/defaults.js';
import { describeFieldError, type FieldError } from '../../ipam/validation/field-error.js';
import { validatePool, validatePoolUpdate } from '../../ipam/validation/pool.js';
import { validateReservedIP } from '../../ipam/validation/reserved-ip.js';
import { validateSubnet } from '../../ipam/validation/subnet.js';
import {
  coordinatorDefaults,
  type ExistingNad,
  multusConfigDefaults,
  validateMultusConfig,
} from '../../multus/admission.js';
import { nadName } from '../../multus/render.js';
import type { IpamSettings } from '../config/index.js';
import {
  type AdmissionRequest,
  type AdmissionResponse,
  allow,
  type Denial,
  deny,
  type PatchOp,
} from './admission.js';
import { addFinalizerPatch, immutableSpecFields, terminatingObject } from './rules.js';

export type Review = (req: AdmissionRequest) => AdmissionResponse | Promise<AdmissionResponse>;

/** What the rules compare a pool or subnet with, read fresh for every review. */
export interface ReviewContext {
  ipam: Pick<
    IpamSettings,
    'enableIPv4' | 'enableIPv6' | 'enableSpiderSubnet' | 'enableValidatingResourcesDeletedWebhook'
  >;
  listPools(): Promise<SpiderIPPool[]>;
  listSubnets(): Promise<SpiderSubnet[]>;
  /** The NetworkAttachmentDefinition a SpiderMultusConfig would own, if it exists (undefined: none). */
  getNad?(namespace: string, name: string): Promise<ExistingNad | undefined>;
}

export function denialOf(e: FieldError): Denial {
  return { field: e.field, code: e.type === 'Forbidden' ? 403 : 422, message: describeFieldError(e) };
}

const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** The JSON patch that applies `defaults` to `object`. */
export function defaultsPatch(object: KubernetesObject, defaults: Defaults): PatchOp[] {
  const ops: PatchOp[] = [];
  if (defaults.ipVersion !== undefined)
    ops.push({ op: 'add', path: '/spec/ipVersion', value: defaults.ipVersion });
  if (defaults.ips) ops.push({ op: 'add', path: '/spec/ips', value: defaults.ips });
  if (defaults.excludeIPs) ops.push({ op: 'add', path: '/spec/excludeIPs', value: defaults.excludeIPs });
  const labels = Object.entries(defaults.labels ?? {});
  if (labels.length > 0) {
    if (!object.metadata?.labels) ops.push({ op: 'add', path: '/metadata/labels', value: defaults.labels });
    else
      for (const [key, value] of labels)
        ops.push({ op: 'add', path: `/metadata/labels/${escapePointer(key)}`, value });
  }
  return ops;
}

const specOf = (o: KubernetesObject | null | undefined) => (o as { spec?: unknown } | null | undefined)?.spec;

/** Mutation of a live object on CREATE and UPDATE by the patch `ops` makes of it. */
function mutateWith(ops: (o: KubernetesObject) => PatchOp[]): Review {
  return (req) => {
    const object = req.object;
    if (
      (req.operation !== 'CREATE' && req.operation !== 'UPDATE') ||
      !object ||
      object.metadata?.deletionTimestamp
    )
      return allow(req.uid);
    return allow(req.uid, ops(object));
  };
}

function mutate(defaults: (o: KubernetesObject) => Defaults, finalizer: boolean): Review {
  return mutateWith((object) => [
    ...(finalizer ? addFinalizerPatch(object) : []),
    ...defaultsPatch(object, defaults(object)),
  ]);
}

function refuse(req: AdmissionRequest, e: FieldError | Denial | undefined): AdmissionResponse {
  if (!e) return allow(req.uid);
  return deny(req.uid, 'type' in e ? denialOf(e) : e);
}

/** UPDATE rules every kind shares; undefined when the spec rules decide. */
function updateGate(
  kind: string,
  req: AdmissionRequest,
  immutable: string[],
): Denial | 'unchanged' | undefined {
  const object = req.object as KubernetesObject;
  const old = req.oldObject as KubernetesObject;
  const denial = terminatingObject(kind, object) ?? immutableSpecFields(old, object, immutable);
  if (denial) return denial;
  // Metadata-only updates (finalizers, labels) are not held to rules the spec may predate.
  return JSON.stringify(specOf(old)) === JSON.stringify(specOf(object)) ? 'unchanged' : undefined;
}

function allocatedCount(pool: SpiderIPPool): number {
  try {
    return decodeRecords(pool.metadata.name ?? '', pool.status?.allocatedIPs, poolFamily(pool)).length;
  } catch {
    return pool.status?.allocatedIPCount ?? 0;
  }
}

interface KindRules<T> {
  kind: string;
  immutable: string[];
  /** DELETE: why it must not happen now, if ever (deletions are allowed otherwise). */
  onDelete?: (old: T) => Promise<Denial | undefined>;
  /** CREATE and UPDATE (after the shared UPDATE gate): the address rules. */
  check: (object: T, req: AdmissionRequest) => Promise<FieldError | undefined> | FieldError | undefined;
}

function validator<T>(rules: KindRules<T>): Review {
  return async (req) => {
    if (req.operation === 'DELETE') {
      const old = req.oldObject as T | undefined;
      return refuse(
        req,
        old !== undefined && old !== null && rules.onDelete ? await rules.onDelete(old) : undefined,
      );
    }
    const object = req.object as T | undefined;
    if (!object || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return allow(req.uid);
    if (req.operation === 'UPDATE') {
      const gate = updateGate(rules.kind, req, rules.immutable);
      if (gate === 'unchanged') return allow(req.uid);
      if (gate) return refuse(req, gate);
    }
    return refuse(req, await rules.check(object, req));
  };
}

/** With enableValidatingResourcesDeletedWebhook (off by default, as in Spiderpool) a DELETE can be refused. */
function deleteGuard<T>(
  ctx: ReviewContext,
  why: (old: T) => Promise<string | undefined> | string | undefined,
) {
  return async (old: T): Promise<Denial | undefined> => {
    if (!ctx.ipam.enableValidatingResourcesDeletedWebhook) return undefined;
    const message = await why(old);
    return message ? { field: 'metadata.name', code: 403, message: `Forbidden: ${message}` } : undefined;
  };
}

function poolRules(ctx: ReviewContext): KindRules<SpiderIPPool> {
  return {
    kind: kinds.ippool.kind,
    immutable: ['subnet', 'ipVersion'],
    onDelete: deleteGuard<SpiderIPPool>(ctx, (old) => {
      const n = allocatedCount(old);
      return n > 0
        ? `SpiderIPPool ${old.metadata.name} still has ${n} allocated addresses (enableValidatingResourcesDeletedWebhook is on)`
        : undefined;
    }),
    check: async (pool, req) => {
      const [pools, subnets] = await Promise.all([ctx.listPools(), ctx.listSubnets()]);
      const rules = { ...ctx.ipam, pools, subnets };
      return req.operation === 'UPDATE'
        ? validatePoolUpdate(req.oldObject as SpiderIPPool, pool, rules)
        : validatePool(pool, rules);
    },
  };
}

function subnetRules(ctx: ReviewContext): KindRules<SpiderSubnet> {
  return {
    kind: kinds.subnet.kind,
    immutable: ['subnet', 'ipVersion'],
    onDelete: deleteGuard<SpiderSubnet>(ctx, async (old) => {
      const owned = (await ctx.listPools()).filter(
        (p) => p.metadata.labels?.[spiderLabels.ownerSpiderSubnet] === old.metadata.name,
      );
      return owned.length > 0
        ? `SpiderSubnet ${old.metadata.name} still owns pools ${owned.map((p) => p.metadata.name).join(', ')}`
        : undefined;
    }),
    check: async (subnet) => {
      const [pools, subnets] = await Promise.all([ctx.listPools(), ctx.listSubnets()]);
      return validateSubnet(subnet, { ...ctx.ipam, pools, subnets });
    },
  };
}

function reservedIPRules(ctx: ReviewContext): KindRules<SpiderReservedIP> {
  return {
    kind: kinds.reservedip.kind,
    immutable: ['ipVersion'],
    check: (reserved) => validateReservedIP(reserved, ctx.ipam),
  };
}

/**
 * SpiderMultusConfig on CREATE and UPDATE. Unlike the address kinds, a metadata-only update is
 * checked too: the NAD-naming annotations live in metadata.
 */
function multusConfigValidator(ctx: ReviewContext): Review {
  return async (req) => {
    const smc = req.object as SpiderMultusConfig | undefined;
    if (!smc || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return allow(req.uid);
    if (req.operation === 'UPDATE' && smc.metadata.deletionTimestamp) return allow(req.uid);
    const old = req.operation === 'UPDATE' ? (req.oldObject as SpiderMultusConfig) : undefined;
    const existing = await ctx.getNad?.(smc.metadata.namespace ?? req.namespace ?? 'default', nadName(smc));
    return refuse(req, validateMultusConfig(smc, old, existing));
  };
}

/** Route table: path → review function. */
export function makeReviews(ctx: ReviewContext): Record<string, Review> {
  return {
    [`/mutate/${kinds.ippool.plural}`]: mutate((o) => poolDefaults(o), true),
    [`/validate/${kinds.ippool.plural}`]: validator(poolRules(ctx)),
    [`/mutate/${kinds.subnet.plural}`]: mutate((o) => subnetObjectDefaults(o), true),
    [`/validate/${kinds.subnet.plural}`]: validator(subnetRules(ctx)),
    [`/mutate/${kinds.reservedip.plural}`]: mutate(
      (o) => reservedIPDefaults(o as { spec?: { ipVersion?: unknown; ips?: unknown } }),
      false,
    ),
    [`/validate/${kinds.reservedip.plural}`]: validator(reservedIPRules(ctx)),
    [`/mutate/${kinds.multusConfig.plural}`]: mutateWith((o) =>
      multusConfigDefaults(o as SpiderMultusConfig),
    ),
    [`/validate/${kinds.multusConfig.plural}`]: multusConfigValidator(ctx),
    // The coordinator's field rules are all CEL; its webhook only fills podCIDRType, as Spiderpool's installer does.
    [`/mutate/${kinds.coordinator.plural}`]: mutateWith((o) =>
      coordinatorDefaults((o as SpiderCoordinator).spec),
    ),
  };
}
