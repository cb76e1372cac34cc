// The last known state of every watched object. A relist (first start, or after the watch history
// expired) is compared against it, and the differences become ordinary events, so a handler never
// misses a deletion that happened while no watch was open.
import type { KubernetesObject } from '@kubernetes/client-node';
import { objectKey, ResourceEventType } from './events.js';

export interface StoreEvent {
  type: ResourceEventType;
  object: KubernetesObject;
}

export class ObjectStore {
  private readonly objects = new Map<string, KubernetesObject>();
  // Pool records and endpoints name their holder pod by UID only, so pods are looked up by UID.
  private readonly byUid = new Map<string, KubernetesObject>();

  get size(): number {
    return this.objects.size;
  }

  get(key: string): KubernetesObject | undefined {
    return this.objects.get(key);
  }

  /** The cached object with this UID, if any. */
  getByUid(uid: string): KubernetesObject | undefined {
    return this.byUid.get(uid);
  }

  list(): KubernetesObject[] {
    return [...this.objects.values()];
  }

  /** Records one watch event. */
  apply(type: ResourceEventType, object: KubernetesObject): void {
    const key = objectKey(object);
    const old = this.objects.get(key);
    const oldUid = old?.metadata?.uid;
    if (oldUid) this.byUid.delete(oldUid);
    if (type === ResourceEventType.Deleted) {
      this.objects.delete(key);
      return;
    }
    this.objects.set(key, object);
    const uid = object.metadata?.uid;
    if (uid) this.byUid.set(uid, object);
  }

  /**
   * Replaces the contents with a fresh list and returns the events that explain the change:
   * DELETED for objects gone, DELETED then ADDED for a name now held by another object (another UID),
   * ADDED for new objects and MODIFIED for changed ones. Unchanged objects produce nothing.
   */
  replace(items: KubernetesObject[]): StoreEvent[] {
    const events: StoreEvent[] = [];
    const fresh = new Map(items.map((o) => [objectKey(o), o]));
    for (const [key, old] of this.objects) {
      const now = fresh.get(key);
      if (!now || now.metadata?.uid !== old.metadata?.uid)
        events.push({ type: ResourceEventType.Deleted, object: old });
    }
    for (const [key, now] of fresh) {
      const old = this.objects.get(key);
      if (!old || old.metadata?.uid !== now.metadata?.uid)
        events.push({ type: ResourceEventType.Added, object: now });
      else if (old.metadata?.resourceVersion !== now.metadata?.resourceVersion)
        events.push({ type: ResourceEventType.Modified, object: now });
    }
    this.objects.clear();
    this.byUid.clear();
    for (const [key, o] of fresh) {
      this.objects.set(key, o);
      const uid = o.metadata?.uid;
      if (uid) this.byUid.set(uid, o);
    }
    return events;
  }
}
