// An IPAMClaim's `spec.ipRequests`: "the IPs (v4, v6) requested by the user for this particular network
// attachment" (k8snetworkplumbingwg/ipamclaims pkg/crd/ipamclaims/v1alpha1/types.go), CIDR strings,
// at most one per family. They are served from the attachment's own pools: a requested address must
// lie in one of the pools the selection rules give that family, with the pool's prefix length, and be
// free or already the claim's. Pure: the pools as read in, the pool and address per family out.
import type { IPAMClaim, SpiderIPPool } from '../../api/index.js';
import { parseCIDR } from '../address/cidr.js';
import { type Family, formatValue } from '../address/ip.js';
import { IpamError } from '../errors.js';
import { poolSpace } from '../pool/space.js';
import { contains } from '../ranges/intervals.js';
import { decodeRecords } from '../records/codec.js';

export interface RequestedAddress {
  family: Family;
  /** The bare address, as records key it. */
  ip: string;
  pool: string;
}

export type ClaimRequestsOutcome =
  | { ok: true; addresses: RequestedAddress[] }
  /** `invalid`: the request does not fit the attachment; `held`: another identity holds the address. */
  | { ok: false; kind: 'invalid' | 'held'; message: string };

const field = 'spec.ipRequests';

/**
 * Where each of the claim's requested addresses comes from, for an attachment whose families may use
 * `families` (pools in the order selection gives them). `owner` is the claim's identity key: its own
 * records may hold the address already (a retry, a new pod of the claim). No requests: no addresses.
 */
export function claimRequestedAddresses(
  claim: IPAMClaim,
  families: readonly { family: Family; pools: readonly SpiderIPPool[] }[],
  owner: string,
): ClaimRequestsOutcome {
  const requests = claim.spec.ipRequests ?? [];
  const name = `IPAMClaim ${claim.metadata.namespace}/${claim.metadata.name}`;
  const invalid = (message: string): ClaimRequestsOutcome => ({
    ok: false,
    kind: 'invalid',
    message: `${name}: ${field}: ${message}`,
  });
  const addresses: RequestedAddress[] = [];
  for (const text of requests) {
    let cidr: ReturnType<typeof parseCIDR>;
    try {
      cidr = parseCIDR(text, undefined, field);
    } catch (error) {
      if (!(error instanceof IpamError)) throw error;
      return invalid(error.detail);
    }
    const ip = formatValue(cidr.family, cidr.address);
    if (addresses.some((a) => a.family === cidr.family))
      return invalid(`${JSON.stringify(text)}: two IPv${cidr.family} addresses requested`);
    const candidates = families.find((f) => f.family === cidr.family)?.pools ?? [];
    if (candidates.length === 0)
      return invalid(`${JSON.stringify(text)}: the attachment has no IPv${cidr.family} pool`);
    const pool = candidates.find((p) => contains(poolSpace(p).allocatable, cidr.address));
    if (!pool) {
      const names = candidates.map((p) => p.metadata.name).join(', ');
      return invalid(`${JSON.stringify(text)} is not an address the attachment's pools (${names}) hand out`);
    }
    const poolName = pool.metadata.name ?? '';
    const space = poolSpace(pool);
    if (space.subnet.prefix !== cidr.prefix)
      return invalid(
        `${JSON.stringify(text)}: pool ${poolName} has prefix length ${space.subnet.prefix} (${pool.spec.subnet})`,
      );
    const holder = decodeRecords(poolName, pool.status?.allocatedIPs, space.family).find((r) => r.ip === ip);
    if (holder && holder.pod !== owner)
      return {
        ok: false,
        kind: 'held',
        message: `${name}: ${field}: ${ip} is held by ${holder.pod} in pool ${poolName}`,
      };
    addresses.push({ family: cidr.family, ip, pool: poolName });
  }
  return { ok: true, addresses };
}
