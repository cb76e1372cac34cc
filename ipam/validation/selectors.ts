// Label selectors of a pool (podAffinity, nodeAffinity, namespaceAffinity) must be well formed:
// operators with the values they need, label keys and values Kubernetes accepts. Spiderpool's V9
// also refuses an empty podAffinity, which would match every pod and so mean nothing.
import type { LabelSelector } from '../../api/index.js';
import { checkLabelSelector } from '../filter/label-selector.js';
import { attempt, type FieldError, invalid, isFieldError } from './field-error.js';

const nameRe = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why `key` is not a label key (`[prefix/]name`), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a label key has at most one /';
  const name = parts.at(-1) as string;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    if (prefix.length === 0 || prefix.length > 253 || !prefix.split('.').every((l) => dnsLabel.test(l)))
      return 'the prefix of a label key must be a DNS subdomain';
  }
  if (name.length === 0 || name.length > 63 || !nameRe.test(name))
    return 'the name of a label key must be 63 characters or less, alphanumeric, with - _ . inside';
  return undefined;
}

/** Why `value` is not a label value, or undefined. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !nameRe.test(value))
    return 'a label value must be empty or 63 characters or less, alphanumeric, with - _ . inside';
  return undefined;
}

export function checkSelector(
  selector: LabelSelector | undefined,
  field: string,
  { nonEmpty = false } = {},
): FieldError | undefined {
  if (selector === undefined) return undefined;
  const labels = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (nonEmpty && labels.length === 0 && expressions.length === 0)
    return invalid(field, selector, 'must not be empty: an empty selector matches every pod');
  for (const [key, value] of labels) {
    const why = labelKeyProblem(key) ?? labelValueProblem(value);
    if (why) return invalid(`${field}.matchLabels`, { [key]: value }, why);
  }
  const shape = attempt(field, selector, () => checkLabelSelector(selector, field));
  if (isFieldError(shape)) return shape;
  for (const [i, req] of expressions.entries()) {
    const at = `${field}.matchExpressions[${i}]`;
    const keyWhy = labelKeyProblem(req.key);
    if (keyWhy) return invalid(`${at}.key`, req.key, keyWhy);
    for (const [j, value] of (req.values ?? []).entries()) {
      const why = labelValueProblem(value);
      if (why) return invalid(`${at}.values[${j}]`, value, why);
    }
  }
  return undefined;
}
