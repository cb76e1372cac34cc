// SpiderSubnet (cluster-scoped, short name `ss`): a subnet from which pools take their addresses.

import type { V1ObjectMeta } from '@kubernetes/client-node';
import { type Static, Type } from '@sinclair/typebox';
import { Int64, IPVersionSchema, RouteSchema } from './common.js';

export const SubnetSpecSchema = Type.Object({
  ipVersion: Type.Optional(IPVersionSchema),
  subnet: Type.String({ description: 'canonical CIDR' }),
  ips: Type.Optional(Type.Array(Type.String())),
  excludeIPs: Type.Optional(Type.Array(Type.String())),
  gateway: Type.Optional(Type.String()),
  routes: Type.Optional(Type.Array(RouteSchema)),
});

export const SubnetStatusSchema = Type.Object({
  controlledIPPools: Type.Optional(
    Type.String({ description: 'JSON object {poolName: {"ips":[ranges],"application":"..."}}' }),
  ),
  totalIPCount: Type.Optional(Int64({ minimum: 0 })),
  allocatedIPCount: Type.Optional(Int64({ minimum: 0 })),
});

export type SubnetSpec = Static<typeof SubnetSpecSchema>;
export type SubnetStatus = Static<typeof SubnetStatusSchema>;

export interface SpiderSubnet {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: SubnetSpec;
  status?: SubnetStatus;
}
