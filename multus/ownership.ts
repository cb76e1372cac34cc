// Which SpiderMultusConfig a NetworkAttachmentDefinition belongs to: the one named by its
// controller ownerReference. A NAD without one was written by someone else and is never changed.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { apiVersion, kinds, type SpiderMultusConfig } from '../api/index.js';

export const nadGroup = 'k8s.cni.cncf.io';
export const nadVersion = 'v1';
export const nadPlural = 'network-attachment-definitions';

export interface NetworkAttachmentDefinition {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: { config?: string };
}

/** The name of the SpiderMultusConfig that controls `nad`, if one does. */
export function controllingMultusConfig(nad: { metadata?: V1ObjectMeta }): string | undefined {
  return nad.metadata?.ownerReferences?.find(
    (r) => r.controller === true && r.kind === kinds.multusConfig.kind && r.apiVersion === apiVersion,
  )?.name;
}

/** True when `nad` is controlled by this very SpiderMultusConfig (same name and uid). */
export function ownedBy(nad: { metadata?: V1ObjectMeta }, smc: SpiderMultusConfig): boolean {
  return (nad.metadata?.ownerReferences ?? []).some(
    (r) => r.controller === true && r.kind === kinds.multusConfig.kind && r.uid === smc.metadata.uid,
  );
}
