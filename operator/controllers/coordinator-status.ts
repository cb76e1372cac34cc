// SpiderCoordinator `default`: created when missing (as Spiderpool's installer does, podCIDRType
// auto) and its status kept true to the cluster's Service and pod CIDRs (coordinator/status.ts
// decides). Runs on every change of the object and periodically, since Nodes and ServiceCIDRs are
// read rather than watched.
import type { V1Node } from '@kubernetes/client-node';
import {
  apiVersion,
  type CoordinatorStatus,
  defaultCoordinatorName,
  group,
  kinds,
  type SpiderCoordinator,
  version,
} from '../../api/index.js';
import { type ClusterNetworks, coordinatorStatus } from '../../coordinator/status.js';
import { isNotFound } from '../../kube/errors.js';
import { resourcePath } from '../../kube/resource.js';
import { contentTypes, type RestClient } from '../../kube/rest.js';

const coordinators = { group, version, plural: kinds.coordinator.plural };

/** Field by field, so the stored object's key order does not make every sync a write. */
function sameStatus(a: CoordinatorStatus, b: CoordinatorStatus | undefined): boolean {
  const list = (l: string[] | undefined) => (l ?? []).join(',');
  return (
    b !== undefined &&
    a.phase === b.phase &&
    (a.reason ?? '') === (b.reason ?? '') &&
    list(a.overlayPodCIDR) === list(b.overlayPodCIDR) &&
    list(a.serviceCIDR) === list(b.serviceCIDR)
  );
}

export class CoordinatorStatusController {
  constructor(
    private readonly rest: RestClient,
    /** Throws when this replica may not write. */
    private readonly guard: (what: string) => void,
  ) {}

  private async networks(): Promise<ClusterNetworks> {
    const nodes = await this.rest.get<{ items?: V1Node[] }>(
      resourcePath({ group: '', version: 'v1', plural: 'nodes' }),
    );
    const nodePodCIDRs = (nodes.items ?? []).flatMap(
      (n) => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []),
    );
    const serviceCIDRs = await this.rest
      .get<{ items?: Array<{ spec?: { cidrs?: string[] } }> }>(
        resourcePath({ group: 'networking.k8s.io', version: 'v1', plural: 'servicecidrs' }),
      )
      .then(
        (list) => (list.items ?? []).flatMap((s) => s.spec?.cidrs ?? []),
        (e: unknown) => {
          if (isNotFound(e)) return undefined;
          throw e;
        },
      );
    return { nodePodCIDRs, ...(serviceCIDRs ? { serviceCIDRs } : {}) };
  }

  async sync(): Promise<void> {
    const path = resourcePath(coordinators, defaultCoordinatorName);
    let scc = await this.rest.get<SpiderCoordinator>(path).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!scc) {
      this.guard('create SpiderCoordinator default');
      scc = await this.rest.request<SpiderCoordinator>('POST', resourcePath(coordinators), {
        body: {
          apiVersion,
          kind: kinds.coordinator.kind,
          metadata: { name: defaultCoordinatorName },
          spec: { podCIDRType: 'auto' },
        },
      });
    }
    const status = coordinatorStatus(scc.spec, await this.networks());
    if (sameStatus(status, scc.status)) return;
    this.guard('write the status of SpiderCoordinator default');
    await this.rest.request('PATCH', resourcePath(coordinators, defaultCoordinatorName, 'status'), {
      contentType: contentTypes.mergePatch,
      body: { status: { reason: null, ...status } },
    });
  }
}
