// Reading errors of @kubernetes/client-node 1.x: it throws ApiException { code, body } where body is
// the API server's Status as a JSON string.
import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed API call, or undefined for transport errors (refused, reset, TLS). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export const isNotFound = (err: unknown): boolean => apiStatus(err) === 404;

/** What `read` resolves to, or undefined when the API server answered 404. */
export async function unlessNotFound<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
export const isConflict = (err: unknown): boolean => apiStatus(err) === 409;

/** A UID precondition that failed: the name is held by another object now (a successor). */
export function isUidConflict(err: unknown): boolean {
  const body = (err as { body?: unknown }).body;
  return isConflict(err) && typeof body === 'string' && body.includes('Precondition failed');
}
export const isAlreadyExists = (err: unknown): boolean =>
  apiStatus(err) === 409 && apiReason(err) === 'AlreadyExists';

/** True when the API server could not be reached at all, or answered that it is unavailable. */
export function isUnavailable(err: unknown): boolean {
  const status = apiStatus(err);
  if (status === undefined) return true;
  return status === 429 || status === 502 || status === 503 || status === 504;
}

function parsedBody(err: unknown): { reason?: string; message?: string } | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  if (typeof body === 'object' && body !== null) return body as { reason?: string; message?: string };
  if (typeof body !== 'string') return undefined;
  try {
    return JSON.parse(body) as { reason?: string; message?: string };
  } catch {
    return { message: body };
  }
}

/** The Status `reason` (NotFound, Conflict, AlreadyExists, Invalid, Forbidden, ...). */
export function apiReason(err: unknown): string | undefined {
  return parsedBody(err)?.reason;
}

/** A one-line description for logs and CNI error messages: the API server's message when there is one. */
export function describeApiError(err: unknown): string {
  const status = apiStatus(err);
  const message = parsedBody(err)?.message;
  if (status !== undefined) return message ? `${message} (HTTP ${status})` : `HTTP ${status}`;
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const code = (err as NodeJS.ErrnoException).code ?? (cause as NodeJS.ErrnoException | undefined)?.code;
    return code ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
