// A SpiderMultusConfig rendered into the Multus NetworkAttachmentDefinition Spiderpool would make of
// it (pkg/multuscniconfig/multusconfig_informer.go generateNetAttachDef, Spiderpool v1.2): a CNI
// conflist whose first plugin is the cniType's, with the spiderpool IPAM block and its default
// pools, the `ifacer` plugin in front when masters are bonded or a VLAN sub-interface is needed,
// the chained plugins of chainCNIJsonData and, with enableCoordinator, `coordinator` last. Pure: the
// operator's controller (operator/controllers/multus-configs.ts) does the reads and writes.
//
// This folder holds the Multus side of the API (rendering and admission rules of
// SpiderMultusConfig); ipam/ keeps the IPAM decisions only. Where Spiderpool's code and its docs
// differ, docs/multus-config.md says which one is followed and why.

import {
  type CniType,
  type CoordinatorSpec,
  type MasterConfig,
  type MultusConfigSpec,
  multusConfigAnnotations,
  type SpiderMultusConfig,
  type SpiderpoolPools,
} from '../api/index.js';

/** The cniVersion of a rendered config when the annotation does not name one. */
export const defaultCniVersion = '0.3.1';
/** What Spiderpool accepts in `multus.spidernet.io/cni-version`. */
export const supportedCniVersions = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
/** The device-plugin resource annotation Multus reads on a NAD. */
export const resourceNameAnnotation = 'k8s.v1.cni.cncf.io/resourceName';
/** kubectl's own bookkeeping: not a property of the network, so it is not copied to the NAD. */
const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

export interface RenderedNad {
  name: string;
  namespace: string;
  annotations: Record<string, string>;
  /** The CNI configuration (JSON); absent for a custom type without customCNI, as in Spiderpool. */
  config?: string;
}

export class RenderError extends Error {
  constructor(
    readonly field: string,
    message: string,
    /** The offending value, when there is one (the webhook's message shows it). */
    readonly value?: unknown,
  ) {
    super(`${field}: ${message}`);
  }
}

type Plugin = Record<string, unknown>;

/** The name of the NAD a SpiderMultusConfig owns: its `cr-name` annotation, else its own name. */
export function nadName(smc: SpiderMultusConfig): string {
  return smc.metadata.annotations?.[multusConfigAnnotations.crName] || (smc.metadata.name ?? '');
}

/** Drops undefined values, so a plugin's JSON has only the keys that were set (Go's omitempty). */
function compact(plugin: Plugin): Plugin {
  return Object.fromEntries(Object.entries(plugin).filter(([, v]) => v !== undefined));
}

const nonZero = (n: number | undefined) => (n ? n : undefined);
const nonEmpty = <T>(list: T[] | undefined) => (list && list.length > 0 ? list : undefined);

function ipam(disableIPAM: boolean, pools: SpiderpoolPools | undefined, matchMasterSubnet: boolean) {
  if (disableIPAM) return undefined;
  return compact({
    type: 'spiderpool',
    default_ipv4_ippool: nonEmpty(pools?.ipv4),
    default_ipv6_ippool: nonEmpty(pools?.ipv6),
    // Spiderpool renders it for SR-IOV only; its webhook refuses it for macvlan, ipvlan and vlan.
    match_master_subnet: matchMasterSubnet && pools?.matchMasterSubnet ? true : undefined,
  });
}

/** The interface a macvlan/ipvlan/vlan plugin sits on: the one master, or the bond of several. */
function baseInterface(block: MasterConfig, field: string): string {
  if (block.master.length === 1) return block.master[0] as string;
  if (!block.bond?.name) throw new RenderError(`${field}.bond`, 'required with several masters');
  return block.bond.name;
}

/** `ifacer` makes the bond and/or the VLAN sub-interface the main plugin then uses as master. */
function ifacer(block: MasterConfig, vlanID: number): Plugin {
  return compact({
    type: 'ifacer',
    interfaces: block.master,
    vlanID: nonZero(vlanID),
    bond: block.bond
      ? compact({ name: block.bond.name, mode: block.bond.mode, options: block.bond.options || undefined })
      : undefined,
  });
}

/** The `coordinator` plugin: the fields set in spec.coordinator; the rest come from SpiderCoordinator. */
export function coordinatorPlugin(spec: CoordinatorSpec | undefined): Plugin {
  const c = spec ?? {};
  return compact({
    txQueueLen: c.txQueueLen,
    vethLinkAddress: c.vethLinkAddress || undefined,
    vethMTU: c.vethMTU,
    tunePodRoutes: c.tunePodRoutes,
    podMACPrefix: c.podMACPrefix || undefined,
    mode: c.mode,
    type: 'coordinator',
    podDefaultRouteNic: c.podDefaultRouteNIC || undefined,
    podRPFilter: c.podRPFilter,
    hijackCIDR: nonEmpty(c.hijackCIDR),
    policyRoutes: nonEmpty(c.policyRoutes),
  });
}

function parseChained(spec: MultusConfigSpec): Plugin[] {
  return (spec.chainCNIJsonData ?? []).map((text, i) => {
    try {
      const plugin = JSON.parse(text) as unknown;
      if (typeof plugin !== 'object' || plugin === null || Array.isArray(plugin))
        throw new Error('not a JSON object');
      return plugin as Plugin;
    } catch (e) {
      throw new RenderError(
        `spec.chainCNIJsonData[${i}]`,
        `not a CNI plugin config: ${(e as Error).message}`,
        text,
      );
    }
  });
}

function requireBlock<T>(block: T | undefined, field: string, type: string): T {
  if (!block) throw new RenderError(field, `required when spec.cniType is ${type}`);
  return block;
}

/** The plugins in front of and behind the chained ones, and extra NAD annotations, per cniType. */
interface MainPlugins {
  head: Plugin[];
  tail: Plugin[];
  annotations: Record<string, string>;
}

function mainPlugins(spec: MultusConfigSpec, type: Exclude<CniType, 'custom'>, noIPAM: boolean): MainPlugins {
  const none = { tail: [], annotations: {} };
  switch (type) {
    case 'macvlan':
    case 'ipvlan': {
      const block = requireBlock(spec[type], `spec.${type}`, type);
      const vlanID = block.vlanID ?? 0;
      const base = baseInterface(block, `spec.${type}`);
      const master = vlanID ? `${base}.${vlanID}` : base;
      const main = compact({
        type,
        master,
        mode: type === 'macvlan' ? 'bridge' : undefined,
        mtu: nonZero(block.mtu),
        ipam: ipam(noIPAM, block.ippools, false),
      });
      const front = vlanID || block.master.length >= 2 ? [ifacer(block, vlanID)] : [];
      return { head: [...front, main], ...none };
    }
    case 'vlan': {
      const block = requireBlock(spec.vlan, 'spec.vlan', type);
      const mode = block.vlanMode ?? 'manual';
      const main = compact({
        type,
        master: baseInterface(block, 'spec.vlan'),
        vlanMode: mode,
        vlanId: mode === 'manual' ? (block.vlanID ?? 0) : undefined,
        mtu: nonZero(block.mtu),
        ipam: ipam(noIPAM, block.ippools, false),
      });
      return { head: [...(block.master.length >= 2 ? [ifacer(block, 0)] : []), main], ...none };
    }
    case 'sriov': {
      const block = requireBlock(spec.sriov, 'spec.sriov', type);
      const main = compact({
        vlan: nonZero(block.vlanID),
        min_tx_rate: nonZero(block.minTxRateMbps),
        max_tx_rate: nonZero(block.maxTxRateMbps),
        type,
        ipam: ipam(noIPAM, block.ippools, true),
      });
      return {
        head: [main, ...(block.rdmaIsolation ? [{ type: 'rdma' }] : [])],
        // The MTU of a VF is set by the tuning plugin, after everything else.
        tail: block.mtu ? [{ type: 'tuning', mtu: block.mtu }] : [],
        annotations: block.resourceName ? { [resourceNameAnnotation]: block.resourceName } : {},
      };
    }
    case 'ib-sriov': {
      const block = requireBlock(spec.ibsriov, 'spec.ibsriov', type);
      const main = compact({
        type,
        pkey: block.pkey || undefined,
        link_state: block.linkState,
        rdmaIsolation: block.rdmaIsolation,
        ibKubernetesEnabled: block.enableIbKubernetes,
        ipam: ipam(noIPAM, block.ippools, false),
      });
      return {
        head: [main],
        tail: [],
        annotations: block.resourceName ? { [resourceNameAnnotation]: block.resourceName } : {},
      };
    }
    case 'ipoib': {
      const block = requireBlock(spec.ipoib, 'spec.ipoib', type);
      const main = compact({
        type,
        master: block.master || undefined,
        ipam: ipam(noIPAM, block.ippools, false),
      });
      return { head: [main], ...none };
    }
    case 'ovs': {
      const block = requireBlock(spec.ovs, 'spec.ovs', type);
      const main = compact({
        vlan: nonZero(block.vlan),
        type,
        bridge: block.bridge,
        deviceID: block.deviceID || undefined,
        ipam: ipam(noIPAM, block.ippools, false),
        trunk: nonEmpty(block.trunk),
      });
      return {
        head: [main],
        tail: [],
        annotations: block.deviceID
          ? { [resourceNameAnnotation]: `ovs-cni.network.kubevirt.io/${block.bridge}` }
          : {},
      };
    }
  }
}

/** The NetworkAttachmentDefinition of `smc`, or a RenderError naming the field that prevents it. */
export function renderNetworkAttachmentDefinition(smc: SpiderMultusConfig): RenderedNad {
  const spec: MultusConfigSpec = smc.spec ?? {};
  const name = nadName(smc);
  const annotations = { ...(smc.metadata.annotations ?? {}) };
  delete annotations[lastApplied];
  const base = { name, namespace: smc.metadata.namespace ?? 'default', annotations };
  const type: CniType = spec.cniType ?? 'custom';

  if (type === 'custom') {
    const custom = spec.customCNI;
    if (!custom) return base;
    try {
      JSON.parse(custom);
    } catch {
      throw new RenderError('spec.customCNI', 'not valid JSON', custom);
    }
    return { ...base, config: custom };
  }

  const cniVersion = annotations[multusConfigAnnotations.cniVersion] || defaultCniVersion;
  const main = mainPlugins(spec, type, spec.disableIPAM === true);
  const plugins = [
    ...main.head,
    ...parseChained(spec),
    ...(spec.enableCoordinator !== false ? [coordinatorPlugin(spec.coordinator)] : []),
    ...main.tail,
  ];
  const configName = annotations[multusConfigAnnotations.cniConfigName] || name;
  return {
    ...base,
    annotations: { ...annotations, ...main.annotations },
    config: JSON.stringify({ cniVersion, name: configName, plugins }),
  };
}
