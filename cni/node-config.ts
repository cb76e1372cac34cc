// The node configuration: Spiderpool's switches from the `spiderpool-conf` ConfigMap, written as
// JSON next to the plugin's kubeconfig by `spiderpool install` and read by the plugin on every call.
// A missing file means Spiderpool's defaults.
import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import {
  chartIpamSchema,
  type ipamClaimKey,
  leaderTimingDefaults,
  pluginDefaults,
  pluginKeys,
  pluginSettings,
} from '../api/install/conf-yml.js';
import { installDefaults } from '../api/install/names.js';
import * as checks from './protocol/checks.generated.js';
import { CniError, ErrorCode } from './protocol/errors.js';
import { checkedProblems, lazySchema } from './protocol/validate.js';

/** The node configuration's schema, built only to name what failed (checks.generated.ts decides). */
export const nodeConfigSchema = lazySchema(() =>
  Type.Object({
    /** conf.yml's keys that the plugin uses (switches incl. the auto-pool ones, the pool cap), as conf.yml's schema types them. */
    ...Type.Partial(Type.Pick(chartIpamSchema(), pluginKeys)).properties,
    /** The Kubernetes node this file belongs to (the installer's SPIDERPOOL_NODE_NAME). */
    nodeName: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * The namespace of a pool's bare `multusName` entries and of a default network named without one:
     * Spiderpool's own (the installer's SPIDERPOOL_NAMESPACE, the DaemonSet's namespace).
     */
    multusNamespace: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * Multus's cluster default network (`[ns/]name`), the network of eth0 for pods without a
     * `v1.multus-cni.io/default-network` annotation: conf.yml `clusterNetwork`, Spiderpool's
     * MULTUS_CLUSTER_NETWORK. Without it such pods match no pool that sets `multusName`.
     */
    clusterNetwork: Type.Optional(Type.String({ minLength: 1 })),
  }),
);

export type NodeConfigFile = Static<ReturnType<typeof nodeConfigSchema>>;

/** `enableIPAMClaim` stays optional: absent means off (conf.yml's default). */
export type NodeConfig = Required<Omit<NodeConfigFile, 'clusterNetwork' | typeof ipamClaimKey>> &
  Pick<NodeConfigFile, 'clusterNetwork' | typeof ipamClaimKey>;

/** conf.yml's defaults for the switches; Multus's namespace is the installation's by default. */
export const nodeConfigDefaults: Omit<NodeConfig, 'nodeName'> = {
  ...pluginDefaults,
  ...leaderTimingDefaults,
  multusNamespace: installDefaults.namespace,
};

/** This host's name, for a file without nodeName: node:os taken only then (importing it costs every call). */
function hostname(): string {
  return process.getBuiltinModule('node:os').hostname();
}

/** Parses the file's text; `source` names the file in errors. */
export function parseNodeConfig(text: string, source: string, fallbackNodeName?: string): NodeConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CniError(ErrorCode.invalidNodeConfig, `node configuration ${source}: not valid JSON: ${why}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CniError(ErrorCode.invalidNodeConfig, `node configuration ${source}: not a JSON object`);
  }
  const problems = checkedProblems(checks.nodeConfig, nodeConfigSchema, value);
  if (problems) throw new CniError(ErrorCode.invalidNodeConfig, `node configuration ${source}: ${problems}`);
  const file = value as NodeConfigFile;
  const config: NodeConfig = {
    ...nodeConfigDefaults,
    ...pluginSettings(file),
    nodeName: file.nodeName ?? fallbackNodeName ?? hostname(),
  };
  if (file.multusNamespace) config.multusNamespace = file.multusNamespace;
  if (file.clusterNetwork) config.clusterNetwork = file.clusterNetwork;
  return config;
}

export function readNodeConfig(path: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { ...nodeConfigDefaults, nodeName: hostname() };
    throw new CniError(ErrorCode.invalidNodeConfig, `node configuration ${path}: ${(err as Error).message}`);
  }
  return parseNodeConfig(text, path);
}
