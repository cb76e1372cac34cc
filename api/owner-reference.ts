// The controller ownerReference this project's controllers put on what they create for a Spiderpool
// resource (a NAD for its SpiderMultusConfig, an auto pool for its SpiderSubnet): the garbage
// collector deletes the child with its owner, and `blockOwnerDeletion` lets a foreground deletion
// of the owner wait for it.
import type { V1OwnerReference } from '@kubernetes/client-node';
import { apiVersion } from './constants.js';
import type { ResourceEnvelope } from './schema/common.js';

export function controllerReference(kind: string, owner: ResourceEnvelope): V1OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}
