// metav1.LabelSelector matching: matchLabels and matchExpressions (In, NotIn, Exists,
// DoesNotExist), all ANDed; an empty selector matches everything, as in Kubernetes.
import type { LabelSelector } from '../../api/index.js';
import { IpamError } from '../errors.js';

/** Throws an IpamError naming `field` for a malformed selector (unknown operator, bad values). */
export function checkLabelSelector(selector: LabelSelector, field = 'selector'): void {
  (selector.matchExpressions ?? []).forEach((req, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          throw new IpamError('InvalidInput', `operator ${req.operator} needs values`, {
            field: at,
            value: req,
          });
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          throw new IpamError('InvalidInput', `operator ${req.operator} takes no values`, {
            field: at,
            value: req,
          });
        }
        break;
      default:
        throw new IpamError('InvalidInput', `unknown operator ${JSON.stringify(req.operator)}`, {
          field: `${at}.operator`,
          value: req.operator,
        });
    }
  });
}

/** Whether `labels` satisfy `selector`; a malformed selector throws (see checkLabelSelector). */
export function labelSelectorMatches(
  selector: LabelSelector,
  labels: Record<string, string> | undefined,
  field?: string,
): boolean {
  checkLabelSelector(selector, field);
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, req.key);
    const value = have[req.key];
    const values = req.values ?? [];
    const ok =
      req.operator === 'In'
        ? present && values.includes(value as string)
        : req.operator === 'NotIn'
          ? !present || !values.includes(value as string)
          : req.operator === 'Exists'
            ? present
            : !present;
    if (!ok) return false;
  }
  return true;
}
