// What an application's pod template asks of SpiderSubnet auto-pools (Spiderpool's
// pkg/applicationcontroller/applicationinformers/utils.go GetSubnetAnnoConfig): the subnet per NIC and
// family (`ipam.spidernet.io/subnets` wins over `ipam.spidernet.io/subnet`; only the first name per
// family counts), the size (`ipam.spidernet.io/ippool-ip-number`, `N` fixed or `+N` replicas plus N)
// and whether the pool goes with the application (`ipam.spidernet.io/ippool-reclaim`, default true).

import { Type } from '@sinclair/typebox';
import { annotations, SubnetAnnotationSchema, SubnetsAnnotationSchema } from '../../api/index.js';
import type { Family } from '../address/ip.js';
import { parseJsonAnnotation } from '../candidates/annotations.js';
import { IpamError } from '../errors.js';

/** The NIC Spiderpool gives the single-NIC `ipam.spidernet.io/subnet` annotation. */
export const defaultInterface = 'eth0';

export interface AutoPoolSlot {
  nic: string;
  family: Family;
  /** The SpiderSubnet's name. */
  subnet: string;
}

export interface PoolSize {
  /** `+N`: replicas + N; otherwise exactly N. */
  flexible: boolean;
  n: number;
}

export interface AutoPoolRequest {
  /** One auto-pool per NIC and family. */
  slots: AutoPoolSlot[];
  size: PoolSize;
  reclaim: boolean;
}

const strictSubnet = Type.Object(SubnetAnnotationSchema.properties, { additionalProperties: false });
const strictSubnets = Type.Array(
  Type.Object(SubnetsAnnotationSchema.items.properties, { additionalProperties: false }),
);

/** True when the annotations name a SpiderSubnet (the first of Spiderpool's pool-selection rules). */
export function namesSubnet(a: Record<string, string> | undefined): boolean {
  return a?.[annotations.subnets] !== undefined || a?.[annotations.subnet] !== undefined;
}

/** The annotation that names the subnet, for messages. */
export function subnetAnnotationOf(a: Record<string, string> | undefined): string {
  return a?.[annotations.subnets] !== undefined ? annotations.subnets : annotations.subnet;
}

/** `N` or `+N`, N a non-negative integer. */
export function parsePoolSize(text: string): PoolSize {
  const m = /^(\+?)(\d{1,6})$/.exec(text.trim());
  if (!m) {
    throw new IpamError('InvalidInput', 'expected N or +N with N a non-negative integer', {
      field: annotations.ippoolIPNumber,
      value: text,
    });
  }
  return { flexible: m[1] === '+', n: Number(m[2]) };
}

function parseReclaim(text: string | undefined): boolean {
  if (text === undefined) return true;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new IpamError('InvalidInput', 'expected true or false', {
    field: annotations.ippoolReclaim,
    value: text,
  });
}

function firstName(list: string[] | undefined, field: string): string | undefined {
  const name = list?.[0];
  if (name === undefined) return undefined;
  if (name === '')
    throw new IpamError('InvalidInput', 'expected a SpiderSubnet name', { field, value: name });
  return name;
}

function slotsOf(nic: string, item: { ipv4?: string[]; ipv6?: string[] }, field: string): AutoPoolSlot[] {
  const out: AutoPoolSlot[] = [];
  const v4 = firstName(item.ipv4, `${field}.ipv4[0]`);
  const v6 = firstName(item.ipv6, `${field}.ipv6[0]`);
  if (v4) out.push({ nic, family: 4, subnet: v4 });
  if (v6) out.push({ nic, family: 6, subnet: v6 });
  return out;
}

/**
 * The auto-pool request of a pod template's annotations, or undefined when they name no subnet.
 * `defaultSize` applies without `ipam.spidernet.io/ippool-ip-number`.
 */
export function parseAutoPoolRequest(
  a: Record<string, string> | undefined,
  defaultSize: PoolSize,
): AutoPoolRequest | undefined {
  if (!a || !namesSubnet(a)) return undefined;
  let slots: AutoPoolSlot[];
  const many = a[annotations.subnets];
  if (many !== undefined) {
    const items = parseJsonAnnotation<{ interface: string; ipv4?: string[]; ipv6?: string[] }[]>(
      annotations.subnets,
      many,
      strictSubnets,
    );
    const seen = new Set<string>();
    slots = items.flatMap((item, i) => {
      const field = `${annotations.subnets}[${i}]`;
      if (seen.has(item.interface))
        throw new IpamError('InvalidInput', `interface ${item.interface} is listed twice`, {
          field: `${field}.interface`,
          value: item.interface,
        });
      seen.add(item.interface);
      return slotsOf(item.interface, item, field);
    });
  } else {
    const text = a[annotations.subnet] as string;
    const item = parseJsonAnnotation<{ ipv4?: string[]; ipv6?: string[] }>(
      annotations.subnet,
      text,
      strictSubnet,
    );
    slots = slotsOf(defaultInterface, item, annotations.subnet);
  }
  if (slots.length === 0) {
    throw new IpamError('InvalidInput', 'names no SpiderSubnet for any family', {
      field: subnetAnnotationOf(a),
      value: a[subnetAnnotationOf(a)],
    });
  }
  const sizeText = a[annotations.ippoolIPNumber];
  const size = sizeText === undefined ? defaultSize : parsePoolSize(sizeText);
  return { slots, size, reclaim: parseReclaim(a[annotations.ippoolReclaim]) };
}

/** How many addresses the pool must have for `replicas` replicas. */
export function desiredPoolSize(size: PoolSize, replicas: number): number {
  return size.flexible ? Math.max(0, replicas) + size.n : size.n;
}

/**
 * The size of a third-party controller's pool. Spiderpool cannot know such a controller's replicas, so
 * it needs `ipam.spidernet.io/ippool-ip-number` on the pod and counts the replicas as 0: `N` and `+N`
 * both mean N addresses (pkg/ipam/utils.go getAutoPoolIPNumber).
 */
export function fixedPoolSize(a: Record<string, string> | undefined, owner: string): PoolSize {
  const text = a?.[annotations.ippoolIPNumber];
  if (text === undefined) {
    throw new IpamError(
      'InvalidInput',
      `missing: ${owner} is a third-party controller, whose auto-pool size must be given on the pod (N addresses)`,
      { field: annotations.ippoolIPNumber },
    );
  }
  return { flexible: false, n: parsePoolSize(text).n };
}
