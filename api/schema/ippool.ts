// SpiderIPPool (cluster-scoped, short name `sp`): a set of addresses of one subnet and the rules for
// who may use them. Field names, types and defaults are Spiderpool's.

import { type Static, Type } from '@sinclair/typebox';
import { subnetSpecProperties, subnetSpecRules } from './cel.js';
import { Int64, LabelSelectorSchema, type ResourceEnvelope } from './common.js';

export const IPPoolSpecSchema = Type.Object(
  {
    ...subnetSpecProperties({
      subnet: 'the pool subnet in canonical CIDR form, e.g. 172.18.40.0/24',
      ips: 'single addresses or ranges a-b; merged and sorted by the webhook',
      excludeIPs: 'addresses or ranges never handed out',
      gateway: 'the default route of pods using this pool',
    }),
    podAffinity: Type.Optional(LabelSelectorSchema),
    namespaceAffinity: Type.Optional(LabelSelectorSchema),
    namespaceName: Type.Optional(Type.Array(Type.String(), { description: 'wins over namespaceAffinity' })),
    nodeAffinity: Type.Optional(LabelSelectorSchema),
    nodeName: Type.Optional(Type.Array(Type.String(), { description: 'wins over nodeAffinity' })),
    multusName: Type.Optional(
      Type.Array(Type.String(), {
        description: 'NetworkAttachmentDefinitions (ns/name) allowed to use the pool',
      }),
    ),
    default: Type.Optional(Type.Boolean({ default: false, description: 'a cluster default pool' })),
    disable: Type.Optional(
      Type.Boolean({ default: false, description: 'no new allocations; releases still work' }),
    ),
    vlan: Type.Optional(
      Int64({
        minimum: 0,
        maximum: 4094,
        description: 'deprecated in Spiderpool and unused; accepted so that older manifests still apply',
      }),
    ),
  },
  { 'x-kubernetes-validations': subnetSpecRules() },
);

export const IPPoolStatusSchema = Type.Object({
  allocatedIPs: Type.Optional(
    Type.String({
      description:
        'JSON object keyed by address: {"10.6.0.5":{"pod":"<ns>/<name>","podUid":"<uid>"}}; one string, as in Spiderpool',
    }),
  ),
  allocatedIPCount: Type.Optional(Int64({ minimum: 0 })),
  totalIPCount: Type.Optional(Int64({ minimum: 0 })),
  lastAllocatedIP: Type.Optional(
    Type.String({
      description:
        'extension: the address handed out last; allocation continues after it so a just-released address is not reused first',
    }),
  ),
});

export type IPPoolSpec = Static<typeof IPPoolSpecSchema>;
export type IPPoolStatus = Static<typeof IPPoolStatusSchema>;

export interface SpiderIPPool extends ResourceEnvelope {
  spec: IPPoolSpec;
  status?: IPPoolStatus;
}
