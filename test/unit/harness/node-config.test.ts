import { parse } from 'yaml';
import {
  containerdConfig,
  gatewayAddress,
  kubeletConfig,
  kubeProxyConfig,
  machinePaths,
  machineScript,
  nodeAddress,
  pickNodeSubnet,
  podNetworkConflist,
} from '../../harness/nodes/config.js';

const node = {
  name: 'node-1',
  dir: '/tmp/cp/nodes/node-1',
  address: '198.19.240.11',
  containerdSocket: '/tmp/cp/nodes/node-1/containerd.sock',
  kubeconfig: '/tmp/cp/admin.kubeconfig',
  sandboxImage: 'localhost/busybox:1',
};

describe('node addresses', () => {
  it('takes the first /24 of 198.19.240-254 the host has no address in', () => {
    expect(pickNodeSubnet(['127.0.0.1', '192.0.2.2'])).toBe('198.19.240');
    expect(pickNodeSubnet(['198.19.240.1', '198.19.241.7'])).toBe('198.19.242');
    const all = Array.from({ length: 15 }, (_, i) => `198.19.${240 + i}.1`);
    expect(() => pickNodeSubnet(all)).toThrow(/no free \/24/);
  });

  it('puts the gateway at .1 and node i at .11+i', () => {
    const net = { prefix: '198.19.240', bridge: 'br' };
    expect(gatewayAddress(net)).toBe('198.19.240.1');
    expect(nodeAddress(net, 0)).toBe('198.19.240.11');
    expect(nodeAddress(net, 1)).toBe('198.19.240.12');
    expect(() => nodeAddress(net, 201)).toThrow(/node index 201/);
  });
});

describe('node configuration files', () => {
  it("gives containerd the node's own root, state and socket, and clamps oom_score_adj", () => {
    const toml = containerdConfig(node);
    expect(toml).toContain(`root = "${node.dir}/containerd/root"`);
    expect(toml).toContain(`state = "${node.dir}/containerd/state"`);
    expect(toml).toContain(`address = "${node.containerdSocket}"`);
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('sandbox_image = "localhost/busybox:1"');
    expect(toml).toContain('conf_dir = "/etc/cni/net.d"');
  });

  it('points kubelet at its containerd and serves on the node address', () => {
    const config = parse(kubeletConfig(node)) as Record<string, unknown>;
    expect(config.kind).toBe('KubeletConfiguration');
    expect(config.containerRuntimeEndpoint).toBe(`unix://${node.containerdSocket}`);
    expect(config.address).toBe(node.address);
    expect(config.cgroupDriver).toBe('cgroupfs');
    expect(config.cgroupsPerQOS).toBe(false);
  });

  it('runs kube-proxy in iptables mode for its node without touching conntrack sizes', () => {
    const config = parse(kubeProxyConfig(node)) as Record<string, unknown>;
    expect(config.mode).toBe('iptables');
    expect(config.hostnameOverride).toBe('node-1');
    expect(config.clientConnection).toEqual({ kubeconfig: node.kubeconfig });
    expect(config.conntrack).toMatchObject({ maxPerCore: 0, min: 0 });
  });

  it('makes the pod network a bridge whose IPAM is the plugin', () => {
    const conflist = JSON.parse(podNetworkConflist()) as { plugins: Array<Record<string, unknown>> };
    expect(conflist.plugins).toEqual([
      expect.objectContaining({ type: 'bridge', bridge: 'cni0', ipam: { type: 'spiderpool' } }),
    ]);
  });

  it("binds each machine path to the node's folder, then execs containerd", () => {
    const script = machineScript(node, '/usr/bin/containerd', '/c.toml').split('\n');
    expect(script[0]).toBe('set -e');
    for (const path of machinePaths) {
      expect(script).toContain(
        `mkdir -p '${node.dir}/machine${path}' '${path}' && mount --bind '${node.dir}/machine${path}' '${path}'`,
      );
    }
    expect(script.at(-1)).toBe("exec '/usr/bin/containerd' --config '/c.toml'");
  });
});
