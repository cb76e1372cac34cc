// SpiderMultusConfig (namespaced, short name `smc`): a network written the Spiderpool way, which the
// operator renders into the Multus NetworkAttachmentDefinition of the same name (multus/render.ts).
// Field names, types and schema defaults are Spiderpool v1.2's
// (pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spidermultus_types.go). The CEL rules make the
// per-object checks of Spiderpool's webhook (pkg/multuscniconfig/multusconfig_validate.go) at the
// API server, each naming its field; what CEL cannot see (annotations, JSON strings, other NADs)
// is the operator's webhook (multus/validate.ts).

import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';
import type { ResourceEnvelope } from './common.js';
import { CoordinatorSpecSchema } from './coordinator.js';
import type { ValidationRule } from './crd-schema.js';

export const cniTypes = ['macvlan', 'ipvlan', 'vlan', 'sriov', 'ovs', 'ib-sriov', 'ipoib', 'custom'] as const;
export type CniType = (typeof cniTypes)[number];

/** The spec field holding each cniType's block (`ib-sriov` lives in `ibsriov`; custom has `customCNI`). */
export const cniTypeBlocks = {
  macvlan: 'macvlan',
  ipvlan: 'ipvlan',
  vlan: 'vlan',
  sriov: 'sriov',
  ovs: 'ovs',
  'ib-sriov': 'ibsriov',
  ipoib: 'ipoib',
} as const satisfies Partial<Record<CniType, string>>;

const Int32 = (options: { minimum?: number; maximum?: number; default?: number; description?: string }) =>
  Type.Integer({ format: 'int32', ...options });

const vlanIDField = () =>
  Type.Optional(Int32({ minimum: 0, maximum: 4094, description: 'VLAN ID, 0 for none' }));

/** `ippools`: the default pools written into the NAD's spiderpool IPAM config. */
export const SpiderpoolPoolsSchema = Type.Object({
  matchMasterSubnet: Type.Optional(
    Type.Unsafe<boolean>({
      type: 'boolean',
      enum: [true, false],
      default: false,
      description: 'use only pools whose subnet matches the master NIC (SR-IOV)',
    }),
  ),
  ipv4: Type.Optional(Type.Array(Type.String(), { description: 'default IPv4 pools' })),
  ipv6: Type.Optional(Type.Array(Type.String(), { description: 'default IPv6 pools' })),
});
export type SpiderpoolPools = Static<typeof SpiderpoolPoolsSchema>;

export const BondSchema = Type.Object(
  {
    name: Type.String({
      description: 'name of the bond made of the masters',
      'x-kubernetes-validations': [
        { rule: "self != ''", message: 'bond.name can not be empty', reason: 'FieldValueRequired' },
      ] satisfies ValidationRule[],
    }),
    mode: Int32({ minimum: 0, maximum: 6, description: 'bonding mode 0-6' }),
    options: Type.Optional(Type.String({ description: 'bonding options' })),
  },
  { description: 'the bond the ifacer plugin makes of several masters' },
);
export type Bond = Static<typeof BondSchema>;

/** Rules of a block with `master` (macvlan, ipvlan, vlan), `self` being the block. */
function masterBlockRules(block: string): ValidationRule[] {
  return [
    {
      rule: 'size(self.master) >= 1',
      message: `spec.${block}.master needs at least one interface`,
      fieldPath: '.master',
      reason: 'FieldValueRequired',
    },
    {
      rule: 'size(self.master) < 2 || has(self.bond)',
      message: `spec.${block}.bond is required with several masters (they are bonded)`,
      fieldPath: '.bond',
      reason: 'FieldValueRequired',
    },
    {
      rule: '!has(self.ippools) || !has(self.ippools.matchMasterSubnet) || !self.ippools.matchMasterSubnet',
      message: `spec.${block}.ippools.matchMasterSubnet is not supported for ${block}`,
      fieldPath: '.ippools.matchMasterSubnet',
      reason: 'FieldValueForbidden',
    },
  ];
}

function masterBlock(block: string, extra: TProperties, rules: ValidationRule[] = []): TObject {
  return Type.Object(
    {
      master: Type.Array(Type.String(), {
        description: 'host interface(s); several are bonded with `bond`',
        maxItems: 64,
      }),
      mtu: Type.Optional(Int32({ minimum: 0, default: 0, description: '0 lets the kernel choose' })),
      ...extra,
      bond: Type.Optional(BondSchema),
      rdmaResourceName: Type.Optional(Type.String({ description: 'RDMA resource injected into pods' })),
      ippools: Type.Optional(SpiderpoolPoolsSchema),
    },
    { 'x-kubernetes-validations': [...masterBlockRules(block), ...rules] },
  );
}

export const MacvlanConfigSchema = masterBlock('macvlan', { vlanID: vlanIDField() });
export const IPvlanConfigSchema = masterBlock('ipvlan', { vlanID: vlanIDField() });
export const VlanConfigSchema = masterBlock(
  'vlan',
  {
    vlanMode: Type.Optional(
      Type.Unsafe<'manual' | 'auto'>({
        type: 'string',
        enum: ['manual', 'auto'],
        default: 'manual',
        description: 'manual needs vlanID; auto forbids it',
      }),
    ),
    vlanID: vlanIDField(),
  },
  [
    {
      rule: "!has(self.vlanMode) || self.vlanMode != 'auto' || !has(self.vlanID)",
      message: 'spec.vlan.vlanID must not be set when spec.vlan.vlanMode is auto',
      fieldPath: '.vlanID',
      reason: 'FieldValueForbidden',
    },
  ],
);
export interface MasterConfig {
  master: string[];
  mtu?: number;
  vlanID?: number;
  vlanMode?: 'manual' | 'auto';
  bond?: Bond;
  rdmaResourceName?: string;
  ippools?: SpiderpoolPools;
}

const resourceNameRule = (block: string): ValidationRule => ({
  rule: "has(self.resourceName) && self.resourceName != ''",
  message: `spec.${block}.resourceName is required`,
  fieldPath: '.resourceName',
  reason: 'FieldValueRequired',
});

export const SriovConfigSchema = Type.Object(
  {
    resourceName: Type.Optional(Type.String({ description: 'the SR-IOV device plugin resource' })),
    vlanID: vlanIDField(),
    mtu: Type.Optional(Int32({ minimum: 0, default: 0, description: 'set by the tuning plugin; 0: kernel' })),
    minTxRateMbps: Type.Optional(Type.Integer({ minimum: 0 })),
    maxTxRateMbps: Type.Optional(Type.Integer({ minimum: 0, description: 'Mbps, 0 disables rate limiting' })),
    rdmaIsolation: Type.Optional(Type.Boolean({ default: false })),
    ippools: Type.Optional(SpiderpoolPoolsSchema),
  },
  {
    'x-kubernetes-validations': [
      resourceNameRule('sriov'),
      {
        rule: '!has(self.minTxRateMbps) || !has(self.maxTxRateMbps) || self.minTxRateMbps <= self.maxTxRateMbps',
        message: 'spec.sriov.minTxRateMbps must not exceed spec.sriov.maxTxRateMbps',
        fieldPath: '.minTxRateMbps',
        reason: 'FieldValueInvalid',
      },
    ] satisfies ValidationRule[],
  },
);
export type SriovConfig = Static<typeof SriovConfigSchema>;

export const IBSriovConfigSchema = Type.Object(
  {
    resourceName: Type.Optional(Type.String({ description: 'the SR-IOV device plugin resource' })),
    pkey: Type.Optional(Type.String({ description: 'InfiniBand pkey of the VF' })),
    linkState: Type.Optional(
      Type.Unsafe<'auto' | 'enable' | 'disable'>({
        type: 'string',
        enum: ['auto', 'enable', 'disable'],
        default: 'enable',
      }),
    ),
    rdmaIsolation: Type.Optional(Type.Boolean({ default: true })),
    enableIbKubernetes: Type.Optional(Type.Boolean({ default: false })),
    ippools: Type.Optional(SpiderpoolPoolsSchema),
  },
  { 'x-kubernetes-validations': [resourceNameRule('ibsriov')] },
);
export type IBSriovConfig = Static<typeof IBSriovConfigSchema>;

export const IpoibConfigSchema = Type.Object(
  {
    master: Type.Optional(Type.String({ description: 'the host interface the link is made from' })),
    ippools: Type.Optional(SpiderpoolPoolsSchema),
  },
  {
    'x-kubernetes-validations': [
      {
        rule: "has(self.master) && self.master != ''",
        message: 'spec.ipoib.master is required',
        fieldPath: '.master',
        reason: 'FieldValueRequired',
      },
    ] satisfies ValidationRule[],
  },
);
export type IpoibConfig = Static<typeof IpoibConfigSchema>;

const vlanRange = () => Type.Optional(Type.Integer({ minimum: 0, maximum: 4094 }));
export const TrunkSchema = Type.Object(
  { minID: vlanRange(), maxID: vlanRange(), id: vlanRange() },
  {
    'x-kubernetes-validations': [
      {
        rule: '!has(self.minID) || !has(self.maxID) || self.minID <= self.maxID',
        message: 'spec.ovs.trunk[]: minID must not exceed maxID',
        fieldPath: '.minID',
        reason: 'FieldValueInvalid',
      },
    ] satisfies ValidationRule[],
  },
);
export const OvsConfigSchema = Type.Object({
  bridge: Type.String({ description: 'the OVS bridge' }),
  vlan: Type.Optional(Int32({ description: 'VLAN tag' })),
  trunk: Type.Optional(Type.Array(TrunkSchema, { maxItems: 4095 })),
  deviceID: Type.Optional(Type.String({ description: 'PCI address of a VF' })),
  ippools: Type.Optional(SpiderpoolPoolsSchema),
});
export type OvsConfig = Static<typeof OvsConfigSchema>;

/** Spec rules relating cniType to the blocks: the type's block is required, the others forbidden. */
function cniTypeRules(): ValidationRule[] {
  const rules: ValidationRule[] = [];
  for (const [type, block] of Object.entries(cniTypeBlocks)) {
    rules.push(
      {
        rule: `!has(self.cniType) || self.cniType != '${type}' || has(self.${block})`,
        message: `spec.${block} is required when spec.cniType is ${type}`,
        fieldPath: `.${block}`,
        reason: 'FieldValueRequired',
      },
      {
        rule: `!has(self.${block}) || (has(self.cniType) && self.cniType == '${type}')`,
        message: `spec.${block} is only allowed when spec.cniType is ${type}`,
        messageExpression: `'spec.${block} is only allowed when spec.cniType is ${type}, not ' + (has(self.cniType) ? self.cniType : 'custom')`,
        fieldPath: `.${block}`,
        reason: 'FieldValueForbidden',
      },
    );
  }
  rules.push({
    rule: "!has(self.customCNI) || self.customCNI == '' || !has(self.cniType) || self.cniType == 'custom'",
    message: 'spec.customCNI is only allowed when spec.cniType is custom',
    fieldPath: '.customCNI',
    reason: 'FieldValueForbidden',
  });
  return rules;
}

export const MultusConfigSpecSchema = Type.Object(
  {
    cniType: Type.Optional(
      Type.Unsafe<CniType>({
        type: 'string',
        enum: [...cniTypes],
        default: 'custom',
        description: 'the main CNI plugin',
      }),
    ),
    macvlan: Type.Optional(MacvlanConfigSchema),
    ipvlan: Type.Optional(IPvlanConfigSchema),
    vlan: Type.Optional(VlanConfigSchema),
    sriov: Type.Optional(SriovConfigSchema),
    ovs: Type.Optional(OvsConfigSchema),
    ibsriov: Type.Optional(IBSriovConfigSchema),
    ipoib: Type.Optional(IpoibConfigSchema),
    enableCoordinator: Type.Optional(
      Type.Boolean({ default: true, description: 'chain the coordinator plugin (false for custom)' }),
    ),
    disableIPAM: Type.Optional(Type.Boolean({ default: false, description: 'no spiderpool IPAM block' })),
    coordinator: Type.Optional(CoordinatorSpecSchema),
    chainCNIJsonData: Type.Optional(
      Type.Array(Type.String(), { description: 'CNI plugins (JSON) appended to the chain' }),
    ),
    customCNI: Type.Optional(Type.String({ description: 'the whole CNI config (JSON) for cniType custom' })),
  },
  { 'x-kubernetes-validations': cniTypeRules() },
);

export type MultusConfigSpec = Omit<Static<typeof MultusConfigSpecSchema>, 'macvlan' | 'ipvlan' | 'vlan'> & {
  macvlan?: MasterConfig;
  ipvlan?: MasterConfig;
  vlan?: MasterConfig;
};

/** Annotations of a SpiderMultusConfig that shape its NetworkAttachmentDefinition. */
export const multusConfigAnnotations = {
  /** The NAD's name, when not the SpiderMultusConfig's; set at creation, never changed. */
  crName: 'multus.spidernet.io/cr-name',
  /** The NAD's cniVersion, default 0.3.1. */
  cniVersion: 'multus.spidernet.io/cni-version',
  /** The `name` inside the CNI config, default the NAD's name. */
  cniConfigName: 'cni.spidernet.io/cniconfig-name',
} as const;

export interface SpiderMultusConfig extends ResourceEnvelope {
  spec?: MultusConfigSpec;
}
