// Parsing Spiderpool's JSON annotations with the TypeBox schemas of api/, so an error names the
// annotation and the field: `ipam.spidernet.io/ippools[1].ipv4: expected an array of strings`.
// Unknown keys are refused: Go's decoder would ignore a misspelt `interfce` and silently plan the
// wrong NICs.
import { type TObject, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  annotations,
  type IPPoolAnnotation,
  IPPoolAnnotationSchema,
  type IPPoolsAnnotation,
  IPPoolsAnnotationItemSchema,
  NamespaceDefaultPoolsSchema,
} from '../../api/index.js';
import { IpamError } from '../errors.js';

const strict = (schema: TObject) => Type.Object(schema.properties, { additionalProperties: false });

const schemas = {
  ippool: strict(IPPoolAnnotationSchema),
  ippools: Type.Array(strict(IPPoolsAnnotationItemSchema)),
  namespaceDefault: NamespaceDefaultPoolsSchema,
};

function describeExpected(schema: TSchema): string {
  if (schema.type === 'array') {
    const items = (schema as { items?: TSchema }).items;
    return items?.type === 'string' ? 'expected an array of strings' : 'expected an array';
  }
  if (schema.type === 'object') return 'expected an object';
  if (schema.type === 'string') return 'expected a string';
  if (schema.type === 'boolean') return 'expected true or false';
  return 'unexpected value';
}

/** `/1/ipv4/0` → `[1].ipv4[0]`. */
function pathToField(path: string): string {
  return path
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('');
}

/** Parses a JSON annotation value against a schema; errors name `<annotation><path>`. */
export function parseJsonAnnotation<T>(annotation: string, text: string, schema: TSchema): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new IpamError('InvalidInput', `not valid JSON (${(error as Error).message})`, {
      field: annotation,
      value: text,
    });
  }
  const first = Value.Errors(schema, value).First();
  if (first) {
    const detail = first.message === 'Unexpected property' ? 'unknown key' : describeExpected(first.schema);
    throw new IpamError('InvalidInput', detail, {
      field: `${annotation}${pathToField(first.path)}`,
      value: first.value,
    });
  }
  return value as T;
}

export function parseIPPoolAnnotation(text: string): IPPoolAnnotation {
  return parseJsonAnnotation(annotations.ippool, text, schemas.ippool);
}

export function parseIPPoolsAnnotation(text: string): IPPoolsAnnotation {
  return parseJsonAnnotation(annotations.ippools, text, schemas.ippools);
}

export function parseNamespaceDefaultPools(annotation: string, text: string): string[] {
  return parseJsonAnnotation(annotation, text, schemas.namespaceDefault);
}
