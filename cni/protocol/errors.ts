// CNI error objects: `{cniVersion, code, msg, details}` on stdout with a non-zero exit. Codes below
// 100 are the spec's; 100 and up are this plugin's own (docs/cni.md lists them).

export const ErrorCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidNetworkConfig: 7,
  tryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD now. */
  notAvailable: 50,
  /** STATUS: not available, and existing containers may have limited connectivity. */
  notAvailableDegraded: 51,
  /** An unexpected failure inside the plugin (a bug, or an error nothing else describes). */
  internal: 100,
  /** The node configuration file (config.json) is unreadable or has a bad value. */
  invalidNodeConfig: 101,
  /** Every candidate pool of a NIC and family is full. */
  poolExhausted: 102,
  /** No pool is left for a NIC and family after the selection rules and filters. */
  noPoolSelected: 103,
  /** The conflict probe found another host using the allocated address, or a requested one is held. */
  addressConflict: 104,
  /** The Kubernetes API refused or failed a request the verb needs. */
  apiFailure: 105,
  /**
   * The pod cannot have addresses: it is gone, not alive (being deleted, finished), another pod of
   * the same name, or a launcher pod whose VM identity is no longer valid.
   */
  podNotServed: 106,
  /** CHECK: the attachment's addresses are not those the endpoint and the pools record for the pod. */
  checkFailed: 107,
  /** ADD: the attachment's IPAMClaim is held by another pod that is still alive (not a migration). */
  claimInUse: 108,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error that the plugin reports as a CNI error object. */
export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }
}

export interface CniErrorObject {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/**
 * The error object for anything thrown. A CniError keeps its code; anything else is an internal
 * error whose message is kept but whose stack never reaches stdout (it goes to the log file).
 */
export function toErrorObject(err: unknown, cniVersion: string): CniErrorObject {
  if (err instanceof CniError) {
    return { cniVersion, code: err.code, msg: err.message, ...(err.details ? { details: err.details } : {}) };
  }
  const msg = err instanceof Error ? err.message : String(err);
  return { cniVersion, code: ErrorCode.internal, msg: `internal error: ${msg}` };
}
