// conf.yml as the operator uses it: the installation's contract (api/install/conf-yml.ts) read and
// its defaults applied.
import { confYmlDefaults } from '../../api/install/conf-yml.js';
import { readConfYml } from '../../api/install/read-conf-yml.js';

export interface IpamSettings {
  enableIPv4: boolean;
  enableIPv6: boolean;
  enableStatefulSet: boolean;
  enableKubevirtStaticIP: boolean;
  enableIPConflictDetection: boolean;
  enableValidatingResourcesDeletedWebhook: boolean;
  /** Pools must take their addresses from the SpiderSubnet of their CIDR (Spiderpool's V10). */
  enableSpiderSubnet: boolean;
  /** SpiderSubnet auto-pools for applications (with enableSpiderSubnet). */
  enableAutoPoolForApplication: boolean;
  /** The auto-pool size `+N` of a template without ipam.spidernet.io/ippool-ip-number. */
  clusterSubnetDefaultFlexibleIPNumber: number;
  gcEnabled: boolean;
  gcIntervalSeconds: number;
  /** Name of a user-provided webhook TLS Secret, when conf.yml names one. */
  webhookTlsSecret?: string;
  /** Multus's cluster default network (`clusterNetwork`), eth0's network for pods that name none. */
  clusterNetwork?: string;
  /** IPAMClaim support (`enableIPAMClaim`); absent means off. */
  enableIPAMClaim?: boolean;
}

/** conf.yml's defaults (Spiderpool's chart defaults), as settings. */
export const defaultIpamSettings: IpamSettings = {
  enableIPv4: confYmlDefaults.enableIPv4,
  enableIPv6: confYmlDefaults.enableIPv6,
  enableStatefulSet: confYmlDefaults.enableStatefulSet,
  enableKubevirtStaticIP: confYmlDefaults.enableKubevirtStaticIP,
  enableIPConflictDetection: confYmlDefaults.enableIPConflictDetection,
  enableValidatingResourcesDeletedWebhook: confYmlDefaults.enableValidatingResourcesDeletedWebhook,
  enableSpiderSubnet: confYmlDefaults.enableSpiderSubnet,
  enableAutoPoolForApplication: confYmlDefaults.enableAutoPoolForApplication,
  clusterSubnetDefaultFlexibleIPNumber: confYmlDefaults.clusterSubnetDefaultFlexibleIPNumber,
  gcEnabled: confYmlDefaults.gc.enabled,
  gcIntervalSeconds: confYmlDefaults.gc.intervalSeconds,
};

/** Parses and validates conf.yml text; `source` names the file in errors. */
export function parseConfFile(text: string, source: string): IpamSettings {
  const conf = readConfYml(text, source);
  return {
    enableIPv4: conf.enableIPv4 ?? defaultIpamSettings.enableIPv4,
    enableIPv6: conf.enableIPv6 ?? defaultIpamSettings.enableIPv6,
    enableStatefulSet: conf.enableStatefulSet ?? defaultIpamSettings.enableStatefulSet,
    enableKubevirtStaticIP: conf.enableKubevirtStaticIP ?? defaultIpamSettings.enableKubevirtStaticIP,
    enableIPConflictDetection:
      conf.enableIPConflictDetection ?? defaultIpamSettings.enableIPConflictDetection,
    enableValidatingResourcesDeletedWebhook:
      conf.enableValidatingResourcesDeletedWebhook ??
      defaultIpamSettings.enableValidatingResourcesDeletedWebhook,
    enableSpiderSubnet: conf.enableSpiderSubnet ?? defaultIpamSettings.enableSpiderSubnet,
    enableAutoPoolForApplication:
      conf.enableAutoPoolForApplication ?? defaultIpamSettings.enableAutoPoolForApplication,
    clusterSubnetDefaultFlexibleIPNumber:
      conf.clusterSubnetDefaultFlexibleIPNumber ?? defaultIpamSettings.clusterSubnetDefaultFlexibleIPNumber,
    gcEnabled: conf.gc?.enabled ?? defaultIpamSettings.gcEnabled,
    gcIntervalSeconds: conf.gc?.intervalSeconds ?? defaultIpamSettings.gcIntervalSeconds,
    ...(conf.webhook?.tlsSecretName ? { webhookTlsSecret: conf.webhook.tlsSecretName } : {}),
    ...(conf.clusterNetwork ? { clusterNetwork: conf.clusterNetwork } : {}),
    ...(conf.enableIPAMClaim ? { enableIPAMClaim: true } : {}),
  };
}
