// SpiderReservedIP (cluster-scoped, short name `sr`): addresses no pool of that family hands out.

import type { V1ObjectMeta } from '@kubernetes/client-node';
import { type Static, Type } from '@sinclair/typebox';
import { IPVersionSchema } from './common.js';

export const ReservedIPSpecSchema = Type.Object({
  ipVersion: Type.Optional(IPVersionSchema),
  ips: Type.Optional(Type.Array(Type.String(), { description: 'addresses or ranges a-b' })),
});

export type ReservedIPSpec = Static<typeof ReservedIPSpecSchema>;

export interface SpiderReservedIP {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: ReservedIPSpec;
}
