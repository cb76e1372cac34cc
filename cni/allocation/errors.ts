// The CNI error codes of what goes wrong while allocating: the core's IpamError codes, API failures
// (a transient one, or a conflict that outlasted its retries, asks the runtime to try again later),
// and anything else as it is.
import { IpamError } from '../../ipam/errors.js';
import { apiStatus, describeApiError, isConflict, isUnavailable } from '../../kube/errors.js';
import { CniError, ErrorCode } from '../protocol/errors.js';

/** An IpamError as the CNI error a runtime reads: bad annotations are configuration errors. */
export function fromIpamError(err: IpamError): CniError {
  switch (err.code) {
    case 'InvalidInput':
      return new CniError(ErrorCode.invalidNetworkConfig, err.message);
    case 'AutoPoolPending':
      return new CniError(ErrorCode.tryAgainLater, err.message);
    default:
      return new CniError(ErrorCode.noPoolSelected, err.message);
  }
}

/**
 * A failed API call; `what` says which (`reading pod ns/name`). An unavailable API server, and a 409
 * that outlasted the call's retries (other writers kept changing the object until its deadline),
 * ask the runtime to try again: both pass, and every request is idempotent.
 */
export function fromApiError(err: unknown, what: string): CniError {
  if (err instanceof CniError) return err;
  const code = isUnavailable(err) || isConflict(err) ? ErrorCode.tryAgainLater : ErrorCode.apiFailure;
  return new CniError(code, `${what}: ${describeApiError(err)}`);
}

/** True for an answer of the API server, or for a request that never got one (refused, reset, timed out). */
export function isApiError(err: unknown): boolean {
  if (apiStatus(err) !== undefined) return true;
  if (!(err instanceof Error)) return false;
  const cause = (err as Error & { cause?: unknown }).cause as { code?: unknown } | undefined;
  const code = (err as NodeJS.ErrnoException).code ?? cause?.code;
  return (
    (typeof code === 'string' && /^E[A-Z]+$/.test(code)) ||
    ['FetchError', 'AbortError', 'DeadlineExceeded'].includes(err.name)
  );
}

/**
 * Any error of a request as a CniError, so its code survives the trip back to the asking process.
 * Anything that is neither the core's, nor the API's, is a bug: code 100 with its message.
 */
export function asCniError(err: unknown, what: string): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof IpamError) return fromIpamError(err);
  if (isApiError(err)) return fromApiError(err, what);
  return new CniError(
    ErrorCode.internal,
    `internal error: ${err instanceof Error ? err.message : String(err)}`,
  );
}
