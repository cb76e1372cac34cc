// Spiderpool's ConfigMap `spiderpool-conf` (key conf.yml, YAML with many keys for the agent and the
// controller) → the node configuration the plugin reads (config.json): only the keys the plugin
// uses, each checked, plus the node's name and Spiderpool's namespace (Multus's, for bare names).
import { parse } from 'yaml';
import { type NodeConfigFile, nodeSwitches } from '../node-config.js';

export function convertConfYml(
  text: string,
  source: string,
  nodeName?: string,
  multusNamespace?: string,
): NodeConfigFile {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${source}: not a YAML mapping`);
  const values = doc as Record<string, unknown>;
  const out: NodeConfigFile = {};
  for (const key of nodeSwitches) {
    const value = values[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'boolean') {
      throw new Error(`${source}: ${key}: expected true or false, got ${JSON.stringify(value)}`);
    }
    out[key] = value;
  }
  const clusterNetwork = values.clusterNetwork;
  if (clusterNetwork !== undefined && clusterNetwork !== null && clusterNetwork !== '') {
    if (typeof clusterNetwork !== 'string')
      throw new Error(
        `${source}: clusterNetwork: expected [namespace/]name, got ${JSON.stringify(clusterNetwork)}`,
      );
    out.clusterNetwork = clusterNetwork;
  }
  if (nodeName) out.nodeName = nodeName;
  if (multusNamespace) out.multusNamespace = multusNamespace;
  return out;
}
