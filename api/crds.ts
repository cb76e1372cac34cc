// The CustomResourceDefinitions of spiderpool.spidernet.io/v2beta1, as apiextensions.k8s.io/v1 specs in
// wire spelling, built from the TypeBox schemas (the one definition) plus what only a CRD carries:
// names, scope, printer columns and subresources, all as Spiderpool declares them, so `kubectl get`
// prints what Spiderpool users are used to.
import type { TSchema } from '@sinclair/typebox';
import { group, kinds, version } from './constants.js';
import { CoordinatorSpecSchema, CoordinatorStatusSchema } from './schema/coordinator.js';
import { type StructuralSchema, toCrdSchema } from './schema/crd-schema.js';
import { EndpointStatusSchema } from './schema/endpoint.js';
import {
  IPAMClaimSpecSchema,
  IPAMClaimStatusSchema,
  ipamClaimApiVersion,
  ipamClaimGroup,
  ipamClaimKind,
  ipamClaimVersion,
} from './schema/ipamclaim.js';
import { IPPoolSpecSchema, IPPoolStatusSchema } from './schema/ippool.js';
import { MultusConfigSpecSchema } from './schema/multus-config.js';
import { ReservedIPSpecSchema } from './schema/reservedip.js';
import { SubnetSpecSchema, SubnetStatusSchema } from './schema/subnet.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 for `kubectl get`, more for `-o wide` only. */
  priority?: number;
}

export interface CrdSpec {
  group: string;
  scope: 'Cluster' | 'Namespaced';
  names: {
    kind: string;
    listKind: string;
    plural: string;
    singular: string;
    shortNames: string[];
    categories?: string[];
  };
  versions: Array<{
    name: string;
    served: boolean;
    storage: boolean;
    schema: { openAPIV3Schema: StructuralSchema };
    subresources?: { status?: Record<string, never> };
    additionalPrinterColumns?: PrinterColumn[];
    /** Fields a list may filter on with `fieldSelector` (GA in Kubernetes 1.32). */
    selectableFields?: Array<{ jsonPath: string }>;
  }>;
}

export interface CrdDefinition {
  /** `<plural>.<group>`. */
  name: string;
  spec: CrdSpec;
}

type KindInfo = (typeof kinds)[keyof typeof kinds];

function rootSchema(
  kind: string,
  parts: { spec?: TSchema; status?: TSchema },
  required: string[],
): StructuralSchema {
  const properties: Record<string, StructuralSchema> = {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
  };
  if (parts.spec) properties.spec = toCrdSchema(parts.spec, `${kind}.spec`);
  if (parts.status) properties.status = toCrdSchema(parts.status, `${kind}.status`);
  return {
    type: 'object',
    description: `${kind} of ${group}/${version}`,
    properties,
    ...(required.length > 0 ? { required } : {}),
  };
}

function definition(
  info: KindInfo,
  schema: StructuralSchema,
  opts: { status: boolean; columns: PrinterColumn[]; selectableFields?: string[] },
): CrdDefinition {
  return {
    name: `${info.plural}.${group}`,
    spec: {
      group,
      scope: info.namespaced ? 'Namespaced' : 'Cluster',
      names: {
        kind: info.kind,
        listKind: `${info.kind}List`,
        plural: info.plural,
        singular: info.singular,
        shortNames: [info.shortName],
        categories: ['spiderpool'],
      },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          ...(opts.status ? { subresources: { status: {} } } : {}),
          ...(opts.columns.length > 0 ? { additionalPrinterColumns: opts.columns } : {}),
          ...(opts.selectableFields
            ? { selectableFields: opts.selectableFields.map((jsonPath) => ({ jsonPath })) }
            : {}),
        },
      ],
    },
  };
}

const versionColumn: PrinterColumn = {
  name: 'VERSION',
  type: 'string',
  jsonPath: '.spec.ipVersion',
  description: 'ipVersion',
};
const subnetColumn: PrinterColumn = {
  name: 'SUBNET',
  type: 'string',
  jsonPath: '.spec.subnet',
  description: 'subnet',
};
const countColumns: PrinterColumn[] = [
  {
    name: 'ALLOCATED-IP-COUNT',
    type: 'integer',
    jsonPath: '.status.allocatedIPCount',
    description: 'allocatedIPCount',
  },
  { name: 'TOTAL-IP-COUNT', type: 'integer', jsonPath: '.status.totalIPCount', description: 'totalIPCount' },
];

/**
 * SpiderIPPool: `kubectl get sp` prints NAME VERSION SUBNET ALLOCATED-IP-COUNT TOTAL-IP-COUNT DEFAULT.
 * `spec.default` is selectable so the plugin can list only the cluster's default pools
 * (`fieldSelector=spec.default=true`) instead of every pool with its large status.
 */
export const ippoolCrd: CrdDefinition = definition(
  kinds.ippool,
  rootSchema(kinds.ippool.kind, { spec: IPPoolSpecSchema, status: IPPoolStatusSchema }, ['spec']),
  {
    status: true,
    selectableFields: ['.spec.default'],
    columns: [
      versionColumn,
      subnetColumn,
      ...countColumns,
      { name: 'DEFAULT', type: 'boolean', jsonPath: '.spec.default', description: 'default' },
      { name: 'DISABLE', type: 'boolean', jsonPath: '.spec.disable', description: 'disable', priority: 10 },
      { name: 'NodeName', type: 'string', jsonPath: '.spec.nodeName', description: 'nodeName', priority: 10 },
      {
        name: 'MultusName',
        type: 'string',
        jsonPath: '.spec.multusName',
        description: 'multusName',
        priority: 10,
      },
      {
        name: 'APP-NAMESPACE',
        type: 'string',
        jsonPath: ".spec.podAffinity.matchLabels['ipam\\.spidernet\\.io/app\\-namespace']",
        description: 'AppNamespace',
        priority: 10,
      },
    ],
  },
);

/** SpiderEndpoint: only a status, written with plain updates (no status subresource), as in Spiderpool. */
export const endpointCrd: CrdDefinition = definition(
  kinds.endpoint,
  rootSchema(kinds.endpoint.kind, { status: EndpointStatusSchema }, []),
  {
    status: false,
    columns: (
      [
        ['INTERFACE', 'interface'],
        ['IPV4POOL', 'ipv4Pool'],
        ['IPV4', 'ipv4'],
        ['IPV6POOL', 'ipv6Pool'],
        ['IPV6', 'ipv6'],
      ] as const
    )
      .map(
        ([name, field]): PrinterColumn => ({
          name,
          type: 'string',
          jsonPath: `.status.current.ips[0].${field}`,
          description: field,
        }),
      )
      .concat([{ name: 'NODE', type: 'string', jsonPath: '.status.current.node', description: 'node' }]),
  },
);

export const subnetCrd: CrdDefinition = definition(
  kinds.subnet,
  rootSchema(kinds.subnet.kind, { spec: SubnetSpecSchema, status: SubnetStatusSchema }, ['spec']),
  { status: true, columns: [versionColumn, subnetColumn, ...countColumns] },
);

export const reservedipCrd: CrdDefinition = definition(
  kinds.reservedip,
  rootSchema(kinds.reservedip.kind, { spec: ReservedIPSpecSchema }, []),
  { status: false, columns: [versionColumn] },
);

/** SpiderMultusConfig: no status, no printer columns (kubectl prints NAME and AGE), as in Spiderpool. */
export const multusConfigCrd: CrdDefinition = definition(
  kinds.multusConfig,
  rootSchema(kinds.multusConfig.kind, { spec: MultusConfigSpecSchema }, []),
  { status: false, columns: [] },
);

/**
 * SpiderCoordinator: a status subresource the operator writes. Only `default` is read (by the
 * coordinator plugin and the operator), so other names are refused rather than silently ignored.
 */
export const coordinatorCrd: CrdDefinition = definition(
  kinds.coordinator,
  {
    ...rootSchema(
      kinds.coordinator.kind,
      { spec: CoordinatorSpecSchema, status: CoordinatorStatusSchema },
      [],
    ),
    'x-kubernetes-validations': [
      {
        rule: "self.metadata.name == 'default'",
        message: 'metadata.name must be default: SpiderCoordinator is a singleton',
        messageExpression:
          "'metadata.name ' + self.metadata.name + ' is not default: SpiderCoordinator is a singleton named default'",
        reason: 'FieldValueInvalid',
      },
    ],
  },
  { status: true, columns: [] },
);

/** Every CRD of the API, in install order. */
export const spiderpoolCrds: readonly CrdDefinition[] = [
  ippoolCrd,
  endpointCrd,
  subnetCrd,
  reservedipCrd,
  multusConfigCrd,
  coordinatorCrd,
];

/**
 * IPAMClaim (k8s.cni.cncf.io/v1alpha1): not Spiderpool's, installed only with the cdk8s value
 * `ipam.enableIPAMClaim=true` (docs/ipamclaim.md). Names, scope and subresource as upstream's CRD.
 */
export const ipamClaimCrd: CrdDefinition = {
  name: `${ipamClaimKind.plural}.${ipamClaimGroup}`,
  spec: {
    group: ipamClaimGroup,
    scope: 'Namespaced',
    names: {
      kind: ipamClaimKind.kind,
      listKind: ipamClaimKind.listKind,
      plural: ipamClaimKind.plural,
      singular: ipamClaimKind.singular,
      shortNames: [],
    },
    versions: [
      {
        name: ipamClaimVersion,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: `${ipamClaimKind.kind} of ${ipamClaimApiVersion}`,
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: toCrdSchema(IPAMClaimSpecSchema, `${ipamClaimKind.kind}.spec`),
              status: toCrdSchema(IPAMClaimStatusSchema, `${ipamClaimKind.kind}.status`),
            },
          },
        },
        subresources: { status: {} },
      },
    ],
  },
};
