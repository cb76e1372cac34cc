// Which events for one object may be folded into one. A handler always wants the newest state of an
// object, so consecutive updates collapse to the latest; but a deletion and a re-creation under the
// same name are two different objects (two UIDs), and both must be handled, in order.
import { type ResourceEvent, ResourceEventType } from './events.js';

const uidOf = (e: ResourceEvent): string | undefined => e.object.metadata?.uid;

/**
 * The single event equivalent to `earlier` followed by `later`, or undefined when both must be
 * delivered. An ADDED that was never handled stays an ADDED, carrying the newest object.
 */
export function coalesce(earlier: ResourceEvent, later: ResourceEvent): ResourceEvent | undefined {
  if (uidOf(earlier) !== uidOf(later)) return undefined;
  if (earlier.type === ResourceEventType.Deleted) return undefined;
  if (later.type === ResourceEventType.Deleted) return later;
  if (earlier.type === ResourceEventType.Added) return { ...later, type: ResourceEventType.Added };
  return later;
}

/**
 * Appends `event` to a pending list, folding it into the last entry when `coalesce` allows.
 * Returns true when the list grew.
 */
export function enqueue(pending: ResourceEvent[], event: ResourceEvent): boolean {
  const last = pending.at(-1);
  const merged = last ? coalesce(last, event) : undefined;
  if (merged) pending[pending.length - 1] = merged;
  else pending.push(event);
  return !merged;
}

/** Puts an event whose handling failed back in front of what arrived meanwhile; true when the list grew. */
export function requeueFailed(pending: ResourceEvent[], failed: ResourceEvent): boolean {
  const first = pending[0];
  const merged = first ? coalesce(failed, first) : undefined;
  if (merged) pending[0] = merged;
  else pending.unshift(failed);
  return !merged;
}
