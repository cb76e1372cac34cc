// SpiderReservedIP (cluster-scoped, short name `sr`): addresses no pool of that family hands out.

import type { V1ObjectMeta } from '@kubernetes/client-node';
import { type Static, Type } from '@sinclair/typebox';
import { AddressOrRangeSchema, celLimits, ipVersionField, reservedIPSpecRules } from './cel.js';

export const ReservedIPSpecSchema = Type.Object(
  {
    ipVersion: Type.Optional(ipVersionField()),
    ips: Type.Optional(
      Type.Array(AddressOrRangeSchema, {
        description: 'addresses or ranges a-b',
        maxItems: celLimits.ranges,
      }),
    ),
  },
  { 'x-kubernetes-validations': reservedIPSpecRules() },
);

export type ReservedIPSpec = Static<typeof ReservedIPSpecSchema>;

export interface SpiderReservedIP {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: ReservedIPSpec;
}
