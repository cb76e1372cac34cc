// The event vocabulary of @dot-i/k8s-operator, kept so handlers are written exactly as for dot-i:
// `ResourceEvent { type, meta, object }` with `ResourceEventType.Added | Modified | Deleted`. The enum
// and the interfaces are dot-i's own; `metaOf` builds the meta without dot-i's constructor, which
// throws on objects lacking apiVersion/kind (a relist's items, or an ERROR Status) and so crashed
// the process inside a watch callback.

import type { ResourceEvent, ResourceMeta } from '@dot-i/k8s-operator';
import { ResourceEventType } from '@dot-i/k8s-operator';
import type { KubernetesObject } from '@kubernetes/client-node';
import { apiVersionOf, type ResourceRef, resourceId } from '../../kube/resource.js';

export type { ResourceEvent, ResourceMeta };
export { ResourceEventType };

export function metaOf(ref: ResourceRef, kind: string, object: KubernetesObject): ResourceMeta {
  return {
    id: resourceId(ref),
    name: object.metadata?.name ?? '',
    namespace: object.metadata?.namespace,
    resourceVersion: object.metadata?.resourceVersion ?? '',
    apiVersion: object.apiVersion ?? apiVersionOf(ref),
    kind: object.kind ?? kind,
  };
}

/** `namespace/name`, or `name` for cluster-scoped objects: the work-queue key within one resource. */
export function objectKey(object: KubernetesObject): string {
  const ns = object.metadata?.namespace;
  const name = object.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}
