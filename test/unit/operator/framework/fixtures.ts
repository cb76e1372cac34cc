import type { KubernetesObject } from '@kubernetes/client-node';
import { type ResourceEvent, ResourceEventType } from '../../../../operator/framework/events.js';

export function obj(
  name: string,
  uid: string,
  rv: string,
  extra: Partial<KubernetesObject> = {},
): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'ns', uid, resourceVersion: rv },
    ...extra,
  };
}

export function ev(type: ResourceEventType, object: KubernetesObject): ResourceEvent {
  return {
    type,
    object,
    meta: {
      id: 'configmaps.v1',
      name: object.metadata?.name ?? '',
      namespace: object.metadata?.namespace,
      resourceVersion: object.metadata?.resourceVersion ?? '',
      apiVersion: 'v1',
      kind: 'ConfigMap',
    },
  };
}

export const { Added, Modified, Deleted } = ResourceEventType;
