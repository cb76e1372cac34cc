// Host-to-pod reachability in underlay mode, as Spiderpool's coordinator gives it
// (cmd/coordinator: setupVeth, setupNeighborhood, setupHostRoutes; docs/concepts/coordinator.md):
// the pod's first NIC gets a veth pair, `veth0` in the pod and `veth<first 11 characters of the
// container ID>` on the host. For each NIC's addresses the host gets `ip rule to <address> lookup
// <hostRuleTable>` and a route to the address through its veth end in that table (so the node
// reaches a macvlan/bridge pod it could not reach through the parent link), and the pod gets a
// route to every node address through veth0 (in the NIC's own table for a later NIC, so replies
// from that NIC's address to the node take veth0 too). No I/O here: cni/coordinator/ applies it.

/** The pod end of the pair (Spiderpool's defaultUnderlayVethName). */
export const podVethName = 'veth0';
/** SpiderCoordinator's default `hostRuleTable`. */
export const defaultHostRuleTable = 500;
/** The MTU of the pair when `vethMTU` is not set (Spiderpool's setupVeth). */
export const defaultVethMtu = 1500;

/** The host end: `veth` and the first 11 characters of the container ID (15, IFNAMSIZ - 1). */
export function hostVethName(containerId: string): string {
  return `veth${containerId.slice(0, 11)}`;
}

const hostPrefix = (address: string) => (address.includes(':') ? `${address}/128` : `${address}/32`);

export interface HostVethPlan {
  hostVeth: string;
  /** On the host: `ip rule add to <address> lookup <table>`. */
  hostRules: Array<{ to: string; table: number }>;
  /** On the host: `ip route replace <dst> dev <hostVeth> table <table>`. */
  hostRoutes: Array<{ dst: string; table: number }>;
  /** In the pod: `ip route replace <dst> dev veth0 [table <table>]` (0: main). */
  podRoutes: Array<{ dst: string; table: number }>;
}

/**
 * What one NIC's coordinator adds for host reachability: its addresses become reachable from the
 * host through `hostVeth`; the node's addresses of the same families through veth0 from the pod.
 */
export function planHostVeth(input: {
  containerId: string;
  /** The NIC's global addresses. */
  podAddresses: string[];
  /** The node's global addresses (the host network namespace, the pair's own end left out). */
  hostAddresses: string[];
  hostRuleTable: number;
  /** The NIC's policy table (0 for the first NIC: main). */
  podTable: number;
}): HostVethPlan {
  const families = new Set(input.podAddresses.map((a) => a.includes(':')));
  return {
    hostVeth: hostVethName(input.containerId),
    hostRules: input.podAddresses.map((a) => ({ to: hostPrefix(a), table: input.hostRuleTable })),
    hostRoutes: input.podAddresses.map((a) => ({ dst: hostPrefix(a), table: input.hostRuleTable })),
    podRoutes: input.hostAddresses
      .filter((a) => families.has(a.includes(':')))
      .map((a) => ({ dst: hostPrefix(a), table: input.podTable })),
  };
}
