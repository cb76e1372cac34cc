// Names of Spiderpool's API, kept identical so Spiderpool manifests, annotations and tooling work
// unchanged.

export const group = 'spiderpool.spidernet.io';
export const version = 'v2beta1';
export const apiVersion = `${group}/${version}`;

/** The finalizer Spiderpool puts on pools and endpoints. */
export const finalizer = 'spiderpool.spidernet.io';

export const kinds = {
  ippool: {
    kind: 'SpiderIPPool',
    plural: 'spiderippools',
    singular: 'spiderippool',
    shortName: 'sp',
    namespaced: false,
  },
  endpoint: {
    kind: 'SpiderEndpoint',
    plural: 'spiderendpoints',
    singular: 'spiderendpoint',
    shortName: 'se',
    namespaced: true,
  },
  subnet: {
    kind: 'SpiderSubnet',
    plural: 'spidersubnets',
    singular: 'spidersubnet',
    shortName: 'ss',
    namespaced: false,
  },
  reservedip: {
    kind: 'SpiderReservedIP',
    plural: 'spiderreservedips',
    singular: 'spiderreservedip',
    shortName: 'sr',
    namespaced: false,
  },
  multusConfig: {
    kind: 'SpiderMultusConfig',
    plural: 'spidermultusconfigs',
    singular: 'spidermultusconfig',
    shortName: 'smc',
    namespaced: true,
  },
  coordinator: {
    kind: 'SpiderCoordinator',
    plural: 'spidercoordinators',
    singular: 'spidercoordinator',
    shortName: 'scc',
    namespaced: false,
  },
} as const;

/** Annotations read on Pods and Namespaces. */
export const annotations = {
  /** Pod: several NICs, `[{"interface":"eth0","ipv4":[..],"ipv6":[..],"cleangateway":false}]`. */
  ippools: 'ipam.spidernet.io/ippools',
  /** Pod: the NIC of the current ADD, `{"ipv4":[..],"ipv6":[..]}`. */
  ippool: 'ipam.spidernet.io/ippool',
  /** Pod: extra routes, `[{"dst":"10.0.0.0/16","gw":"172.18.0.1"}]`. */
  routes: 'ipam.spidernet.io/routes',
  /** Namespace: default pools, a JSON array of pool names (wildcards allowed). */
  defaultIPv4Pool: 'ipam.spidernet.io/default-ipv4-ippool',
  defaultIPv6Pool: 'ipam.spidernet.io/default-ipv6-ippool',
  /** Pod: the NIC that carries the default route (read by Spiderpool's coordinator). */
  defaultRouteNic: 'ipam.spidernet.io/default-route-nic',
  /** Pod template: an auto-pool from this SpiderSubnet, `{"ipv4":["subnet"],"ipv6":[..]}`. */
  subnet: 'ipam.spidernet.io/subnet',
  /** Pod template: auto-pools per NIC, `[{"interface":"eth0","ipv4":[..],"ipv6":[..]}]`; wins over `subnet`. */
  subnets: 'ipam.spidernet.io/subnets',
  /** Pod template: the auto-pool's size, `N` (fixed) or `+N` (replicas + N). */
  ippoolIPNumber: 'ipam.spidernet.io/ippool-ip-number',
  /** Pod template: `false` keeps the auto-pool when the application goes. */
  ippoolReclaim: 'ipam.spidernet.io/ippool-reclaim',
} as const;

/** Labels Spiderpool's webhook sets on pools. */
export const labels = {
  /** The pool's subnet with `.`, `:` and `/` replaced by `-`, e.g. `10-6-0-0-16`. */
  ippoolCidr: 'ipam.spidernet.io/ippool-cidr',
  subnetCidr: 'ipam.spidernet.io/subnet-cidr',
  ownerSpiderSubnet: 'ipam.spidernet.io/owner-spider-subnet',
  /** podAffinity key that `-o wide` shows as APP-NAMESPACE. */
  appNamespace: 'ipam.spidernet.io/app-namespace',
  /** Auto-pools: the application (top controller) they were made for, and for which NIC and family. */
  ownerApplicationGV: 'ipam.spidernet.io/owner-application-gv',
  ownerApplicationKind: 'ipam.spidernet.io/owner-application-kind',
  ownerApplicationNamespace: 'ipam.spidernet.io/owner-application-namespace',
  ownerApplicationName: 'ipam.spidernet.io/owner-application-name',
  ownerApplicationUID: 'ipam.spidernet.io/owner-application-uid',
  interface: 'ipam.spidernet.io/interface',
  ipVersion: 'ipam.spidernet.io/ip-version',
  ippoolReclaim: 'ipam.spidernet.io/ippool-reclaim',
  /** Auto-pools' podAffinity keys, matched against the pod's top controller (not its labels). */
  appAPIGroup: 'ipam.spidernet.io/app-api-group',
  appAPIVersion: 'ipam.spidernet.io/app-api-version',
  appKind: 'ipam.spidernet.io/app-kind',
  appName: 'ipam.spidernet.io/app-name',
} as const;

/** Multus annotations that decide which NetworkAttachmentDefinition a NIC belongs to. */
export const multusAnnotations = {
  defaultNetwork: 'v1.multus-cni.io/default-network',
  networks: 'k8s.v1.cni.cncf.io/networks',
  networkStatus: 'k8s.v1.cni.cncf.io/network-status',
} as const;

/** `spec.ipVersion` values. */
export type IPVersion = 4 | 6;
