// SpiderReservedIP (cluster-scoped, short name `sr`): addresses no pool of that family hands out.

import { type Static, Type } from '@sinclair/typebox';
import { AddressOrRangeSchema, celLimits, ipVersionField, reservedIPSpecRules } from './cel.js';
import type { ResourceEnvelope } from './common.js';

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

export interface SpiderReservedIP extends ResourceEnvelope {
  spec: ReservedIPSpec;
}
