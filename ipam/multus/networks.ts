// Multus's pod annotations, read to know which NetworkAttachmentDefinition a NIC belongs to (for a
// pool's `multusName`) and which interface name each secondary network gets.
// `k8s.v1.cni.cncf.io/networks` is either a comma list of `[ns/]name[@ifname]` or a JSON array of
// selection elements; `v1.multus-cni.io/default-network` names one network in either form.
import type { V1Pod } from '@kubernetes/client-node';
import { ipamClaimReferenceKey, multusAnnotations } from '../../api/index.js';
import { IpamError } from '../errors.js';

export interface NetworkSelection {
  namespace: string;
  name: string;
  /** The interface requested in the annotation, if any. */
  interface?: string;
  /** JSON form only: addresses requested for the attachment (Multus passes them as runtimeConfig `ips`). */
  ips?: string[];
  /** JSON form only: the MAC address requested (runtimeConfig `mac`). */
  mac?: string;
  /** JSON form only: `cni-args`, which Multus hands the delegate as `args.cni` in its configuration. */
  cniArgs?: Record<string, unknown>;
  /** JSON form only: `ipam-claim-reference`, the IPAMClaim (in the pod's namespace) the attachment's addresses belong to. */
  ipamClaimReference?: string;
}

export interface MultusSettings {
  /** Namespace of networks named without one in the default network (Multus's own namespace). */
  multusNamespace: string;
  /** The cluster default network (`ns/name` or `name`) for pods without a default-network annotation. */
  clusterDefaultNetwork?: string;
}

function parseObjectName(entry: string, defaultNamespace: string, field: string): NetworkSelection {
  const bad = () =>
    new IpamError('InvalidInput', `${JSON.stringify(entry)} is not [namespace/]name[@interface]`, {
      field,
      value: entry,
    });
  const slash = entry.split('/');
  if (slash.length > 2) throw bad();
  const [namespace, rest] =
    slash.length === 2 ? [slash[0] as string, slash[1] as string] : [defaultNamespace, entry];
  const at = rest.split('@');
  if (at.length > 2 || namespace === '' || at[0] === '' || at[1] === '') throw bad();
  const out: NetworkSelection = { namespace, name: at[0] as string };
  if (at[1] !== undefined) out.interface = at[1];
  return out;
}

function parseJsonElements(text: string, defaultNamespace: string, field: string): NetworkSelection[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new IpamError('InvalidInput', `not valid JSON (${(error as Error).message})`, {
      field,
      value: text,
    });
  }
  if (!Array.isArray(parsed)) {
    throw new IpamError('InvalidInput', 'expected a JSON array of network selection elements', {
      field,
      value: text,
    });
  }
  return parsed.map((el: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof el !== 'object' || el === null) {
      throw new IpamError('InvalidInput', 'expected an object', { field: at, value: el });
    }
    const {
      name,
      namespace,
      interface: ifname,
      ips,
      mac,
      'cni-args': cniArgs,
      [ipamClaimReferenceKey]: claim,
    } = el as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') {
      throw new IpamError('InvalidInput', 'expected a non-empty string', {
        field: `${at}.name`,
        value: name,
      });
    }
    if (namespace !== undefined && (typeof namespace !== 'string' || namespace === '')) {
      throw new IpamError('InvalidInput', 'expected a non-empty string', {
        field: `${at}.namespace`,
        value: namespace,
      });
    }
    if (ifname !== undefined && typeof ifname !== 'string') {
      throw new IpamError('InvalidInput', 'expected a string', { field: `${at}.interface`, value: ifname });
    }
    if (ips !== undefined && !(Array.isArray(ips) && ips.every((ip) => typeof ip === 'string'))) {
      throw new IpamError('InvalidInput', 'expected a list of strings', { field: `${at}.ips`, value: ips });
    }
    if (mac !== undefined && typeof mac !== 'string') {
      throw new IpamError('InvalidInput', 'expected a string', { field: `${at}.mac`, value: mac });
    }
    if (
      cniArgs !== undefined &&
      (typeof cniArgs !== 'object' || cniArgs === null || Array.isArray(cniArgs))
    ) {
      throw new IpamError('InvalidInput', 'expected an object', { field: `${at}.cni-args`, value: cniArgs });
    }
    if (claim !== undefined && (typeof claim !== 'string' || claim === '')) {
      throw new IpamError('InvalidInput', 'expected a non-empty string', {
        field: `${at}.${ipamClaimReferenceKey}`,
        value: claim,
      });
    }
    const out: NetworkSelection = { namespace: (namespace as string | undefined) ?? defaultNamespace, name };
    if (ifname) out.interface = ifname;
    if (ips && ips.length > 0) out.ips = ips as string[];
    if (mac) out.mac = mac;
    if (cniArgs) out.cniArgs = cniArgs as Record<string, unknown>;
    if (claim) out.ipamClaimReference = claim as string;
    return out;
  });
}

/** Parses a networks annotation in either form; names without a namespace get `defaultNamespace`. */
export function parseNetworks(
  text: string,
  defaultNamespace: string,
  field: string = multusAnnotations.networks,
): NetworkSelection[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (/^[[{"]/.test(trimmed)) return parseJsonElements(trimmed, defaultNamespace, field);
  return trimmed
    .split(',')
    .map((entry, i) => parseObjectName(entry.trim(), defaultNamespace, `${field}[${i}]`));
}

/** The secondary networks of a pod (`k8s.v1.cni.cncf.io/networks`), namespaces defaulting to the pod's. */
export function podNetworks(pod: V1Pod): NetworkSelection[] {
  const text = pod.metadata?.annotations?.[multusAnnotations.networks];
  return text ? parseNetworks(text, pod.metadata?.namespace ?? '') : [];
}

/** The interface Multus gives the i-th secondary network: the requested one, else `net<i+1>`. */
export function secondaryInterfaceName(network: NetworkSelection, index: number): string {
  return network.interface ?? `net${index + 1}`;
}

/**
 * The pod's default network: its `v1.multus-cni.io/default-network`, else the configured cluster
 * default network; a name without a namespace is in Multus's namespace. Undefined when neither is set.
 */
export function defaultNetwork(pod: V1Pod, settings: MultusSettings): NetworkSelection | undefined {
  const annotated = pod.metadata?.annotations?.[multusAnnotations.defaultNetwork];
  const field = annotated ? multusAnnotations.defaultNetwork : 'clusterDefaultNetwork';
  const text = annotated || settings.clusterDefaultNetwork;
  if (!text) return undefined;
  const all = parseNetworks(text, settings.multusNamespace, field);
  if (all.length !== 1) {
    throw new IpamError('InvalidInput', `expected exactly one network, got ${all.length}`, {
      field,
      value: text,
    });
  }
  return all[0];
}

export type NicAttachment = { network: NetworkSelection } | { network?: undefined; reason: string };

/**
 * The network a NIC belongs to. `eth0` (or position 0 of an unnamed `ipam.spidernet.io/ippools`)
 * is the default network; other NICs are found in the networks annotation by requested interface
 * name, by Multus's implicit `net<N>`, or by position N.
 */
export function networkOfNic(
  pod: V1Pod,
  nic: string,
  settings: MultusSettings,
  position?: number,
): NicAttachment {
  if (nic === 'eth0' || position === 0) {
    const network = defaultNetwork(pod, settings);
    return network
      ? { network }
      : {
          reason: `${nic} uses the cluster default network and none is set (no ${multusAnnotations.defaultNetwork})`,
        };
  }
  const networks = podNetworks(pod);
  const found = networks.findIndex((n, i) => secondaryInterfaceName(n, i) === nic || position === i + 1);
  const network = networks[found];
  return network
    ? { network }
    : { reason: `no network in ${multusAnnotations.networks} is attached as ${nic}` };
}
