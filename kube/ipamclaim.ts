// IPAMClaims (k8s.cni.cncf.io/v1alpha1) through the one REST layer: the read and the guarded status
// write both executables make. A claim that does not exist, or a cluster without the CRD, reads as
// undefined.
import { type IPAMClaim, ipamClaimGroup, ipamClaimKind, ipamClaimVersion } from '../api/index.js';
import { unlessNotFound } from './errors.js';
import { type ResourceRef, resourcePath } from './resource.js';
import type { RestClient } from './rest.js';

const claims = (namespace: string): ResourceRef => ({
  group: ipamClaimGroup,
  version: ipamClaimVersion,
  plural: ipamClaimKind.plural,
  namespace,
});

export class IpamClaimApi {
  constructor(private readonly rest: RestClient) {}

  getClaim(namespace: string, name: string): Promise<IPAMClaim | undefined> {
    return unlessNotFound(this.rest.get<IPAMClaim>(resourcePath(claims(namespace), name)));
  }

  /** PUT /status, guarded by the claim's resourceVersion (a stale one is a 409). */
  replaceClaimStatus(claim: IPAMClaim): Promise<IPAMClaim> {
    const { namespace = '', name = '' } = claim.metadata ?? {};
    return this.rest.request<IPAMClaim>('PUT', resourcePath(claims(namespace), name, 'status'), {
      body: claim,
    });
  }
}
