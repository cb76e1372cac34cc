// Schema pieces shared by several resources.
//
// Schemas are TypeBox definitions: `Static<typeof X>` is the TypeScript type and `toCrdSchema(X)`
// (crd-schema.ts) the OpenAPI v3 structural schema of the CRD, so the two cannot drift. Only
// constructs that map onto a structural schema are used (no unions, no patternProperties); where
// TypeBox has no such construct, `Type.Unsafe` spells the schema out with its static type.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { type Static, Type } from '@sinclair/typebox';

/** `{ [key: string]: string }` as `additionalProperties`, the form Kubernetes accepts for maps. */
export const StringMap = (options: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    additionalProperties: { type: 'string' },
    ...options,
  });

/** An int64 with bounds, `format: int64` as Spiderpool's Go types generate. */
export const Int64 = (
  options: { minimum?: number; maximum?: number; default?: number; description?: string } = {},
) => Type.Integer({ format: 'int64', ...options });

/** `spec.ipVersion`: 4 or 6. */
export const IPVersionSchema = Type.Unsafe<4 | 6>({ type: 'integer', format: 'int64', enum: [4, 6] });

export const RouteSchema = Type.Object(
  {
    dst: Type.String({ description: 'destination CIDR' }),
    gw: Type.String({ description: 'next hop' }),
  },
  { description: 'a route added to the pod for addresses of this pool' },
);
export type Route = Static<typeof RouteSchema>;

const LabelSelectorRequirementSchema = Type.Object({
  key: Type.String(),
  operator: Type.String({ description: 'In, NotIn, Exists or DoesNotExist' }),
  values: Type.Optional(Type.Array(Type.String())),
});

/** metav1.LabelSelector. */
export const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(StringMap()),
    matchExpressions: Type.Optional(Type.Array(LabelSelectorRequirementSchema)),
  },
  { 'x-kubernetes-map-type': 'atomic' },
);
export type LabelSelector = Static<typeof LabelSelectorSchema>;

/** What every custom resource carries around its spec and status, as read from or sent to the API. */
export interface ResourceEnvelope {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
}
