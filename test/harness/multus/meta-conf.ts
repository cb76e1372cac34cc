// The Multus stand-in's configuration (meta-plugin.ts): the options of Multus's own configuration
// file that it plays, checked with an error naming the field and the value.
import { CniError, ErrorCode } from '../../../cni/protocol/errors.js';

/** The meta plugin's own configuration: the options of Multus's configuration file it plays. */
export interface MetaPluginConf {
  cniVersion: string;
  name: string;
  type: string;
  /** Kubeconfig the plugin reads pods and NetworkAttachmentDefinitions with. */
  kubeconfig: string;
  /** `[namespace/]name` of the NetworkAttachmentDefinition of pods without a default-network annotation. */
  clusterNetwork?: string;
  /** Namespace of networks named without one in the default network (default kube-system). */
  multusNamespace?: string;
  /** Where the delegates' executables are (default /opt/cni/bin). */
  binDir?: string;
  /** Where the attachments of each sandbox are kept for DEL (default /var/lib/cni/multus). */
  cniDir?: string;
}

function field(conf: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = conf[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new CniError(
      ErrorCode.invalidNetworkConfig,
      `${name}: ${JSON.stringify(value)} is not a non-empty string`,
    );
  return value;
}

export function parseMetaConf(stdin: string): MetaPluginConf {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(ErrorCode.decodeFailure, `configuration is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CniError(ErrorCode.decodeFailure, 'configuration is not a JSON object');
  const conf = parsed as Record<string, unknown>;
  const optional = (name: string) => field(conf, name, false);
  return {
    cniVersion: field(conf, 'cniVersion', true) as string,
    name: field(conf, 'name', true) as string,
    type: field(conf, 'type', true) as string,
    kubeconfig: field(conf, 'kubeconfig', true) as string,
    ...(optional('clusterNetwork') ? { clusterNetwork: optional('clusterNetwork') } : {}),
    ...(optional('multusNamespace') ? { multusNamespace: optional('multusNamespace') } : {}),
    ...(optional('binDir') ? { binDir: optional('binDir') } : {}),
    ...(optional('cniDir') ? { cniDir: optional('cniDir') } : {}),
  };
}
