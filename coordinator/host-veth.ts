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

/**
 * Spiderpool's defaultPodRuleTable: the pod's table for replies marked as having come in through
 * veth0 (the first NIC's); later NICs count their own tables from it (plan.ts).
 */
export const podReplyTable = 100;
/** The fwmark of those replies (Spiderpool's defaultMarkBit 0) and the priority of its rule. */
export const replyMark = '0x1';
export const replyRulePriority = 1000;

/**
 * Spiderpool's makeReplyPacketViaVeth, in the pod's mangle table: a connection that starts on
 * veth0 is marked, the mark is saved on the connection, and the pod's replies get it back, so
 * `fwmark 0x1 lookup 100` sends them out through veth0 even to an address its main table sends
 * elsewhere (traffic the node forwards to the pod from other hosts). Arguments after `-t mangle -A`.
 */
export const replyMarkRules: readonly (readonly string[])[] = [
  [
    'PREROUTING',
    '-i',
    podVethName,
    '-m',
    'conntrack',
    '--ctstate',
    'NEW',
    '-j',
    'MARK',
    '--set-xmark',
    replyMark,
  ],
  ['PREROUTING', '-m', 'mark', '--mark', replyMark, '-j', 'CONNMARK', '--save-mark'],
  ['OUTPUT', '-j', 'CONNMARK', '--restore-mark'],
];

const hostPrefix = (address: string) => (address.includes(':') ? `${address}/128` : `${address}/32`);
const isV6 = (address: string) => address.includes(':');

export interface PodRoute {
  dst: string;
  /** 0: main. */
  table: number;
  /** A node address (the hijack routes' and the reply table's gateway). */
  via?: string;
  /** The first NIC's IPv4 address, as Spiderpool sets it on these routes (none for IPv6). */
  src?: string;
}

export interface HostVethPlan {
  hostVeth: string;
  /** On the host: `ip rule add to <address> lookup <table>`. */
  hostRules: Array<{ to: string; table: number }>;
  /** On the host: `ip route replace <dst> dev <hostVeth> table <table>`. */
  hostRoutes: Array<{ dst: string; table: number }>;
  /** On the host: permanent neighbour entries for the NIC's addresses on hostVeth (veth0's MAC). */
  hostNeighbours: string[];
  /** In the pod: `ip route replace <dst> dev veth0 scope link [table <table>]`. */
  podRoutes: Array<{ dst: string; table: number }>;
  /** In the pod (first NIC only): permanent neighbour entries for the node addresses on veth0. */
  podNeighbours: string[];
  /** In the pod: `ip route replace <cidr> via <node address> dev veth0 [src] [table]`. */
  hijackRoutes: PodRoute[];
  /** In the pod (first NIC only): the mark rules, `fwmark 0x1 lookup 100` and its default routes. */
  replyViaVeth?: { families: Array<4 | 6>; defaults: PodRoute[] };
}

/**
 * What one NIC's coordinator adds for host reachability: its addresses become reachable from the
 * host through `hostVeth` (a rule, a route and a static neighbour entry); the node's addresses of
 * the same families through veth0 from the pod (routes, and static neighbour entries made once, by
 * the first NIC); the hijack CIDRs through veth0 via the first node address of their family; and,
 * for the first NIC, replies to connections that came in through veth0 leave by it.
 */
export function planHostVeth(input: {
  containerId: string;
  /** The NIC's global addresses. */
  podAddresses: string[];
  /** The first NIC's global addresses (the same as podAddresses for the first NIC). */
  firstNicAddresses?: string[];
  /**
   * The node's global addresses (the pair's own end left out), the one the node reaches the pod
   * from first (Spiderpool's GetAllHostIPRouteForPod order).
   */
  hostAddresses: string[];
  hostRuleTable: number;
  /** The NIC's policy table (0 for the first NIC: main). */
  podTable: number;
  /** True for the pod's first NIC. */
  first?: boolean;
  hijackCIDR?: string[];
}): HostVethPlan {
  const families = new Set(input.podAddresses.map(isV6));
  const nodeAddresses = input.hostAddresses.filter((a) => families.has(isV6(a)));
  const gateway = (v6: boolean) => nodeAddresses.find((a) => isV6(a) === v6);
  const src = (v6: boolean) =>
    v6 ? undefined : (input.firstNicAddresses ?? input.podAddresses).find((a) => !isV6(a));
  const viaNode = (dst: string, table: number): PodRoute[] => {
    const v6 = isV6(dst);
    const via = gateway(v6);
    if (!via) return []; // Spiderpool skips a family the node has no address of
    const from = src(v6);
    return [{ dst, table, via, ...(from ? { src: from } : {}) }];
  };
  const replyFamilies = [...families].map((v6) => (v6 ? 6 : 4) as 4 | 6);
  return {
    hostVeth: hostVethName(input.containerId),
    hostRules: input.podAddresses.map((a) => ({ to: hostPrefix(a), table: input.hostRuleTable })),
    hostRoutes: input.podAddresses.map((a) => ({ dst: hostPrefix(a), table: input.hostRuleTable })),
    hostNeighbours: [...input.podAddresses],
    podRoutes: nodeAddresses.map((a) => ({ dst: hostPrefix(a), table: input.podTable })),
    podNeighbours: input.first ? nodeAddresses : [],
    hijackRoutes: (input.hijackCIDR ?? []).flatMap((cidr) => viaNode(cidr, input.podTable)),
    ...(input.first
      ? {
          replyViaVeth: {
            families: replyFamilies,
            defaults: replyFamilies.flatMap((f) => viaNode(f === 6 ? '::/0' : '0.0.0.0/0', podReplyTable)),
          },
        }
      : {}),
  };
}
