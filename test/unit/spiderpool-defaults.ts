// Spiderpool's defaults for the conf.yml keys the plugin reads: its chart's values.yaml for the
// switches, its agent's SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS for the pool cap (docs/cni.md). Written
// out, not imported from api/install/, so the tests hold the code's defaults against Spiderpool's
// rather than against themselves.
export const spiderpoolPluginDefaults = {
  enableIPv4: true,
  enableIPv6: true,
  enableStatefulSet: true,
  enableKubevirtStaticIP: true,
  enableIPConflictDetection: false,
  enableAutoPoolForApplication: true,
  /** The one difference: Spiderpool's chart turns SpiderSubnet on; here it is off unless set (docs/subnet.md). */
  enableSpiderSubnet: false,
  ippoolMaxAllocatedIPs: 5000,
};
