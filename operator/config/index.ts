// The operator's whole configuration: flags, environment (POD_NAME, POD_NAMESPACE) and conf.yml.
import { installDefaults } from '../../api/install/names.js';
import { defaultIpamSettings, type IpamSettings, parseConfFile } from './conf-file.js';
import { type Flags, parseFlags } from './flags.js';

export type { IpamSettings } from './conf-file.js';
export { parseFlags, usage } from './flags.js';

export interface OperatorConfig extends Omit<Flags, 'namespace' | 'identity'> {
  namespace: string;
  identity: string;
  ipam: IpamSettings;
}

export interface ConfigSources {
  argv: string[];
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
  hostname: string;
  pid: number;
}

export function loadConfig({ argv, env, readFile, hostname, pid }: ConfigSources): OperatorConfig {
  const flags = parseFlags(argv);
  let ipam = defaultIpamSettings;
  if (flags.config) {
    let text: string;
    try {
      text = readFile(flags.config);
    } catch (err) {
      throw new Error(`flag --config: cannot read '${flags.config}': ${(err as Error).message}`);
    }
    ipam = parseConfFile(text, flags.config);
  }
  const { namespace, identity, ...rest } = flags;
  const webhookTlsSecret = flags.webhookTlsSecret ?? ipam.webhookTlsSecret;
  return {
    ...rest,
    ...(webhookTlsSecret ? { webhookTlsSecret } : {}),
    namespace: namespace ?? (env.POD_NAMESPACE || installDefaults.namespace),
    identity: identity ?? (env.POD_NAME || `${hostname}-${pid}`),
    ipam,
  };
}
