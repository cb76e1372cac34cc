// The installation's values: one TypeBox schema gives both the type the charts read and the check
// that turns an unknown key or a bad value into an error naming the key. Key names follow
// Spiderpool's Helm chart where it has one (ipam.*, clusterDefaultPool.*).
import { type Static, Type } from '@sinclair/typebox';
import { chartIpamSchema, confYmlDefaults, pluginDefaults } from '../../api/install/conf-yml.js';
import { installDefaults, nodePaths } from '../../api/install/names.js';

const closed = { additionalProperties: false } as const;
const dnsLabel = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const dnsSubdomain = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const absolutePath = '^/';
/** CPU as millicores (100m) or cores (0.5); memory in binary units (128Mi). */
const cpuAmount = '^([0-9]+m|[0-9]+(\\.[0-9]+)?)$';
const memoryAmount = '^[0-9]+(Ki|Mi|Gi|Ti)$';

const ResourceAmountsSchema = Type.Object(
  { cpu: Type.String({ pattern: cpuAmount }), memory: Type.String({ pattern: memoryAmount }) },
  closed,
);
const ResourcesSchema = Type.Object(
  { requests: ResourceAmountsSchema, limits: ResourceAmountsSchema },
  closed,
);

const NetworkSchema = Type.Object(
  {
    name: Type.String({ pattern: dnsSubdomain, maxLength: 253 }),
    namespace: Type.String({ pattern: dnsLabel, maxLength: 63 }),
    /** The main plugin; its `ipam` is spiderpool. */
    type: Type.Union([Type.Literal('macvlan'), Type.Literal('ipvlan')]),
    /** Host interface the macvlan/ipvlan links hang off, e.g. ens192. */
    master: Type.String({ minLength: 1, maxLength: 15 }),
    mode: Type.Optional(Type.String({ minLength: 1 })),
    cniVersion: Type.String({ pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$' }),
    mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535 })),
    defaultIPv4IPPool: Type.Array(Type.String({ minLength: 1 })),
    defaultIPv6IPPool: Type.Array(Type.String({ minLength: 1 })),
  },
  closed,
);

export const ValuesSchema = Type.Object(
  {
    /** Namespace of the service accounts, workloads, Service and ConfigMap. */
    namespace: Type.String({ pattern: dnsLabel, maxLength: 63 }),
    image: Type.Object(
      {
        repository: Type.String({ minLength: 1 }),
        tag: Type.String({ minLength: 1 }),
        pullPolicy: Type.Union([Type.Literal('IfNotPresent'), Type.Literal('Always'), Type.Literal('Never')]),
      },
      closed,
    ),
    /** Spiderpool's switches and the GC settings, written to conf.yml as they are. */
    ipam: chartIpamSchema(),
    operator: Type.Object(
      {
        replicas: Type.Integer({ minimum: 1, maximum: 10 }),
        /**
         * Run in the host network (as Spiderpool's controller does), so the webhooks answer even
         * when pods can get no address until a pool exists. Replicas then land on different nodes.
         */
        hostNetwork: Type.Boolean(),
        resources: ResourcesSchema,
      },
      closed,
    ),
    node: Type.Object({ resources: ResourcesSchema }, closed),
    /** Host folder of CNI plugin executables (Spiderpool: global.cniBinHostPath). */
    cniBinDir: Type.String({ pattern: absolutePath }),
    webhook: Type.Object(
      {
        /** A kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) to serve with; empty: self-managed. */
        tlsSecretName: Type.String({ maxLength: 253 }),
        timeoutSeconds: Type.Integer({ minimum: 1, maximum: 30 }),
      },
      closed,
    ),
    clusterDefaultPool: Type.Object(
      {
        installIPv4IPPool: Type.Boolean(),
        installIPv6IPPool: Type.Boolean(),
        ipv4IPPoolName: Type.String({ pattern: dnsSubdomain }),
        ipv6IPPoolName: Type.String({ pattern: dnsSubdomain }),
        ipv4Subnet: Type.String(),
        ipv6Subnet: Type.String(),
        ipv4IPRanges: Type.Array(Type.String()),
        ipv6IPRanges: Type.Array(Type.String()),
        ipv4Gateway: Type.String(),
        ipv6Gateway: Type.String(),
      },
      closed,
    ),
    multus: Type.Object(
      {
        /** Install Multus' NetworkAttachmentDefinition CRD (skip when Multus already did). */
        installCRD: Type.Boolean(),
        /**
         * Multus's cluster default network (`[namespace/]name`; a bare name is in this release's
         * namespace): eth0's network for pods without `v1.multus-cni.io/default-network`, which a
         * pool's `multusName` is matched against. Spiderpool's `multus.multusCNI.defaultCniCRName`;
         * written to conf.yml as `clusterNetwork`. Empty: such pods match no pool with `multusName`.
         */
        clusterNetwork: Type.String(),
        networkAttachmentDefinitions: Type.Array(NetworkSchema),
      },
      closed,
    ),
  },
  closed,
);

export type Values = Static<typeof ValuesSchema>;
export type NetworkValues = Static<typeof NetworkSchema>;

/** Defaults for every key; `version` is the image tag (the package version). */
export function defaultValues(version: string): Values {
  return {
    namespace: installDefaults.namespace,
    image: { repository: 'ghcr.io/spiderpool-ts/spiderpool-ts', tag: version, pullPolicy: 'IfNotPresent' },
    ipam: {
      ...pluginDefaults,
      clusterSubnetDefaultFlexibleIPNumber: confYmlDefaults.clusterSubnetDefaultFlexibleIPNumber,
      gc: { ...confYmlDefaults.gc },
    },
    operator: {
      replicas: 2,
      hostNetwork: true,
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
    },
    node: {
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    },
    cniBinDir: nodePaths.hostCniBinDir,
    webhook: { tlsSecretName: '', timeoutSeconds: 10 },
    clusterDefaultPool: {
      installIPv4IPPool: false,
      installIPv6IPPool: false,
      ipv4IPPoolName: 'default-v4-ippool',
      ipv6IPPoolName: 'default-v6-ippool',
      ipv4Subnet: '',
      ipv6Subnet: '',
      ipv4IPRanges: [],
      ipv6IPRanges: [],
      ipv4Gateway: '',
      ipv6Gateway: '',
    },
    multus: { installCRD: true, clusterNetwork: '', networkAttachmentDefinitions: [] },
  };
}
