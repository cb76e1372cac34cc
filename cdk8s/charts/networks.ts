// Optional objects users usually create right after installing: cluster default pools (Spiderpool's
// clusterDefaultPool.*) and Multus NetworkAttachmentDefinitions whose IPAM is `spiderpool`, such as
// the seed's macvlan on ens192 (`kube-system/macvlan-ens192`).

import { ApiObject, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { apiVersion, kinds, type SpiderIPPool } from '../../api/index.js';
import { nodePaths } from '../../api/install/names.js';
import type { NetworkValues, Values } from '../values/schema.js';
import { componentLabels } from './labels.js';
import { nadGroup, nadVersion } from './multus-crd.js';

/** The cluster default pools the values ask for. */
export function defaultPools(values: Values): SpiderIPPool[] {
  const p = values.clusterDefaultPool;
  const pool = (name: string, ipVersion: 4 | 6, subnet: string, ips: string[], gateway: string) => ({
    apiVersion,
    kind: kinds.ippool.kind,
    metadata: { name },
    spec: { ipVersion, subnet, ips, ...(gateway ? { gateway } : {}), default: true },
  });
  return [
    ...(p.installIPv4IPPool ? [pool(p.ipv4IPPoolName, 4, p.ipv4Subnet, p.ipv4IPRanges, p.ipv4Gateway)] : []),
    ...(p.installIPv6IPPool ? [pool(p.ipv6IPPoolName, 6, p.ipv6Subnet, p.ipv6IPRanges, p.ipv6Gateway)] : []),
  ];
}

/** The CNI configuration of one NetworkAttachmentDefinition: the main plugin with spiderpool IPAM. */
export function networkConfig(network: NetworkValues): Record<string, unknown> {
  const ipam: Record<string, unknown> = { type: 'spiderpool' };
  if (network.defaultIPv4IPPool.length > 0) ipam.default_ipv4_ippool = network.defaultIPv4IPPool;
  if (network.defaultIPv6IPPool.length > 0) ipam.default_ipv6_ippool = network.defaultIPv6IPPool;
  // The kubeconfig the node DaemonSet keeps fresh (Calico and Whereabouts spell the key this way).
  ipam.kubernetes = { kubeconfig: nodePaths.hostPluginKubeconfig };
  return {
    cniVersion: network.cniVersion,
    name: network.name,
    plugins: [
      {
        type: network.type,
        master: network.master,
        mode: network.mode ?? (network.type === 'macvlan' ? 'bridge' : 'l2'),
        ...(network.mtu ? { mtu: network.mtu } : {}),
        ipam,
      },
    ],
  };
}

export function hasNetworks(values: Values): boolean {
  return defaultPools(values).length > 0 || values.multus.networkAttachmentDefinitions.length > 0;
}

export class NetworksChart extends Chart {
  constructor(scope: Construct, id: string, values: Values) {
    super(scope, id, { labels: componentLabels('networks') });
    for (const pool of defaultPools(values)) {
      new ApiObject(this, `pool-${pool.metadata.name}`, pool as ConstructorParameters<typeof ApiObject>[2]);
    }
    for (const network of values.multus.networkAttachmentDefinitions) {
      new ApiObject(this, `nad-${network.namespace}-${network.name}`, {
        apiVersion: `${nadGroup}/${nadVersion}`,
        kind: 'NetworkAttachmentDefinition',
        metadata: { name: network.name, namespace: network.namespace },
        spec: { config: JSON.stringify(networkConfig(network)) },
      });
    }
  }
}
