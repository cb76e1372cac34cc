// TypeBox schema -> the OpenAPI v3 structural schema a CustomResourceDefinition accepts.
//
// A TypeBox schema is a JSON schema with symbol-keyed bookkeeping (Kind, Optional) and keywords a CRD
// refuses ($id, patternProperties, anyOf without a structural parent...). The conversion keeps only
// what a structural schema allows and fails loudly on anything else, so a schema author learns at
// synth time, not from an API server that rejects the CRD or silently prunes a field.
import type { TSchema } from '@sinclair/typebox';

/** One CEL rule in `x-kubernetes-validations`, with the 1.28+ fields `reason` and `fieldPath`. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps this project emits, in wire spelling. */
export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  items?: StructuralSchema;
  additionalProperties?: StructuralSchema | boolean;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  nullable?: boolean;
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

// Keywords copied as they are. Everything else (other than the recursive ones handled below and
// TypeBox's own `$id`) is an error: a structural schema has no place for it.
const scalarKeywords = new Set<string>([
  'type',
  'description',
  'format',
  'enum',
  'default',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'nullable',
  'required',
  'x-kubernetes-validations',
  'x-kubernetes-map-type',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-preserve-unknown-fields',
]);

/** Keywords TypeBox adds that mean nothing to Kubernetes. */
const droppedKeywords = new Set<string>(['$id', 'title', 'examples']);

/**
 * Converts `schema` (and everything below it) to a structural schema. `at` names the position in
 * error messages, e.g. `SpiderIPPool.spec.ips`.
 */
export function toCrdSchema(schema: TSchema, at = '(root)'): StructuralSchema {
  const out: Record<string, unknown> = {};
  // Object.keys skips TypeBox's symbol keys (Kind, Optional, ...), which is the point.
  for (const key of Object.keys(schema)) {
    const value: unknown = schema[key];
    if (value === undefined || droppedKeywords.has(key)) continue;
    if (key === 'properties') {
      const props: Record<string, StructuralSchema> = {};
      for (const [name, child] of Object.entries(value as Record<string, TSchema>)) {
        props[name] = toCrdSchema(child, `${at}.${name}`);
      }
      out.properties = props;
    } else if (key === 'items') {
      if (Array.isArray(value)) throw new Error(`${at}: tuple items are not structural`);
      out.items = toCrdSchema(value as TSchema, `${at}[]`);
    } else if (key === 'additionalProperties') {
      out.additionalProperties =
        typeof value === 'boolean' ? value : toCrdSchema(value as TSchema, `${at}.*`);
    } else if (scalarKeywords.has(key)) {
      out[key] = structuredClone(value);
    } else {
      throw new Error(`${at}: keyword "${key}" has no place in a structural CRD schema`);
    }
  }
  if (out.additionalProperties === false) {
    // Structural schemas reject `additionalProperties: false`; unknown fields are pruned anyway.
    delete out.additionalProperties;
  }
  if (out.type === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    throw new Error(`${at}: a structural schema needs a type at every level`);
  }
  if (out.type === 'array' && out.items === undefined) throw new Error(`${at}: an array needs items`);
  if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
  return out as StructuralSchema;
}
