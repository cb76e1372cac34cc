// Helm-like overrides on top of the defaults: values files (deep-merged: objects merge, lists
// replace) and `--set a.b=c` / `--set list[0].key=c` / `--set list={a,b}` expressions, applied in
// order. Every step is checked against the schema, so an error names the key, the value and where
// it came from.
import { Kind, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { installDefaults } from '../../api/install/names.js';
import { consistencyProblems } from './consistency.js';
import { defaultValues, type NetworkValues, type Values, ValuesSchema } from './schema.js';

export class ValuesError extends Error {
  override name = 'ValuesError';
}

/** Defaults for a list element that a values file or `--set` starts, keyed by the list's key. */
const listItemDefaults: Record<string, () => Record<string, unknown>> = {
  'multus.networkAttachmentDefinitions': (): Partial<NetworkValues> => ({
    namespace: installDefaults.namespace,
    type: 'macvlan',
    cniVersion: '0.3.1',
    defaultIPv4IPPool: [],
    defaultIPv6IPPool: [],
  }),
};

type Segment = string | number;

const keyText = (path: readonly Segment[]) =>
  path.reduce<string>((text, s) => (typeof s === 'number' ? `${text}[${s}]` : text ? `${text}.${s}` : s), '');

/** `a.b[0].c` -> ['a', 'b', 0, 'c']. */
export function parseKey(key: string): Segment[] {
  const segments: Segment[] = [];
  for (const part of key.split('.')) {
    const match = /^([A-Za-z0-9_-]+)((?:\[\d+\])*)$/.exec(part);
    if (!match?.[1]) throw new ValuesError(`"${key}" is not a key such as ipam.enableIPv6 or list[0].name`);
    segments.push(match[1]);
    for (const index of match[2]?.matchAll(/\[(\d+)\]/g) ?? []) segments.push(Number(index[1]));
  }
  return segments;
}

function kindOf(schema: TSchema): string {
  return String(schema[Kind]);
}

function literalValues(schema: TSchema): unknown[] | undefined {
  if (kindOf(schema) !== 'Union') return undefined;
  const members = schema.anyOf as TSchema[];
  return members.every((m) => kindOf(m) === 'Literal') ? members.map((m) => m.const) : undefined;
}

/** Turns the text of `--set` into the value the schema wants at that key. */
function coerce(schema: TSchema, raw: string, key: string): unknown {
  const literals = literalValues(schema);
  if (literals) {
    if (!literals.includes(raw)) {
      throw new ValuesError(`${key} must be one of ${literals.join(', ')}, not "${raw}"`);
    }
    return raw;
  }
  switch (kindOf(schema)) {
    case 'Boolean':
      if (raw !== 'true' && raw !== 'false')
        throw new ValuesError(`${key} must be true or false, not "${raw}"`);
      return raw === 'true';
    case 'Integer':
      if (!/^-?\d+$/.test(raw)) throw new ValuesError(`${key} must be an integer, not "${raw}"`);
      return Number(raw);
    case 'String':
      return raw;
    case 'Array': {
      const match = /^\{(.*)\}$/.exec(raw);
      if (!match) throw new ValuesError(`${key} is a list: write {a,b} or set ${key}[0], not "${raw}"`);
      const items = match[1] ? match[1].split(',') : [];
      return items.map((item, i) => coerce(schema.items as TSchema, item, `${key}[${i}]`));
    }
    case 'Object':
      throw new ValuesError(
        `${key} is a group of keys (${Object.keys(schema.properties as object).join(', ')}): set one of them`,
      );
    default:
      throw new ValuesError(`${key} cannot be set from the command line`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Applies one `key=value` expression to `values` (changed in place). */
export function applySet(values: Values, expression: string): void {
  const eq = expression.indexOf('=');
  if (eq <= 0) throw new ValuesError(`--set ${expression}: expected key=value`);
  const path = parseKey(expression.slice(0, eq));
  const raw = expression.slice(eq + 1);
  let schema: TSchema = ValuesSchema;
  let parent: Record<string, unknown> | unknown[] = values as unknown as Record<string, unknown>;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i] as Segment;
    const here = keyText(path.slice(0, i + 1));
    const last = i === path.length - 1;
    let child: unknown;
    if (typeof segment === 'string') {
      const properties =
        kindOf(schema) === 'Object' ? (schema.properties as Record<string, TSchema>) : undefined;
      const next = properties?.[segment];
      if (!properties || !next) {
        const known = properties ? ` (known keys here: ${Object.keys(properties).join(', ')})` : '';
        throw new ValuesError(`unknown key ${here}${known}`);
      }
      schema = next;
      if (last) {
        (parent as Record<string, unknown>)[segment] = coerce(schema, raw, here);
        return;
      }
      const container = parent as Record<string, unknown>;
      child = container[segment];
      if (child === undefined) child = container[segment] = kindOf(schema) === 'Array' ? [] : {};
    } else {
      if (kindOf(schema) !== 'Array' || !Array.isArray(parent)) {
        throw new ValuesError(`${keyText(path.slice(0, i))} is not a list: ${here} makes no sense`);
      }
      if (segment > parent.length) {
        throw new ValuesError(
          `${here}: the list has ${parent.length} entries; set ${keyText(path.slice(0, i))}[${parent.length}] next`,
        );
      }
      schema = schema.items as TSchema;
      if (last) {
        parent[segment] = coerce(schema, raw, here);
        return;
      }
      if (parent[segment] === undefined) {
        parent[segment] = listItemDefaults[keyText(path.slice(0, i))]?.() ?? {};
      }
      child = parent[segment];
    }
    if (!isRecord(child) && !Array.isArray(child)) throw new ValuesError(`${here} is not a group of keys`);
    parent = child;
  }
}

/** Deep-merges `overlay` (a parsed values file) into `base`: objects merge, lists and scalars replace. */
export function mergeValues(base: unknown, overlay: unknown, key = ''): unknown {
  if (isRecord(base) && isRecord(overlay)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(overlay)) out[k] = mergeValues(base[k], v, key ? `${key}.${k}` : k);
    return out;
  }
  const itemDefaults = listItemDefaults[key];
  if (Array.isArray(overlay) && itemDefaults) {
    return overlay.map((item) => (isRecord(item) ? { ...itemDefaults(), ...item } : item));
  }
  return structuredClone(overlay);
}

/** Every problem of `values`, one line per key, naming the key and the value. */
export function valueProblems(values: unknown): string[] {
  const byKey = new Map<string, string>();
  for (const e of Value.Errors(ValuesSchema, values)) {
    const key = e.path
      .split('/')
      .slice(1)
      .join('.')
      .replace(/\.(\d+)(?=\.|$)/g, '[$1]');
    if (byKey.has(key)) continue; // the first error at a key says it best (a missing key, then its type)
    if (e.type === ValueErrorType.ObjectAdditionalProperties) byKey.set(key, `unknown key ${key}`);
    else if (e.type === ValueErrorType.ObjectRequiredProperty) byKey.set(key, `${key} is required`);
    else byKey.set(key, `${key}: ${e.message.toLowerCase()}, got ${JSON.stringify(e.value)}`);
  }
  return [...byKey.values()];
}

function check(values: unknown, source: string): asserts values is Values {
  const problems = valueProblems(values);
  if (problems.length > 0) throw new ValuesError(`${source}: ${problems.join('; ')}`);
}

export interface ValuesInput {
  /** Package version, the default image tag. */
  version: string;
  /** Parsed values files in order, each with a name for errors. */
  files?: Array<{ source: string; content: unknown }>;
  /** `key=value` expressions in order, after the files. */
  sets?: string[];
}

/** Defaults, then files, then `--set` expressions; throws ValuesError on the first bad step. */
export function resolveValues({ version, files = [], sets = [] }: ValuesInput): Values {
  let values: unknown = defaultValues(version);
  for (const file of files) {
    if (file.content !== null && file.content !== undefined && !isRecord(file.content)) {
      throw new ValuesError(`values file ${file.source}: expected a mapping of keys at the top`);
    }
    values = mergeValues(values, file.content ?? {});
    check(values, `values file ${file.source}`);
  }
  for (const expression of sets) {
    try {
      applySet(values as Values, expression);
    } catch (err) {
      if (err instanceof ValuesError && !err.message.startsWith('--set')) {
        throw new ValuesError(`--set ${expression}: ${err.message}`);
      }
      throw err;
    }
  }
  // Checked once after all expressions: a list entry is built by several of them.
  check(values, sets.length > 0 ? 'values after --set' : 'values');
  const problems = consistencyProblems(values);
  if (problems.length > 0) throw new ValuesError(`values: ${problems.join('; ')}`);
  return values;
}
