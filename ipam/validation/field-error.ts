// One refusal of an admission rule, in the API server's own vocabulary (field.ErrorType), so the
// message a user reads has the shape of every other Kubernetes validation error:
// `spec.subnet: Invalid value: "10.0.0.1/24": ...`, `spec.ips: Forbidden: ...`.
import { IpamError } from '../errors.js';

export type FieldErrorType = 'Invalid' | 'Forbidden' | 'Required';

export interface FieldError {
  /** Path of the offending field, e.g. `spec.ips[2]`. */
  field: string;
  type: FieldErrorType;
  /** The offending value (Invalid only). */
  value?: unknown;
  detail: string;
}

/** `Invalid value: "x": detail`, `Forbidden: detail` or `Required value: detail`, without the field. */
export function describeFieldError(e: FieldError): string {
  switch (e.type) {
    case 'Invalid':
      return `Invalid value: ${JSON.stringify(e.value ?? null)}: ${e.detail}`;
    case 'Forbidden':
      return `Forbidden: ${e.detail}`;
    case 'Required':
      return `Required value: ${e.detail}`;
  }
}

/** The full message: `field: ...`. */
export function fieldErrorMessage(e: FieldError): string {
  return `${e.field}: ${describeFieldError(e)}`;
}

export const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  field,
  type: 'Invalid',
  value,
  detail,
});

export const forbidden = (field: string, detail: string): FieldError => ({
  field,
  type: 'Forbidden',
  detail,
});

export const required = (field: string, detail: string): FieldError => ({ field, type: 'Required', detail });

/**
 * Runs a parse that throws IpamError and turns the error into an Invalid field error at the field
 * the parser named (or `field`), with the value it names (or `value`).
 */
export function attempt<T>(field: string, value: unknown, parse: () => T): T | FieldError {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof IpamError)) throw error;
    return invalid(error.field ?? field, error.value ?? value, error.detail);
  }
}

export function isFieldError(x: unknown): x is FieldError {
  return typeof x === 'object' && x !== null && 'type' in x && 'field' in x && 'detail' in x;
}
