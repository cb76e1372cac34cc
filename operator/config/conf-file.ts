// Spiderpool's conf.yml (ConfigMap `spiderpool-conf`, key `conf.yml`), as the operator reads it.
// Spiderpool's own keys are accepted so its ConfigMaps apply unchanged, including the ones this
// implementation does not use; any other key is refused as a likely typo.
import { type Static, Type } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { parse } from 'yaml';

const Bool = Type.Boolean();

export const ConfFileSchema = Type.Object(
  {
    enableIPv4: Type.Optional(Bool),
    enableIPv6: Type.Optional(Bool),
    enableStatefulSet: Type.Optional(Bool),
    enableKubevirtStaticIP: Type.Optional(Bool),
    enableIPConflictDetection: Type.Optional(Bool),
    enableGatewayDetection: Type.Optional(Bool),
    enableCleanOutdatedEndpoint: Type.Optional(Bool),
    enableSpiderSubnet: Type.Optional(Bool),
    enableAutoPoolForApplication: Type.Optional(Bool),
    enableValidatingResourcesDeletedWebhook: Type.Optional(Bool),
    tuneSysctlConfig: Type.Optional(Bool),
    clusterSubnetDefaultFlexibleIPNumber: Type.Optional(Type.Integer({ minimum: 0 })),
    ipamUnixSocketPath: Type.Optional(Type.String()),
    iaasNetworkProvider: Type.Optional(Type.String()),
    clusterNetwork: Type.Optional(Type.String()),
    podResourceInject: Type.Optional(Type.Unknown()),
    agent: Type.Optional(Type.Unknown()),
    /** A user-provided webhook TLS Secret (this implementation; the flag --webhook-tls-secret wins). */
    webhook: Type.Optional(
      Type.Object(
        { tlsSecretName: Type.Optional(Type.String({ minLength: 1 })) },
        { additionalProperties: false },
      ),
    ),
    /** Garbage collection (this implementation): the switch and the period of the full scan. */
    gc: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Bool),
          intervalSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type ConfFile = Static<typeof ConfFileSchema>;

export interface IpamSettings {
  enableIPv4: boolean;
  enableIPv6: boolean;
  enableStatefulSet: boolean;
  enableKubevirtStaticIP: boolean;
  enableIPConflictDetection: boolean;
  enableValidatingResourcesDeletedWebhook: boolean;
  /** Pools must take their addresses from the SpiderSubnet of their CIDR (Spiderpool's V10). */
  enableSpiderSubnet: boolean;
  gcEnabled: boolean;
  gcIntervalSeconds: number;
  /** Name of a user-provided webhook TLS Secret, when conf.yml names one. */
  webhookTlsSecret?: string;
  /** Multus's cluster default network (`clusterNetwork`), eth0's network for pods that name none. */
  clusterNetwork?: string;
}

/** Spiderpool's chart defaults (its values.yaml), and its 600 s full-scan period. */
export const defaultIpamSettings: IpamSettings = {
  enableIPv4: true,
  enableIPv6: true,
  enableStatefulSet: true,
  enableKubevirtStaticIP: true,
  enableIPConflictDetection: false,
  enableValidatingResourcesDeletedWebhook: false,
  enableSpiderSubnet: false,
  gcEnabled: true,
  gcIntervalSeconds: 600,
};

/** Parses and validates conf.yml text; `source` names the file in errors. */
export function parseConfFile(text: string, source: string): IpamSettings {
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw new Error(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error(`${source}: expected a mapping of settings, got ${JSON.stringify(doc)}`);
  const first = Value.Errors(ConfFileSchema, doc).First();
  if (first) {
    const key = first.path.replace(/^\//, '').replaceAll('/', '.');
    if (first.type === ValueErrorType.ObjectAdditionalProperties)
      throw new Error(`${source}: unknown key '${key}'`);
    throw new Error(`${source}: ${key}: ${first.message.toLowerCase()}, got ${JSON.stringify(first.value)}`);
  }
  const conf = doc as ConfFile;
  return {
    enableIPv4: conf.enableIPv4 ?? defaultIpamSettings.enableIPv4,
    enableIPv6: conf.enableIPv6 ?? defaultIpamSettings.enableIPv6,
    enableStatefulSet: conf.enableStatefulSet ?? defaultIpamSettings.enableStatefulSet,
    enableKubevirtStaticIP: conf.enableKubevirtStaticIP ?? defaultIpamSettings.enableKubevirtStaticIP,
    enableIPConflictDetection:
      conf.enableIPConflictDetection ?? defaultIpamSettings.enableIPConflictDetection,
    enableValidatingResourcesDeletedWebhook:
      conf.enableValidatingResourcesDeletedWebhook ??
      defaultIpamSettings.enableValidatingResourcesDeletedWebhook,
    enableSpiderSubnet: conf.enableSpiderSubnet ?? defaultIpamSettings.enableSpiderSubnet,
    gcEnabled: conf.gc?.enabled ?? defaultIpamSettings.gcEnabled,
    gcIntervalSeconds: conf.gc?.intervalSeconds ?? defaultIpamSettings.gcIntervalSeconds,
    ...(conf.webhook?.tlsSecretName ? { webhookTlsSecret: conf.webhook.tlsSecretName } : {}),
    ...(conf.clusterNetwork ? { clusterNetwork: conf.clusterNetwork } : {}),
  };
}
