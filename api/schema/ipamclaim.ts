// IPAMClaim (k8s.cni.cncf.io/v1alpha1, namespaced, status subresource): the multi-network
// persistent-IPs API of k8snetworkplumbingwg/ipamclaims (multi-network spec v1.3 section 8). A pod's
// network selection element names a claim with `ipam-claim-reference`; the IPAM keys that
// attachment's addresses to the claim instead of the pod and reports them in the claim's status.
// The fields are upstream's (pkg/crd/ipamclaims/v1alpha1/types.go and the CRD it generates); this
// project serves all of it: `spec.network`, `spec.interface`, `spec.ipRequests`, `status.ips`,
// `status.ownerPod` and the `IPsAllocated` condition of `status.conditions` (docs/ipamclaim.md).
import { type Static, Type } from '@sinclair/typebox';
import type { ResourceEnvelope } from './common.js';

export const ipamClaimGroup = 'k8s.cni.cncf.io';
export const ipamClaimVersion = 'v1alpha1';
export const ipamClaimApiVersion = `${ipamClaimGroup}/${ipamClaimVersion}`;
export const ipamClaimKind = {
  kind: 'IPAMClaim',
  listKind: 'IPAMClaimList',
  plural: 'ipamclaims',
  singular: 'ipamclaim',
} as const;

/** The network selection element field that names a claim (multi-network spec v1.3, 4.1.2.1.11). */
export const ipamClaimReferenceKey = 'ipam-claim-reference';

const immutable = (field: string) => ({
  'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: `${field} is immutable` }],
});

const CidrSchema = Type.String({
  description: 'an address with its prefix length, IPv4 or IPv6',
  'x-kubernetes-validations': [{ rule: 'isCIDR(self)', message: 'CIDR is invalid' }],
});

export const IPAMClaimSpecSchema = Type.Object({
  network: Type.String({
    description: 'the network name (the `name` of the CNI configuration) the claim is for',
    ...immutable('Network'),
  }),
  interface: Type.String({ description: 'the pod interface the claim is for', ...immutable('Interface') }),
  ipRequests: Type.Optional(
    Type.Array(CidrSchema, {
      description: 'addresses requested for the attachment (v4, v6), served from its pools when free',
      maxItems: 2,
      'x-kubernetes-validations': [
        { rule: 'self == oldSelf', message: 'IPRequests are immutable' },
        {
          rule: 'size(self) != 2 || isCIDR(self[0]) && isCIDR(self[1]) && cidr(self[0]).ip().family() != cidr(self[1]).ip().family()',
          message: 'When 2 CIDRs are set, they must be from different IP families',
        },
      ],
    }),
  ),
});

/** metav1.Condition, as upstream's status carries it. */
const ConditionSchema = Type.Object({
  type: Type.String({ maxLength: 316 }),
  status: Type.String({ enum: ['True', 'False', 'Unknown'] }),
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  reason: Type.String({ minLength: 1, maxLength: 1024 }),
  message: Type.String({ maxLength: 32768 }),
});

export const IPAMClaimStatusSchema = Type.Object({
  ips: Type.Array(CidrSchema, { description: 'the addresses of the attachment (v4, v6)', maxItems: 2 }),
  ownerPod: Type.String({ description: 'the name of the pod the addresses were last given to' }),
  conditions: Type.Optional(Type.Array(ConditionSchema)),
});

export type IPAMClaimSpec = Static<typeof IPAMClaimSpecSchema>;

/** metav1.Condition as it travels in JSON (the client library's V1Condition has a Date). */
export type IPAMClaimCondition = Static<typeof ConditionSchema>;

export interface IPAMClaimStatus {
  ips: string[];
  ownerPod: string;
  conditions?: IPAMClaimCondition[];
}

export interface IPAMClaim extends ResourceEnvelope {
  spec: IPAMClaimSpec;
  status?: IPAMClaimStatus;
}
