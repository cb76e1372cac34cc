// The JSON values of Spiderpool's pod and namespace annotations, as schemas, so parsing them gives
// errors that name the annotation and the field.
import { type Static, Type } from '@sinclair/typebox';
import { RouteSchema } from './common.js';

/** `ipam.spidernet.io/ippool`: pools for the NIC of the current ADD. */
export const IPPoolAnnotationSchema = Type.Object({
  ipv4: Type.Optional(Type.Array(Type.String())),
  ipv6: Type.Optional(Type.Array(Type.String())),
});

/** One element of `ipam.spidernet.io/ippools`: pools of one NIC, named or by position. */
export const IPPoolsAnnotationItemSchema = Type.Object({
  interface: Type.Optional(Type.String()),
  ipv4: Type.Optional(Type.Array(Type.String())),
  ipv6: Type.Optional(Type.Array(Type.String())),
  cleangateway: Type.Optional(Type.Boolean()),
});
export const IPPoolsAnnotationSchema = Type.Array(IPPoolsAnnotationItemSchema);

/** `ipam.spidernet.io/subnet`: the SpiderSubnet per family of the auto-pool (first name used). */
export const SubnetAnnotationSchema = Type.Object({
  ipv4: Type.Optional(Type.Array(Type.String())),
  ipv6: Type.Optional(Type.Array(Type.String())),
});
/** One element of `ipam.spidernet.io/subnets`: the SpiderSubnets of one NIC's auto-pools. */
export const SubnetsAnnotationItemSchema = Type.Object({
  interface: Type.String({ minLength: 1 }),
  ipv4: Type.Optional(Type.Array(Type.String())),
  ipv6: Type.Optional(Type.Array(Type.String())),
});
export const SubnetsAnnotationSchema = Type.Array(SubnetsAnnotationItemSchema);

/** `ipam.spidernet.io/routes`. */
export const RoutesAnnotationSchema = Type.Array(RouteSchema);

/** `ipam.spidernet.io/default-ipv4-ippool` / `-ipv6-` on a Namespace. */
export const NamespaceDefaultPoolsSchema = Type.Array(Type.String());

export type IPPoolAnnotation = Static<typeof IPPoolAnnotationSchema>;
export type IPPoolsAnnotationItem = Static<typeof IPPoolsAnnotationItemSchema>;
export type IPPoolsAnnotation = Static<typeof IPPoolsAnnotationSchema>;
export type RoutesAnnotation = Static<typeof RoutesAnnotationSchema>;

/**
 * One record of a pool's `status.allocatedIPs` (a JSON string keyed by bare address). `pod` and
 * `podUid` are Spiderpool's fields; `nic` is an extension (Spiderpool ignores unknown fields and a
 * record without it matches any NIC), so one pod can hold two addresses of one pool on two NICs.
 */
export const AllocationRecordSchema = Type.Object({
  pod: Type.String({ description: '<namespace>/<pod name>, or <namespace>/<VM name> for a KubeVirt VM' }),
  podUid: Type.String({ description: 'UID of the pod holding the address' }),
  nic: Type.Optional(Type.String()),
});
export const AllocatedIPsSchema = Type.Record(Type.String(), AllocationRecordSchema);

export type AllocationRecord = Static<typeof AllocationRecordSchema>;
export type AllocatedIPs = Static<typeof AllocatedIPsSchema>;
