// What dot-i's handleResourceFinalizer decides, as a pure function of the object's metadata.
import type { V1ObjectMeta } from '@kubernetes/client-node';

export type FinalizerAction =
  /** Not deleting and our finalizer is missing: add it (the next event carries the real work). */
  | 'add'
  /** Deleting with our finalizer present: run the delete action, then remove the finalizer. */
  | 'finalize'
  /** Deleting, our finalizer already gone: nothing more for us to do. */
  | 'deleting'
  /** Ours is in place and the object lives: the caller reconciles it. */
  | 'none';

export function finalizerAction(metadata: V1ObjectMeta, finalizer: string): FinalizerAction {
  const has = metadata.finalizers?.includes(finalizer) ?? false;
  if (metadata.deletionTimestamp) return has ? 'finalize' : 'deleting';
  return has ? 'none' : 'add';
}

/** The finalizer list with `finalizer` added (once) or removed, order of the others kept. */
export function withFinalizer(
  finalizers: string[] | undefined,
  finalizer: string,
  present: boolean,
): string[] {
  const others = (finalizers ?? []).filter((f) => f !== finalizer);
  return present ? [...others, finalizer] : others;
}
