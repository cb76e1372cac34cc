// Phase-1 admission rules: the ones that need nothing but the object and its previous version.
// Address rules (overlaps, ranges inside the subnet, gateways, allocated addresses) come with the
// IPAM core in ipam/validation/.
import type { KubernetesObject } from '@kubernetes/client-node';
import { finalizer } from '../../api/index.js';
import type { Denial, PatchOp } from './admission.js';

interface WithSpec extends KubernetesObject {
  spec?: Record<string, unknown>;
}

const show = (v: unknown) => JSON.stringify(v ?? null);

/** `spec.<field>` may not change once set (Spiderpool: subnet and ipVersion of pools and subnets). */
export function immutableSpecFields(
  oldObj: WithSpec,
  newObj: WithSpec,
  fields: string[],
): Denial | undefined {
  for (const field of fields) {
    const before = oldObj.spec?.[field];
    const after = newObj.spec?.[field];
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(after))
      return {
        field: `spec.${field}`,
        code: 422,
        message: `Invalid value: ${show(after)}: field is immutable (it was ${show(before)})`,
      };
  }
  return undefined;
}

/**
 * Spiderpool refuses any update of a terminating object that still carries its finalizer, so a
 * deleted pool cannot be changed (or re-enabled) while its addresses are being released; the
 * update that removes the finalizer itself is allowed.
 */
export function terminatingObject(kind: string, newObj: KubernetesObject): Denial | undefined {
  const md = newObj.metadata;
  if (!md?.deletionTimestamp || !md.finalizers?.includes(finalizer)) return undefined;
  return {
    field: 'metadata.deletionTimestamp',
    code: 403,
    message: `Forbidden: ${kind} ${md.name} is terminating; it cannot be updated until its finalizer ${finalizer} is removed`,
  };
}

/** The JSON patch that adds Spiderpool's finalizer to a new object (none when present or deleting). */
export function addFinalizerPatch(obj: KubernetesObject): PatchOp[] {
  const md = obj.metadata ?? {};
  if (md.deletionTimestamp || md.finalizers?.includes(finalizer)) return [];
  if (!md.finalizers) return [{ op: 'add', path: '/metadata/finalizers', value: [finalizer] }];
  return [{ op: 'add', path: '/metadata/finalizers/-', value: finalizer }];
}
