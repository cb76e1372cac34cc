// The one error type of the pure core. Callers (the CNI plugin, the operator) map `code` onto their
// own vocabulary (CNI error codes, admission responses, Events); `pool`, `field` and `value` say
// exactly what was wrong so the message can be shown to a user as it is.

export type IpamErrorCode =
  /** A value given by a user or a caller is malformed (an annotation, a config key, an argument). */
  | 'InvalidInput'
  /** A pool's spec cannot be used (bad subnet, a range outside the family, ...). */
  | 'InvalidPool'
  /** A pool's `status.allocatedIPs` cannot be decoded. */
  | 'InvalidRecords'
  /** No pool is left for a NIC: none selected, or every candidate filtered out. */
  | 'NoCandidatePool'
  /** An application's SpiderSubnet auto-pool is not there (yet) or not yet large enough: try again. */
  | 'AutoPoolPending';

export interface ErrorPlace {
  /** The pool the error concerns. */
  pool?: string;
  /** Path of the offending field, e.g. `spec.ips[2]` or `ipam.spidernet.io/ippools[1].ipv4`. */
  field?: string;
  /** The offending value, as given. */
  value?: unknown;
}

export class IpamError extends Error {
  override readonly name = 'IpamError';
  readonly code: IpamErrorCode;
  readonly pool: string | undefined;
  readonly field: string | undefined;
  readonly value: unknown;
  /** The message without the pool and field prefixes. */
  readonly detail: string;

  constructor(code: IpamErrorCode, detail: string, place: ErrorPlace = {}) {
    const prefix = [
      place.pool === undefined ? '' : `pool ${place.pool}: `,
      place.field ? `${place.field}: ` : '',
    ];
    super(`${prefix.join('')}${detail}`);
    this.code = code;
    this.pool = place.pool;
    this.field = place.field;
    this.value = place.value;
    this.detail = detail;
  }

  /** The same error, placed in a pool (and turned into InvalidPool when it was a plain bad value). */
  inPool(pool: string): IpamError {
    const code = this.code === 'InvalidInput' ? 'InvalidPool' : this.code;
    return new IpamError(code, this.detail, { pool, field: this.field, value: this.value });
  }

  /** The same error under a field path, e.g. `spec.ips[2]` for an error about one entry. */
  atField(field: string): IpamError {
    return new IpamError(this.code, this.detail, { pool: this.pool, field, value: this.value });
  }
}

/** Runs `fn`, placing any IpamError it throws in `pool`. */
export function withinPool<T>(pool: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw error instanceof IpamError ? error.inPool(pool) : error;
  }
}
