// Schema checks whose messages name the field and the value, e.g.
// `ipam.log_file_max_size: expected integer, got "100"`. The inputs every plugin call reads (the
// network and node configurations, attachment records) are checked by functions compiled from their
// schemas ahead of time (checks.generated.ts); the schema itself is built only to name what failed:
// building them cost each process start over 1 ms of CPU (docs/cni.md, "What a follower's start costs").
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

export { lazySchema } from '../../api/schema/lazy.js';

/** `/ipam/default_ipv4_ippool/0` under `prefix` → `prefix.ipam.default_ipv4_ippool[0]`. */
export function fieldPath(pointer: string, prefix = ''): string {
  let out = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out === '' ? key : `.${key}`;
  }
  return out || '(root)';
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** One line per failing field, or undefined when `value` matches `schema`. */
export function schemaProblems(schema: TSchema, value: unknown, prefix = ''): string | undefined {
  if (Value.Check(schema, value)) return undefined;
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const error of Value.Errors(schema, value)) {
    const field = fieldPath(error.path, prefix);
    if (seen.has(field)) continue;
    seen.add(field);
    lines.push(
      error.type === ValueErrorType.ObjectRequiredProperty
        ? `${field}: missing`
        : `${field}: ${error.message.replace(/^Expected/, 'expected')}, got ${shown(error.value)}`,
    );
  }
  return lines.join('; ');
}

/**
 * Like schemaProblems, but decided by `check`, compiled from the same schema: the schema is built only
 * when the value fails it, to name the fields.
 */
export function checkedProblems(
  check: (value: unknown) => boolean,
  schema: () => TSchema,
  value: unknown,
  prefix = '',
): string | undefined {
  return check(value) ? undefined : schemaProblems(schema(), value, prefix);
}
