// What the test bed's nodes are made of, as data: their addresses, and the configuration files of
// containerd, kubelet, kube-proxy and the node's CNI network. Pure; nodes.ts writes and runs them.
//
// Each node is a machine of its own as far as its processes can tell: a network namespace (one veth
// to a bridge in the host namespace, where the API server listens) and a mount namespace in which
// the folders a node's software writes at fixed paths (/etc/cni/net.d, /opt/cni/bin, /var/lib/cni,
// /var/log/pods, ...) are the node's own folders. So two nodes share one kernel without sharing
// ports, CNI files, containers or network state, and nothing reaches the host's own network.
import { stringify } from 'yaml';

/** Fixed paths of a Kubernetes node that node software writes; each node binds its own folder there. */
export const machinePaths = [
  '/etc/cni/net.d',
  '/opt/cni/bin',
  '/var/lib/cni',
  '/var/log/pods',
  '/var/log/containers',
  '/var/log/spidernet',
  '/var/run/netns',
] as const;

/** The API server's Service range; nodes route it on-link to their eth0 (see nodes.ts). */
export const serviceClusterIpRange = '10.0.0.0/24';

/** The host side: a /24 of 198.19.0.0/16 (benchmarking space, never routed) on a bridge. */
export interface NodeNetwork {
  /** First three octets, e.g. 198.19.240. */
  prefix: string;
  bridge: string;
}

export const nodeSubnetCandidates = Array.from({ length: 15 }, (_, i) => `198.19.${240 + i}`);

/** The bridge's address: the API server binds here, so the nodes can reach it. */
export function gatewayAddress(net: NodeNetwork): string {
  return `${net.prefix}.1`;
}

/** Node `index` (from 0) is `<prefix>.<11 + index>`. */
export function nodeAddress(net: NodeNetwork, index: number): string {
  if (index < 0 || index > 200) throw new Error(`node index ${index}: out of range 0..200`);
  return `${net.prefix}.${11 + index}`;
}

/** The first candidate /24 that no address of the host is in. */
export function pickNodeSubnet(hostAddresses: string[]): string {
  const used = new Set(hostAddresses.map((a) => a.split('.').slice(0, 3).join('.')));
  const free = nodeSubnetCandidates.find((p) => !used.has(p));
  if (!free) throw new Error(`no free /24 for the test bed's nodes among ${nodeSubnetCandidates.join(', ')}`);
  return free;
}

export interface NodeFiles {
  name: string;
  /** The node's own folder (containerd's root and state, kubelet's root, the bound machine paths). */
  dir: string;
  address: string;
  containerdSocket: string;
  kubeconfig: string;
  sandboxImage: string;
}

/** containerd 1.6 (config version 2) with the node's own root, state and socket (docs/testbed.md, "Real nodes"). */
export function containerdConfig(node: NodeFiles): string {
  return `version = 2
root = "${node.dir}/containerd/root"
state = "${node.dir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${node.containerdSocket}"

[ttrpc]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${node.dir}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${node.sandboxImage}"
  # This machine's kernel withholds CAP_SYS_RESOURCE, so runc cannot give a sandbox a negative
  # oom_score_adj; with this containerd clamps it instead of every sandbox failing.
  restrict_oom_score_adj = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
`;
}

/** KubeletConfiguration that runs on this machine (cgroupfs, no QoS cgroups, no auth webhooks). */
export function kubeletConfig(node: NodeFiles): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: node.address,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    containerRuntimeEndpoint: `unix://${node.containerdSocket}`,
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    failCgroupV1: false,
    resolvConf: '/etc/resolv.conf',
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    nodeStatusUpdateFrequency: '5s',
  });
}

/** kube-proxy in iptables mode inside the node's network namespace, touching no host-wide sysctl. */
export function kubeProxyConfig(node: NodeFiles): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: node.kubeconfig },
    hostnameOverride: node.name,
    bindAddress: node.address,
    mode: 'iptables',
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // 0: leave the kernel's conntrack settings alone (they are not all per namespace).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}

/**
 * The node's pod network, containerd's CNI configuration: a bridge inside the node's namespace whose
 * addresses come from the plugin (`ipam: spiderpool`, files at the plugin's default paths, which the
 * node DaemonSet writes). The bridge takes the pool's gateway.
 */
export function podNetworkConflist(): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'spiderpool-ts-testbed',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          ipam: { type: 'spiderpool' },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

/** Where a node's Multus stand-in finds its kubeconfig, as Multus's installer writes it. */
export const multusKubeconfigPath = '/etc/cni/net.d/multus.d/multus.kubeconfig';

/**
 * The node's CNI configuration with Multus in front (lexically first, so containerd uses it): the
 * Multus stand-in (../multus/meta-plugin.ts) with the options of Multus's own configuration file.
 * Pods without a default-network annotation get `clusterNetwork`, a NetworkAttachmentDefinition.
 */
export function multusConflist(type: string, clusterNetwork: string): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'multus-cni-network',
      plugins: [
        {
          type,
          kubeconfig: multusKubeconfigPath,
          clusterNetwork,
          multusNamespace: 'kube-system',
          binDir: '/opt/cni/bin',
          cniDir: '/var/lib/cni/multus',
        },
      ],
    },
    null,
    2,
  )}\n`;
}

/** The shell script that makes a node's mount namespace its own and then runs containerd. */
export function machineScript(node: NodeFiles, containerd: string, configFile: string): string {
  const binds = machinePaths.map((path) => {
    const own = `${node.dir}/machine${path}`;
    return `mkdir -p '${own}' '${path}' && mount --bind '${own}' '${path}'`;
  });
  return ['set -e', ...binds, `exec '${containerd}' --config '${configFile}'`].join('\n');
}
