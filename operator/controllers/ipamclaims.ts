// IPAMClaims (conf.yml enableIPAMClaim): a claim deleted, or being deleted, has its identity
// (`<namespace>/<claim name>`) judged by the GC rules at once rather than at the next scan. The
// rules (ipam/gc/verdict.ts) free the claim's addresses and endpoint once the claim is gone or
// terminating, except while a live pod still holds them: then they go with that pod's own events.
import type { IPAMClaim } from '../../api/index.js';
import { type ResourceEvent, ResourceEventType } from '../framework/events.js';
import type { IdentityGc } from './identity-gc.js';

export class IPAMClaimController {
  constructor(
    private readonly gc: IdentityGc,
    private readonly gcEnabled: boolean,
  ) {}

  async reconcile(event: ResourceEvent): Promise<void> {
    const claim = event.object as IPAMClaim;
    const { namespace, name, deletionTimestamp } = claim.metadata ?? {};
    if (!this.gcEnabled || !namespace || !name) return;
    if (event.type !== ResourceEventType.Deleted && !deletionTimestamp) return;
    await this.gc.reconcileOwner({ namespace, name }, `IPAMClaim ${event.type}`);
  }
}
