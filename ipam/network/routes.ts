// Routes: the pod's `ipam.spidernet.io/routes` annotation and a pool's `spec.routes`, parsed and
// normalized (destination in canonical network form, next hop in canonical text).
import type { V1Pod } from '@kubernetes/client-node';
import { annotations, type Route, RoutesAnnotationSchema } from '../../api/index.js';
import { formatCIDR, parseCIDR } from '../address/cidr.js';
import { type Family, formatIP, parseIP } from '../address/ip.js';
import { parseJsonAnnotation } from '../candidates/annotations.js';

export interface ParsedRoute {
  family: Family;
  /** Canonical destination network, e.g. `10.0.0.0/16`. */
  dst: string;
  /** Canonical next hop. */
  gw: string;
  gwValue: bigint;
}

/** Parses one route; both ends must be of one family (`family` when given). Errors name `field`. */
export function parseRoute(route: Route, field: string, family?: Family): ParsedRoute {
  const dst = parseCIDR(route.dst, family, `${field}.dst`);
  const gw = parseIP(route.gw, dst.family, `${field}.gw`);
  return { family: dst.family, dst: formatCIDR(dst), gw: formatIP(gw), gwValue: gw.value };
}

/** The pod's `ipam.spidernet.io/routes`, or [] when absent. */
export function podRoutes(pod: V1Pod): ParsedRoute[] {
  const text = pod.metadata?.annotations?.[annotations.routes];
  if (text === undefined) return [];
  const routes = parseJsonAnnotation<Route[]>(annotations.routes, text, RoutesAnnotationSchema);
  return routes.map((r, i) => parseRoute(r, `${annotations.routes}[${i}]`));
}
