// Spiderpool's ConfigMap `spiderpool-conf` (key conf.yml) -> the node configuration the plugin reads
// (config.json): checked against the installation's conf.yml contract (the same schema and errors as
// the operator's), then only the keys the plugin uses, plus the node's name and Spiderpool's namespace
// (Multus's, for bare names).
import { autoPoolSwitches, maxAllocatedIPsKey, pluginSwitches } from '../../api/install/conf-yml.js';
import { readConfYml } from '../../api/install/read-conf-yml.js';
import type { NodeConfigFile } from '../node-config.js';

export function convertConfYml(
  text: string,
  source: string,
  nodeName?: string,
  multusNamespace?: string,
): NodeConfigFile {
  const conf = readConfYml(text, source);
  const out: NodeConfigFile = {};
  for (const key of [...pluginSwitches, ...autoPoolSwitches]) {
    const value = conf[key];
    if (value !== undefined) out[key] = value;
  }
  const cap = conf[maxAllocatedIPsKey];
  if (cap !== undefined) out[maxAllocatedIPsKey] = cap;
  if (conf.clusterNetwork) out.clusterNetwork = conf.clusterNetwork;
  if (nodeName) out.nodeName = nodeName;
  if (multusNamespace) out.multusNamespace = multusNamespace;
  return out;
}
