// CNI results. The plugin builds them in the newest shape (1.1.0) and prints them in the version
// the config asked for: 0.3.x and 0.4.0 carry `version` on every IP; 1.0.0 has no route attributes
// beyond dst and gw; an IPAM plugin's own result never lists interfaces.
import { type Static, Type } from '@sinclair/typebox';
import { CniError, ErrorCode } from './errors.js';
import { lazySchema, schemaProblems } from './validate.js';
import { type CniVersion, compareVersions } from './versions.js';

/** A result's schema, built only when CHECK reads one back (every other call only writes results). */
export const resultSchema = lazySchema(() => {
  const InterfaceSchema = Type.Object({
    name: Type.String(),
    mac: Type.Optional(Type.String()),
    sandbox: Type.Optional(Type.String()),
    mtu: Type.Optional(Type.Integer()),
    socketPath: Type.Optional(Type.String()),
    pciID: Type.Optional(Type.String()),
  });

  const IPConfigSchema = Type.Object({
    /** Only in 0.3.x and 0.4.0 results: "4" or "6". */
    version: Type.Optional(Type.Union([Type.Literal('4'), Type.Literal('6')])),
    address: Type.String(),
    gateway: Type.Optional(Type.String()),
    interface: Type.Optional(Type.Integer({ minimum: 0 })),
  });

  const RouteSchema = Type.Object({
    dst: Type.String(),
    gw: Type.Optional(Type.String()),
    mtu: Type.Optional(Type.Integer({ minimum: 0 })),
    advmss: Type.Optional(Type.Integer({ minimum: 0 })),
    priority: Type.Optional(Type.Integer({ minimum: 0 })),
    table: Type.Optional(Type.Integer({ minimum: 0 })),
    scope: Type.Optional(Type.Integer({ minimum: 0 })),
  });

  const DNSSchema = Type.Object({
    nameservers: Type.Optional(Type.Array(Type.String())),
    domain: Type.Optional(Type.String()),
    search: Type.Optional(Type.Array(Type.String())),
    options: Type.Optional(Type.Array(Type.String())),
  });

  return Type.Object({
    cniVersion: Type.Optional(Type.String()),
    interfaces: Type.Optional(Type.Array(InterfaceSchema)),
    ips: Type.Optional(Type.Array(IPConfigSchema)),
    routes: Type.Optional(Type.Array(RouteSchema)),
    dns: Type.Optional(DNSSchema),
  });
});

type ResultShape = Static<ReturnType<typeof resultSchema>>;
export type ResultInterface = NonNullable<ResultShape['interfaces']>[number];
export type ResultRoute = NonNullable<ResultShape['routes']>[number];
export type ResultDNS = NonNullable<ResultShape['dns']>;
export interface ResultIP {
  /** `<address>/<prefix length>`, e.g. 198.18.0.5/24. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`; set by main plugins, never by an IPAM plugin. */
  interface?: number;
}

/** A result in the version-independent (1.1.0) shape. */
export interface CniResult {
  interfaces?: ResultInterface[];
  ips: ResultIP[];
  routes?: ResultRoute[];
  dns?: ResultDNS;
}

/** Whether `prefix` is a prefix length (decimal, in range) for an address of `family`. */
function isPrefixLength(prefix: string, family: 4 | 6): boolean {
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** The IP family of `address` in CIDR form, or undefined when it is not one. */
export function cidrFamily(address: string): 4 | 6 | undefined {
  const slash = address.indexOf('/');
  if (slash < 0) return undefined;
  // Taken here, not imported: only CHECK's prevResult needs a full syntax check, and importing
  // node:net costs every process start about 2 ms of CPU (docs/cni.md, "What a follower's start costs").
  const { isIP } = process.getBuiltinModule('node:net');
  const family = isIP(address.slice(0, slash));
  if (family === 0 || !isPrefixLength(address.slice(slash + 1), family as 4 | 6)) return undefined;
  return family as 4 | 6;
}

/**
 * The family of an address in CIDR form that this plugin made itself (the leader's answer, from pool
 * records it parsed): IPv6 addresses, and only they, contain `:`. Only the prefix length is checked;
 * addresses from outside go through cidrFamily.
 */
function ownCidrFamily(address: string): 4 | 6 | undefined {
  const slash = address.indexOf('/');
  if (slash < 0) return undefined;
  const family = address.includes(':') ? 6 : 4;
  return isPrefixLength(address.slice(slash + 1), family) ? family : undefined;
}

const routeAttributes = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const;

/**
 * The result as the spec version `version` spells it, ready for JSON.stringify. This is an IPAM
 * plugin's result, so it never lists interfaces nor points IPs at one: the main plugin fills those in.
 */
export function formatResult(result: CniResult, version: CniVersion): Record<string, unknown> {
  const legacy = compareVersions(version, '1.0.0') < 0;
  const withAttributes = compareVersions(version, '1.1.0') >= 0;
  const ips = result.ips.map((ip) => {
    const family = ownCidrFamily(ip.address);
    if (family === undefined)
      throw new Error(`result: ${JSON.stringify(ip.address)} is not an address with a prefix`);
    return {
      ...(legacy ? { version: String(family) } : {}),
      address: ip.address,
      ...(ip.gateway ? { gateway: ip.gateway } : {}),
    };
  });
  const routes = (result.routes ?? []).map((route) => {
    const out: ResultRoute = { dst: route.dst, ...(route.gw ? { gw: route.gw } : {}) };
    if (withAttributes)
      for (const key of routeAttributes) if (route[key] !== undefined) out[key] = route[key];
    return out;
  });
  return {
    cniVersion: version,
    ips,
    ...(routes.length ? { routes } : {}),
    dns: result.dns ?? {},
  };
}

/**
 * A result read back from JSON (CHECK's prevResult) in any supported version. Errors name the field
 * under `field` (e.g. `prevResult.ips[0].address`).
 */
export function parseResult(value: unknown, field: string): CniResult {
  const problems = schemaProblems(resultSchema(), value, field);
  if (problems) throw new CniError(ErrorCode.decodeFailure, problems);
  const raw = value as ResultShape;
  const ips = (raw.ips ?? []).map((ip, i) => {
    const family = cidrFamily(ip.address);
    if (family === undefined) {
      throw new CniError(
        ErrorCode.decodeFailure,
        `${field}.ips[${i}].address: ${JSON.stringify(ip.address)} is not an address with a prefix length`,
      );
    }
    if (ip.version !== undefined && ip.version !== String(family)) {
      throw new CniError(
        ErrorCode.decodeFailure,
        `${field}.ips[${i}].version: "${ip.version}" does not match the IPv${family} address ${ip.address}`,
      );
    }
    const { version: _version, ...rest } = ip;
    return rest;
  });
  return {
    ...(raw.interfaces ? { interfaces: raw.interfaces } : {}),
    ips,
    ...(raw.routes ? { routes: raw.routes } : {}),
    ...(raw.dns ? { dns: raw.dns } : {}),
  };
}
