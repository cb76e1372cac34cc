// Requests for an identity, so every caller keys records the same way: the owner is the identity's
// key, and only static identities take over what an earlier pod of theirs held.
import type { Identity } from '../identity/identity.js';
import type { AllocationRequest } from './allocate.js';
import type { ReleaseRequest } from './release.js';

export function allocationRequestFor(identity: Identity, nic: string): AllocationRequest {
  return { owner: identity.key, podUid: identity.podUid, nic, takeOver: identity.static };
}

/** What the pod of `identity` holds (one NIC when given); `force` for an identity that is gone. */
export function releaseRequestFor(
  identity: Identity,
  options: { nic?: string; force?: boolean } = {},
): ReleaseRequest {
  const request: ReleaseRequest = { owner: identity.key, podUid: identity.podUid };
  if (options.nic !== undefined) request.nic = options.nic;
  if (options.force) request.force = true;
  return request;
}
