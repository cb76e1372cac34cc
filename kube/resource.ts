// Naming any resource of the API by group, version and plural (what @dot-i/k8s-operator's
// `watchResource(group, version, plural, ...)` takes), and the REST paths that follow from it.

export interface ResourceRef {
  /** '' for the core group (pods, namespaces, configmaps, ...). */
  group: string;
  version: string;
  plural: string;
  /** Limits a namespaced resource to one namespace; absent means all namespaces (or cluster-scoped). */
  namespace?: string;
}

export function apiVersionOf(ref: Pick<ResourceRef, 'group' | 'version'>): string {
  return ref.group ? `${ref.group}/${ref.version}` : ref.version;
}

/** A stable id such as `spiderippools.spiderpool.spidernet.io/v2beta1`, as dot-i's ResourceMeta.id. */
export function resourceId(ref: Pick<ResourceRef, 'group' | 'version' | 'plural'>): string {
  return `${ref.plural}.${apiVersionOf(ref)}`;
}

/** The collection path (`/api/v1/namespaces/ns/pods`), or one object's path when `name` is given. */
export function resourcePath(ref: ResourceRef, name?: string, subresource?: string): string {
  let path = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  if (ref.namespace) path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  path += `/${ref.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}
