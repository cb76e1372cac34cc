// SpiderEndpoint (namespaced, short name `se`): the addresses one workload identity holds, named
// after the Pod, or after the VM for KubeVirt launcher pods. Only a status, written with plain
// updates (no status subresource), as in Spiderpool.

import { type Static, Type } from '@sinclair/typebox';
import { Int64, type ResourceEnvelope, RouteSchema } from './common.js';

export const IPAllocationDetailSchema = Type.Object({
  interface: Type.String({ description: 'the pod interface (CNI_IFNAME), e.g. eth0 or net1' }),
  ipv4: Type.Optional(Type.String({ description: 'address with prefix length, e.g. 10.6.0.5/16' })),
  ipv6: Type.Optional(Type.String({ description: 'address with prefix length' })),
  ipv4Pool: Type.Optional(Type.String()),
  ipv6Pool: Type.Optional(Type.String()),
  vlan: Type.Optional(Int64({ minimum: 0, maximum: 4094, default: 0 })),
  ipv4Gateway: Type.Optional(Type.String()),
  ipv6Gateway: Type.Optional(Type.String()),
  cleanGateway: Type.Optional(Type.Boolean()),
  routes: Type.Optional(Type.Array(RouteSchema)),
  mac: Type.Optional(Type.String()),
});

export const PodIPAllocationSchema = Type.Object({
  uid: Type.String({ description: 'UID of the pod that holds the addresses now' }),
  node: Type.String({ description: 'node of that pod' }),
  ips: Type.Array(IPAllocationDetailSchema),
});

export const EndpointStatusSchema = Type.Object({
  current: PodIPAllocationSchema,
  ownerControllerType: Type.String({
    description: 'Deployment, StatefulSet, VirtualMachineInstance, Pod, ...',
  }),
  ownerControllerName: Type.String(),
});

export type IPAllocationDetail = Static<typeof IPAllocationDetailSchema>;
export type PodIPAllocation = Static<typeof PodIPAllocationSchema>;
export type EndpointStatus = Static<typeof EndpointStatusSchema>;

export interface SpiderEndpoint extends ResourceEnvelope {
  status?: EndpointStatus;
}
