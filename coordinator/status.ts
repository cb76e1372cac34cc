// SpiderCoordinator `default`'s status from what the cluster shows: the Service CIDRs (the
// ServiceCIDR objects of networking.k8s.io/v1, Kubernetes 1.33+) and the pod CIDRs (Node
// spec.podCIDRs, as kube-controller-manager allocates them). Spiderpool reads the same facts from
// kube-controller-manager's and kube-apiserver's flags or from Calico/Cilium objects; those
// sources are not read here, and podCIDRType calico or cilium is reported as not supported. Pure.
import type { CoordinatorSpec, CoordinatorStatus } from '../api/index.js';

export interface ClusterNetworks {
  /** spec.cidrs of every ServiceCIDR; undefined when the API does not serve ServiceCIDR. */
  serviceCIDRs?: string[];
  /** spec.podCIDRs (or podCIDR) of every Node. */
  nodePodCIDRs: string[];
}

const unique = (list: string[]) => [...new Set(list)].sort();

export function coordinatorStatus(
  spec: CoordinatorSpec | undefined,
  networks: ClusterNetworks,
): CoordinatorStatus {
  const podCIDRType = spec?.podCIDRType ?? 'auto';
  const serviceCIDR = unique(networks.serviceCIDRs ?? []);
  const overlayPodCIDR = podCIDRType === 'none' ? [] : unique(networks.nodePodCIDRs);
  if (podCIDRType === 'calico' || podCIDRType === 'cilium')
    return {
      phase: 'NotReady',
      reason: `spec.podCIDRType ${podCIDRType} is not supported: use cluster (Node podCIDRs) or none`,
      overlayPodCIDR: [],
      serviceCIDR,
    };
  if (networks.serviceCIDRs === undefined)
    return {
      phase: 'NotReady',
      reason:
        'the Service CIDRs are unknown: the API server serves no ServiceCIDR objects (Kubernetes 1.33+)',
      overlayPodCIDR,
      serviceCIDR,
    };
  return { phase: 'Synced', overlayPodCIDR, serviceCIDR };
}
