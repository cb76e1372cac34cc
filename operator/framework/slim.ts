// What a cache never needs: `metadata.managedFields`, the server-side-apply bookkeeping the API
// server sends with every object (one entry per writer, each a tree of the fields it owns). No
// handler reads it, and for a small object such as a SpiderEndpoint it is most of the object, so
// every watch drops it before caching, as client-go's cache.TransformStripManagedFields does.
import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * The object without `metadata.managedFields`. A copy of the top level and of `metadata` rather than
 * `delete`: JavaScriptCore gives an object a property was deleted from a dictionary shape of its own,
 * which costs more memory per object than the field did.
 */
export function withoutManagedFields<T extends KubernetesObject>(object: T): T {
  const metadata = object.metadata;
  if (metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...kept } = metadata;
  return { ...object, metadata: kept };
}
