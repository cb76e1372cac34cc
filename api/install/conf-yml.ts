// The contract of Spiderpool's conf.yml (ConfigMap `spiderpool-conf`, key `conf.yml`): the one schema
// the chart writes against and both executables read with (the operator at start, the node installer
// when it turns the file into the plugin's config.json), and the defaults of every key that has one.
// Spiderpool's own keys are accepted so its ConfigMaps apply unchanged, including the ones this
// implementation does not use; any other key is refused as a likely typo, by every reader alike.
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { lazySchema } from '../schema/lazy.js';

const closed = { additionalProperties: false } as const;
const Bool = Type.Boolean();

/** The switches both executables read, in the order the installer writes them. */
export const pluginSwitches = [
  'enableIPv4',
  'enableIPv6',
  'enableStatefulSet',
  'enableKubevirtStaticIP',
  'enableIPConflictDetection',
] as const;

export type PluginSwitch = (typeof pluginSwitches)[number];

/**
 * The most records one SpiderIPPool may hold, Spiderpool's SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS (an
 * environment variable of its agent there, a conf.yml key here). All of a pool's records live in one
 * object, written whole on every allocation, and etcd refuses requests over 1.5 MiB: docs/cni.md
 * ("How large a pool may be") has the sizes and write times this cap trades.
 */
export const maxAllocatedIPsKey = 'ippoolMaxAllocatedIPs';

/**
 * IPAMClaim support (this implementation, docs/ipamclaim.md): the plugin keys an attachment whose
 * network selection element has `ipam-claim-reference` to that IPAMClaim, the operator releases a
 * deleted claim's addresses. Off by default, and then absent from a synthesized conf.yml.
 */
export const ipamClaimKey = 'enableIPAMClaim';

/**
 * SpiderSubnet auto-pools: on only when both are true (Spiderpool's chart: `ipam.spiderSubnet.enable`
 * and `ipam.spiderSubnet.autoPool.enable`). The plugin reads them too: it refuses a pod that names a
 * subnet while they are off.
 */
export const autoPoolSwitches = ['enableSpiderSubnet', 'enableAutoPoolForApplication'] as const;

/**
 * The node-local leader's timings (this implementation, docs/cni.md "A leader that lingers"): after a
 * plugin process has led its node's batches it starts a successor that keeps the API connection and
 * the pools it wrote warm for the next calls, and hands over after this long without a request
 * (0: no successor; every call that finds no leader leads, as before), and after this long of leading
 * in all (so the node configuration and the kubeconfig are read again).
 */
export const leaderLingerKey = 'pluginLeaderLingerMs';
export const leaderMaxLifeKey = 'pluginLeaderMaxLifeMs';

/** Their defaults; absent keys, so a default conf.yml stays Spiderpool's. */
export const leaderTimingDefaults = { [leaderLingerKey]: 3_000, [leaderMaxLifeKey]: 30_000 } as const;

/** Every conf.yml key the plugin reads (the installer copies these into the node configuration). */
export const pluginKeys = [
  ...pluginSwitches,
  ...autoPoolSwitches,
  maxAllocatedIPsKey,
  ipamClaimKey,
  leaderLingerKey,
  leaderMaxLifeKey,
] as const;

/** Garbage collection (this implementation): the switch and the period of the operator's full scan. */
export const gcSchema = lazySchema(() =>
  Type.Object(
    {
      enabled: Bool,
      /** Seconds between full scans (Spiderpool: ipam.gc.gcAll.intervalInSecond, 600). */
      intervalSeconds: Type.Integer({ minimum: 1, maximum: 86400 }),
    },
    closed,
  ),
);

/** The part of conf.yml that the chart's `ipam` values write, every key present. */
export const chartIpamSchema = lazySchema(() =>
  Type.Object(
    {
      enableIPv4: Bool,
      enableIPv6: Bool,
      enableStatefulSet: Bool,
      enableKubevirtStaticIP: Bool,
      enableIPConflictDetection: Bool,
      /** SpiderSubnet: pools take their addresses from it (V10), and with the next key, auto-pools. */
      enableSpiderSubnet: Bool,
      enableAutoPoolForApplication: Bool,
      /** The auto-pool size `+N` of a pod template without ipam.spidernet.io/ippool-ip-number. */
      clusterSubnetDefaultFlexibleIPNumber: Type.Integer({ minimum: 0 }),
      [maxAllocatedIPsKey]: Type.Integer({ minimum: 1 }),
      gc: gcSchema(),
      [ipamClaimKey]: Type.Optional(Bool),
      [leaderLingerKey]: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
      [leaderMaxLifeKey]: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 3_600_000 })),
    },
    closed,
  ),
);

/** All of conf.yml: the chart's keys, optional, and Spiderpool's own that this implementation accepts. */
export const confYmlSchema = lazySchema(() =>
  Type.Object(
    {
      ...Type.Partial(Type.Omit(chartIpamSchema(), ['gc'])).properties,
      gc: Type.Optional(Type.Partial(gcSchema(), closed)),
      enableGatewayDetection: Type.Optional(Bool),
      enableCleanOutdatedEndpoint: Type.Optional(Bool),
      enableValidatingResourcesDeletedWebhook: Type.Optional(Bool),
      tuneSysctlConfig: Type.Optional(Bool),
      ipamUnixSocketPath: Type.Optional(Type.String()),
      iaasNetworkProvider: Type.Optional(Type.String()),
      /** Multus's cluster default network (`[namespace/]name`), eth0's network for pods that name none. */
      clusterNetwork: Type.Optional(Type.String()),
      podResourceInject: Type.Optional(Type.Unknown()),
      agent: Type.Optional(Type.Unknown()),
      /** A user-provided webhook TLS Secret (this implementation; the flag --webhook-tls-secret wins). */
      webhook: Type.Optional(
        Type.Object({ tlsSecretName: Type.Optional(Type.String({ minLength: 1 })) }, closed),
      ),
    },
    closed,
  ),
);

export type ConfYml = Static<ReturnType<typeof confYmlSchema>>;
export type ChartIpam = Static<ReturnType<typeof chartIpamSchema>>;

/**
 * Spiderpool's defaults: its chart's (values.yaml) for the switches, its agent's for the pool cap, and
 * its 600 s full-scan period.
 */
export const confYmlDefaults = {
  enableIPv4: true,
  enableIPv6: true,
  enableStatefulSet: true,
  enableKubevirtStaticIP: true,
  enableIPConflictDetection: false,
  [maxAllocatedIPsKey]: 5000,
  enableValidatingResourcesDeletedWebhook: false,
  enableSpiderSubnet: false,
  enableAutoPoolForApplication: true,
  clusterSubnetDefaultFlexibleIPNumber: 1,
  gc: { enabled: true, intervalSeconds: 600 },
} as const satisfies ConfYml & ChartIpam;

export type PluginKey = (typeof pluginKeys)[number];

/** The conf.yml keys the plugin reads, typed as the chart writes them. */
export type PluginSettings = Pick<ChartIpam, PluginKey>;

/** The plugin's keys that `from` sets, the others left out (what the installer copies, what the plugin overlays). */
export function pluginSettings(from: Partial<PluginSettings>): Partial<PluginSettings> {
  const out: Record<string, unknown> = {};
  for (const key of pluginKeys) if (from[key] !== undefined) out[key] = from[key];
  return out as Partial<PluginSettings>;
}

/** The plugin's keys at conf.yml's defaults. */
export const pluginDefaults = pluginSettings(confYmlDefaults) as PluginSettings;

function expected(schema: TSchema, message: string): string {
  if (schema.type === 'boolean') return 'expected true or false';
  if (schema.type === 'string') return 'expected a string';
  return message.toLowerCase();
}

/** Checks a parsed conf.yml document; errors start with `source` and name the key. */
export function checkConfYml(doc: unknown, source: string): ConfYml {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error(`${source}: expected a mapping of settings, got ${JSON.stringify(doc)}`);
  const first = Value.Errors(confYmlSchema(), doc).First();
  if (first) {
    const key = first.path.replace(/^\//, '').replaceAll('/', '.');
    if (first.type === ValueErrorType.ObjectAdditionalProperties)
      throw new Error(`${source}: unknown key '${key}'`);
    throw new Error(
      `${source}: ${key}: ${expected(first.schema, first.message)}, got ${JSON.stringify(first.value)}`,
    );
  }
  return doc as ConfYml;
}
