// SpiderSubnet (cluster-scoped, short name `ss`): a subnet from which pools take their addresses.

import { type Static, Type } from '@sinclair/typebox';
import { subnetSpecProperties, subnetSpecRules } from './cel.js';
import { Int64, type ResourceEnvelope } from './common.js';

export const SubnetSpecSchema = Type.Object(
  {
    ...subnetSpecProperties({
      subnet: 'the subnet in canonical CIDR form',
      ips: 'addresses or ranges a-b pools of this subnet may take',
      excludeIPs: 'addresses or ranges pools of this subnet never take',
      gateway: 'the gateway pools of this subnet inherit',
    }),
  },
  { 'x-kubernetes-validations': subnetSpecRules() },
);

export const SubnetStatusSchema = Type.Object({
  controlledIPPools: Type.Optional(
    Type.String({ description: 'JSON object {poolName: {"ips":[ranges],"application":"..."}}' }),
  ),
  totalIPCount: Type.Optional(Int64({ minimum: 0 })),
  allocatedIPCount: Type.Optional(Int64({ minimum: 0 })),
});

export type SubnetSpec = Static<typeof SubnetSpecSchema>;
export type SubnetStatus = Static<typeof SubnetStatusSchema>;

export interface SpiderSubnet extends ResourceEnvelope {
  spec: SubnetSpec;
  status?: SubnetStatus;
}
