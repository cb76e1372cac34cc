// SpiderCoordinator (cluster-scoped, short name `scc`, the singleton `default`): the cluster-wide
// defaults of the `coordinator` CNI meta plugin, and what the operator discovered about the cluster
// (service and pod CIDRs). The same CoordinatorSpec is the `coordinator` block of a
// SpiderMultusConfig. Field names, types and schema defaults are Spiderpool v1.2's
// (pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spidercoordinator_types.go); the CEL rules add the
// checks Spiderpool's webhook makes (coordinatormanager ValidateCoordinatorSpec), naming the field.

import { type Static, Type } from '@sinclair/typebox';
import { celLimits } from './cel.js';
import type { ResourceEnvelope } from './common.js';
import type { ValidationRule } from './crd-schema.js';

/** `dst` of a policy route and an entry of `hijackCIDR`: an address or a CIDR (normalized to a CIDR). */
const addressOrCidrRule = (field: string): ValidationRule => ({
  rule: 'isIP(self) || isCIDR(self)',
  message: `${field} must be an IP address or a CIDR`,
  messageExpression: `'${field} ' + self + ' is not an IP address or a CIDR'`,
});

const PolicyRouteSchema = Type.Object(
  {
    dst: Type.String({
      description: 'destination, an address or a CIDR',
      maxLength: celLimits.cidr,
      'x-kubernetes-validations': [addressOrCidrRule('policyRoutes[].dst')],
    }),
    gw: Type.String({
      description: 'next hop, an address of the same family as dst',
      maxLength: celLimits.address,
      'x-kubernetes-validations': [
        {
          rule: 'isIP(self)',
          message: 'policyRoutes[].gw must be an IP address',
          messageExpression: "'policyRoutes[].gw ' + self + ' is not an IP address'",
        },
      ] satisfies ValidationRule[],
    }),
  },
  {
    description: 'a route the coordinator installs in the policy table of its NIC',
    'x-kubernetes-validations': [
      {
        rule: '!(isIP(self.dst) || isCIDR(self.dst)) || !isIP(self.gw) || (isIP(self.dst) ? ip(self.dst).family() : cidr(self.dst).ip().family()) == ip(self.gw).family()',
        message: 'policyRoutes[]: dst and gw must be of the same IP family',
        messageExpression:
          "'policyRoutes[]: dst ' + self.dst + ' and gw ' + self.gw + ' are not of the same IP family'",
        fieldPath: '.gw',
        reason: 'FieldValueInvalid',
      },
    ] satisfies ValidationRule[],
  },
);

/** CoordinatorSpec, shared by SpiderCoordinator `spec` and SpiderMultusConfig `spec.coordinator`. */
export const CoordinatorSpecSchema = Type.Object({
  mode: Type.Optional(
    Type.Unsafe<'auto' | 'underlay' | 'overlay' | 'disabled'>({
      type: 'string',
      enum: ['auto', 'underlay', 'overlay', 'disabled'],
      default: 'auto',
      description: 'auto, underlay, overlay or disabled',
    }),
  ),
  podCIDRType: Type.Optional(
    Type.Unsafe<'auto' | 'cluster' | 'calico' | 'cilium' | 'none'>({
      type: 'string',
      enum: ['auto', 'cluster', 'calico', 'cilium', 'none'],
      description: 'where the cluster pod CIDRs are discovered from',
    }),
  ),
  hijackCIDR: Type.Optional(
    Type.Array(
      Type.String({
        maxLength: celLimits.cidr,
        'x-kubernetes-validations': [addressOrCidrRule('hijackCIDR[]')],
      }),
      { description: 'destinations the pod reaches through the host', maxItems: celLimits.routes },
    ),
  ),
  policyRoutes: Type.Optional(Type.Array(PolicyRouteSchema, { maxItems: celLimits.routes })),
  podMACPrefix: Type.Optional(
    Type.String({
      description: 'two bytes, e.g. 0a:1b; the lowest bit of the first byte is 0 (unicast)',
      maxLength: 5,
      'x-kubernetes-validations': [
        {
          rule: "self == '' || self.matches('^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}$')",
          message: 'podMACPrefix must be two hexadecimal bytes, e.g. 0a:1b',
          messageExpression: "'podMACPrefix ' + self + ' is not two hexadecimal bytes, e.g. 0a:1b'",
        },
        {
          rule: "!self.matches('^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}$') || self.matches('^[0-9a-fA-F][02468aceACE]')",
          message: 'podMACPrefix must be a unicast prefix: the lowest bit of the first byte must be 0',
          messageExpression:
            "'podMACPrefix ' + self + ' is not unicast: the lowest bit of the first byte must be 0'",
        },
      ] satisfies ValidationRule[],
    }),
  ),
  tunePodRoutes: Type.Optional(
    Type.Boolean({ default: true, description: 'tune the routes of a pod with several NICs' }),
  ),
  podDefaultRouteNIC: Type.Optional(
    Type.String({ description: 'the NIC that carries the default route; empty means eth0' }),
  ),
  hostRuleTable: Type.Optional(
    Type.Integer({ default: 500, description: 'routing table for pod-to-node traffic' }),
  ),
  podRPFilter: Type.Optional(
    Type.Integer({
      default: 0,
      description: 'rp_filter of the pod: 0, 1 or 2; negative leaves it as it is',
      'x-kubernetes-validations': [
        {
          rule: 'self <= 2',
          message: 'podRPFilter must be 0, 1, 2 or negative',
        },
      ] satisfies ValidationRule[],
    }),
  ),
  txQueueLen: Type.Optional(
    Type.Integer({
      default: 0,
      description: 'tx_queue_len of the pod NIC; 0 leaves it as it is',
      'x-kubernetes-validations': [
        {
          rule: 'self >= 0',
          message: 'txQueueLen can not be less than 0',
        },
      ] satisfies ValidationRule[],
    }),
  ),
  vethLinkAddress: Type.Optional(
    Type.String({
      description: 'an IPv4 link-local address for veth0; empty disables it',
      maxLength: celLimits.address,
      'x-kubernetes-validations': [
        {
          rule: "self == '' || isIP(self)",
          message: 'vethLinkAddress must be an IP address',
          messageExpression: "'vethLinkAddress ' + self + ' is not an IP address'",
        },
      ] satisfies ValidationRule[],
    }),
  ),
  vethMTU: Type.Optional(Type.Integer({ minimum: 1, description: 'MTU of veth0' })),
});
export type CoordinatorSpec = Static<typeof CoordinatorSpecSchema>;

export const CoordinatorStatusSchema = Type.Object({
  phase: Type.String({ description: 'Synced or NotReady' }),
  reason: Type.Optional(Type.String({ description: 'why the phase is NotReady' })),
  overlayPodCIDR: Type.Optional(Type.Array(Type.String(), { description: 'discovered pod CIDRs' })),
  serviceCIDR: Type.Optional(Type.Array(Type.String(), { description: 'discovered service CIDRs' })),
});
export type CoordinatorStatus = Static<typeof CoordinatorStatusSchema>;

/** The only SpiderCoordinator Spiderpool reads. */
export const defaultCoordinatorName = 'default';

export interface SpiderCoordinator extends ResourceEnvelope {
  spec?: CoordinatorSpec;
  status?: CoordinatorStatus;
}
