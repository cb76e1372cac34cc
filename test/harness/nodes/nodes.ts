// Real nodes for the test bed: per node a network namespace, a mount namespace, containerd, kubelet
// and kube-proxy (config.ts says what each one is given). Everything a node runs is recorded in the
// control plane's state.json, and `stopNodes` finds and ends it from that record alone, also after
// the process that started it died: kubelet and kube-proxy by pid, the containers by their shims
// (whose command line names the node's containerd socket), then containerd; its mount namespace goes
// with its last process, taking the kubelet's volume mounts and the snapshots with it.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { buildOciArchive } from '../../../build/image.js';
import { debianCniDir } from '../netns.js';
import { isAlive, isRunning, type ProcessRecord, startDetached, stopProcess, tail } from '../processes.js';
import {
  containerdConfig,
  gatewayAddress,
  kubeletConfig,
  kubeProxyConfig,
  machineScript,
  multusConflist,
  multusKubeconfigPath,
  type NodeFiles,
  type NodeNetwork,
  nodeAddress,
  pickNodeSubnet,
  podNetworkConflist,
  serviceClusterIpRange,
} from './config.js';

const exec = promisify(execFile);

export type NodeComponent = 'containerd' | 'kubelet' | 'kube-proxy';

export interface NodeRecord {
  name: string;
  address: string;
  netns: string;
  /** The host end of the node's veth. */
  hostLink: string;
  dir: string;
  containerdSocket: string;
  processes: Partial<Record<NodeComponent, ProcessRecord>>;
}

export interface NodesState extends NodeNetwork {
  nodes: NodeRecord[];
}

/** The busybox image every node has: the pause image of its pods and the image of test pods. */
export const busyboxImage = { repository: 'localhost/spiderpool-ts-testbed/busybox', tag: '1' } as const;

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await exec('ip', args);
  return stdout;
}

async function linkExists(name: string): Promise<boolean> {
  return ip('link', 'show', name).then(
    () => true,
    () => false,
  );
}

/** The host bridge of the nodes, with the gateway address the API server will bind. */
export async function createNodeNetwork(tag: string): Promise<NodeNetwork> {
  const addrs = JSON.parse(await ip('-j', '-4', 'addr', 'show')) as Array<{
    addr_info?: Array<{ local: string }>;
  }>;
  const prefix = pickNodeSubnet(addrs.flatMap((l) => (l.addr_info ?? []).map((a) => a.local)));
  const bridge = `spnb${tag}`.slice(0, 15);
  await ip('link', 'add', bridge, 'type', 'bridge');
  const net = { prefix, bridge };
  try {
    await ip('addr', 'add', `${gatewayAddress(net)}/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
  } catch (err) {
    await ip('link', 'del', bridge).catch(() => {});
    throw err;
  }
  return net;
}

/**
 * A detached process started through nsenter/unshare/sh, which exec into `bin`: its record names
 * `bin`, so isRunning/stopProcess know it by what it ends up running.
 */
function startAs(bin: string, argv: string[], log: string): ProcessRecord {
  const [command, ...args] = argv as [string, ...string[]];
  return { ...startDetached(command, args, log), bin: realpathSync(bin), args: argv };
}

async function waitFor(what: string, rec: ProcessRecord, ready: () => Promise<boolean>, ms = 60_000) {
  const started = Date.now();
  for (;;) {
    if (await ready()) return;
    // nsenter, unshare and sh exec into the program: give that a moment before calling it dead.
    if (!isRunning(rec) && Date.now() > started + 3000) {
      throw new Error(`${what} exited during start-up:\n${tail(rec.log)}`);
    }
    if (Date.now() > started + ms) throw new Error(`${what} not ready after ${ms} ms:\n${tail(rec.log)}`);
    await sleep(200);
  }
}

function ctr(node: NodeRecord, ...args: string[]) {
  return exec('ctr', ['--address', node.containerdSocket, '--namespace', 'k8s.io', ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
}

/**
 * Imports an OCI archive into a node's containerd; its tag (`org.opencontainers.image.ref.name`)
 * becomes `<repository>:<tag>`.
 */
export async function importImage(node: NodeRecord, archive: string, repository: string): Promise<void> {
  await ctr(node, 'images', 'import', '--base-name', repository, archive);
}

/** The ids of pod `podUid`'s containers (`container`) or sandbox (`sandbox`) in the node's containerd. */
async function podContainers(
  node: NodeRecord,
  podUid: string,
  kind: 'container' | 'sandbox',
): Promise<string[]> {
  const { stdout } = await ctr(
    node,
    'containers',
    'ls',
    '--quiet',
    `labels."io.kubernetes.pod.uid"==${podUid},labels."io.cri-containerd.kind"==${kind}`,
  );
  return stdout.split('\n').filter(Boolean);
}

/**
 * The pid of pod `podUid`'s sandbox on `node` (its pause process), whose network namespace is the
 * pod's: `nsenter --target <pid> --net` looks inside.
 */
export async function podSandboxPid(node: NodeRecord, podUid: string): Promise<number> {
  const [sandbox] = await podContainers(node, podUid, 'sandbox');
  if (!sandbox) throw new Error(`pod ${podUid} has no sandbox on ${node.name}`);
  const { stdout } = await ctr(node, 'tasks', 'ls');
  const row = stdout.split('\n').find((line) => line.split(/\s+/)[0] === sandbox);
  const pid = Number(row?.split(/\s+/)[1]);
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`sandbox ${sandbox} of pod ${podUid} is not running on ${node.name}`);
  return pid;
}

/**
 * Sends `signal` to the running containers of pod `podUid` on `node` (not its sandbox), through the
 * node's containerd, as their processes ending on their own would look to kubelet. Returns how many
 * it signalled.
 */
export async function signalPodContainers(
  node: NodeRecord,
  podUid: string,
  signal = 'SIGTERM',
): Promise<number> {
  let signalled = 0;
  for (const id of await podContainers(node, podUid, 'container')) {
    // A container whose task already ended has nothing to signal.
    const sent = await ctr(node, 'tasks', 'kill', '--signal', signal, id).then(
      () => true,
      () => false,
    );
    if (sent) signalled++;
  }
  return signalled;
}

export interface StartNodesOptions {
  /** The control plane's folder; each node gets `<dir>/nodes/<name>`. */
  dir: string;
  names: string[];
  network: NodeNetwork;
  /** Kubeconfig of kubelet and kube-proxy (the admin's; its server is the gateway address). */
  kubeconfig: string;
  /** Folder of kubelet and kube-proxy. */
  k8sBin: string;
  /**
   * Multus in front of the pod network (the KubeVirt set-up): the stand-in's executable, linked into
   * the node's CNI bin folder as `multus`, and the cluster network it gives pods without a
   * default-network annotation.
   */
  multus?: { binary: string; type: string; clusterNetwork: string };
  /** Called with each node once its record exists, so a failed start can still be cleaned up. */
  onRecord: (node: NodeRecord) => void;
  log: (line: string) => void;
}

function nodeFiles(node: NodeRecord): NodeFiles {
  return {
    name: node.name,
    dir: node.dir,
    address: node.address,
    containerdSocket: node.containerdSocket,
    kubeconfig: '',
    sandboxImage: `${busyboxImage.repository}:${busyboxImage.tag}`,
  };
}

/** Starts the nodes one after another; returns once each kubelet and kube-proxy runs. */
export async function startNodes(opts: StartNodesOptions): Promise<void> {
  const busybox = buildOciArchive({
    files: { '/bin/busybox': '/bin/busybox' },
    withLibraries: false,
    entrypoint: ['/bin/busybox', 'sleep', '2147483647'],
    tag: busyboxImage.tag,
    out: join(opts.dir, 'nodes', 'busybox.oci.tar'),
  });
  const tag = process.pid.toString(36);
  for (const [index, name] of opts.names.entries()) {
    const dir = join(opts.dir, 'nodes', name);
    const node: NodeRecord = {
      name,
      address: nodeAddress(opts.network, index),
      netns: `spts-${tag}-${name}`,
      hostLink: `spnv${tag}${index}`.slice(0, 15),
      dir,
      containerdSocket: join(dir, 'containerd.sock'),
      processes: {},
    };
    opts.onRecord(node);
    await startNode(node, opts, busybox.archive);
    opts.log(`node ${name} up at ${node.address}`);
  }
}

async function startNode(node: NodeRecord, opts: StartNodesOptions, busyboxArchive: string) {
  const files = { ...nodeFiles(node), kubeconfig: opts.kubeconfig };
  mkdirSync(join(node.dir, 'logs'), { recursive: true });
  // The node's network: a veth whose far end is the node's eth0, no default route.
  await ip('netns', 'add', node.netns);
  await ip('link', 'add', node.hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns);
  await ip('link', 'set', node.hostLink, 'master', opts.network.bridge, 'up');
  await ip('-n', node.netns, 'link', 'set', 'lo', 'up');
  await ip('-n', node.netns, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0');
  await ip('-n', node.netns, 'link', 'set', 'eth0', 'up');
  // A route for Service addresses, so a local process's connection gets as far as kube-proxy's
  // DNAT (the kernel routes before OUTPUT's NAT). On-link, without a gateway: an address no rule
  // matches is never forwarded by the host.
  await ip('-n', node.netns, 'route', 'add', serviceClusterIpRange, 'dev', 'eth0');

  // The node's own CNI folders: Debian's plugins, and the pod network whose IPAM is the plugin.
  const machine = (path: string) => join(node.dir, 'machine', path);
  for (const path of ['/etc/cni/net.d', '/opt/cni/bin']) mkdirSync(machine(path), { recursive: true });
  for (const plugin of readdirSync(debianCniDir)) {
    const link = join(machine('/opt/cni/bin'), plugin);
    if (!existsSync(link)) symlinkSync(join(debianCniDir, plugin), link);
  }
  writeFileSync(join(machine('/etc/cni/net.d'), '10-spiderpool-ts-testbed.conflist'), podNetworkConflist());
  if (opts.multus) {
    // As Multus's installer does: its executable, a kubeconfig of the node's credentials, and a
    // configuration that sorts first.
    symlinkSync(opts.multus.binary, join(machine('/opt/cni/bin'), opts.multus.type));
    mkdirSync(dirname(machine(multusKubeconfigPath)), { recursive: true });
    writeFileSync(machine(multusKubeconfigPath), readFileSync(opts.kubeconfig), { mode: 0o600 });
    writeFileSync(
      join(machine('/etc/cni/net.d'), '00-multus.conflist'),
      multusConflist(opts.multus.type, opts.multus.clusterNetwork),
    );
  }

  const write = (file: string, text: string) => {
    writeFileSync(join(node.dir, file), text);
    return join(node.dir, file);
  };
  const containerdToml = write('containerd.toml', containerdConfig(files));
  const kubeletYaml = write('kubelet.yaml', kubeletConfig(files));
  const kubeProxyYaml = write('kube-proxy.yaml', kubeProxyConfig(files));
  const log = (c: NodeComponent) => join(node.dir, 'logs', `${c}.log`);

  const containerd = '/usr/bin/containerd';
  node.processes.containerd = startAs(
    containerd,
    [
      'nsenter',
      `--net=/var/run/netns/${node.netns}`,
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'slave',
      '--',
      '/bin/sh',
      '-c',
      machineScript(files, containerd, containerdToml),
    ],
    log('containerd'),
  );
  opts.onRecord(node);
  const containerdRec = node.processes.containerd;
  await waitFor(`containerd of ${node.name}`, containerdRec, () =>
    ctr(node, 'version').then(
      () => isRunning(containerdRec),
      () => false,
    ),
  );
  await importImage(node, busyboxArchive, busyboxImage.repository);

  const inNode = ['nsenter', `--target=${containerdRec.pid}`, '--mount', '--net', '--'];
  const kubelet = join(opts.k8sBin, 'kubelet');
  node.processes.kubelet = startAs(
    kubelet,
    [
      ...inNode,
      kubelet,
      `--config=${kubeletYaml}`,
      `--kubeconfig=${opts.kubeconfig}`,
      `--hostname-override=${node.name}`,
      `--node-ip=${node.address}`,
      `--root-dir=${join(node.dir, 'kubelet')}`,
      `--cert-dir=${join(node.dir, 'kubelet', 'pki')}`,
    ],
    log('kubelet'),
  );
  opts.onRecord(node);
  const kubeProxy = join(opts.k8sBin, 'kube-proxy');
  node.processes['kube-proxy'] = startAs(
    kubeProxy,
    [...inNode, kubeProxy, `--config=${kubeProxyYaml}`],
    log('kube-proxy'),
  );
  opts.onRecord(node);
  for (const c of ['kubelet', 'kube-proxy'] as const) {
    const rec = node.processes[c] as ProcessRecord;
    await waitFor(`${c} of ${node.name}`, rec, async () => {
      await sleep(1000);
      return isRunning(rec);
    });
  }
}

/** pid -> parent pid of every process on the machine. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  return parents;
}

/** The containerd shims serving `socket`: their command line is `... -address <socket> ...`. */
function shimsOf(socket: string): number[] {
  const shims: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('-address');
      if (/containerd-shim/.test(argv[0] ?? '') && at >= 0 && argv[at + 1] === socket)
        shims.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return shims;
}

/** SIGKILLs `roots` and all their descendants, children first; waits until they are gone. */
async function killTrees(roots: number[]): Promise<void> {
  const parents = parentPids();
  const doomed: number[] = [];
  const visit = (pid: number) => {
    for (const [child, parent] of parents) if (parent === pid) visit(child);
    doomed.push(pid);
  };
  for (const root of roots) visit(root);
  for (const pid of doomed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while (doomed.some(isAlive) && Date.now() < deadline) await sleep(50);
}

/** Stops and removes one node: processes, containers, namespaces, folder. Safe to repeat. */
export async function stopNode(node: NodeRecord): Promise<void> {
  for (const c of ['kubelet', 'kube-proxy'] as const) {
    const rec = node.processes[c];
    if (rec) await stopProcess(rec, 5_000);
  }
  await killTrees(shimsOf(node.containerdSocket));
  if (node.processes.containerd) await stopProcess(node.processes.containerd, 5_000);
  // Anything still in the node's network namespace is the node's (a process a shim left behind).
  if (existsSync(`/var/run/netns/${node.netns}`)) {
    const pids = (await ip('netns', 'pids', node.netns).catch(() => ''))
      .split('\n')
      .filter((p) => /^\d+$/.test(p))
      .map(Number);
    if (pids.length > 0) await killTrees(pids);
    await ip('netns', 'del', node.netns).catch(() => {});
  }
  if (await linkExists(node.hostLink)) await ip('link', 'del', node.hostLink).catch(() => {});
  rmSync(node.dir, { recursive: true, force: true });
}

/** Stops every node, then removes the bridge. */
export async function stopNodes(state: NodesState): Promise<void> {
  for (const node of state.nodes) await stopNode(node);
  if (await linkExists(state.bridge)) await ip('link', 'del', state.bridge);
}
