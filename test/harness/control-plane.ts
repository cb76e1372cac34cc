// A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager and,
// optionally, kube-scheduler and KubeVirt's virt-controller, built from their Go modules (see
// binaries.ts). With KubeVirt, its CRDs, namespace, KubeVirt CR and schedulable Nodes are set up too
// (kubevirt.ts); the nodes' kubelet and virt-handler are the node agent's (node-agent/), or, with
// real nodes (nodes/), kubelet is real and the agent plays virt-handler only.
//
// Everything about a running control plane lives in `<dir>/state.json`, so any process can attach
// to it, restart a component (tests of API server and etcd outages) or stop it. Each control plane
// has its own folder and ports, so two test runs never share data or ports.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { RestClient } from '../../kube/rest.js';
import { ensureBinaries, moduleVersion } from './binaries.js';
import {
  defaultKubeVirtNodes,
  ensureKubeVirtCr,
  ensureKubeVirtCrds,
  makeNodesKubeVirtSchedulable,
  registerKubeVirtNodes,
  virtControllerLeads,
} from './kubevirt.js';
import { clusterNetwork, ensureClusterNetwork } from './multus/cluster-network.js';
import { multusBinary, multusType } from './multus/executable.js';
import { gatewayAddress, podNetworkConflist, serviceClusterIpRange } from './nodes/config.js';
import { buildLauncherImage, launcherImage } from './nodes/launcher-image.js';
import {
  createNodeNetwork,
  importImage,
  type NodeRecord,
  type NodesState,
  startNodes,
  stopNodes,
} from './nodes/nodes.js';
import { ensurePki } from './pki.js';
import { isRunning, type ProcessRecord, startDetached, stopProcess, tail } from './processes.js';
import { newToken, type TestUserName, testUsers, tokenFileLine } from './users.js';

export type Component =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'virt-controller';

export interface KubeVirtOptions {
  /** Node objects to register as schedulable KubeVirt nodes (default kv-node-1, kv-node-2). */
  nodes?: string[];
  /** The KubeVirt CR's spec.configuration (default empty). */
  configuration?: Record<string, unknown>;
  /**
   * With real nodes: Multus's cluster network, `namespace/name` of the NetworkAttachmentDefinition
   * pods without a default-network annotation get as eth0, for the caller to create (default: the
   * test bed's `kube-system/testbed-pod-network`, created at start).
   */
  clusterNetwork?: string;
}

export interface ControlPlaneOptions {
  /** Folder for certificates, kubeconfigs, logs and state; etcd data goes to /dev/shm when present. */
  dir: string;
  /** Which optional components to run (default: both). */
  scheduler?: boolean;
  controllerManager?: boolean;
  /**
   * KubeVirt: its CRDs, namespace and CR, schedulable Nodes and virt-controller (default: off). Needs
   * the scheduler, which binds launcher pods to the nodes. With `nodes` the real nodes are KubeVirt's
   * instead of Node objects: made schedulable as virt-handler leaves them, the Multus stand-in in
   * front of their CNI chain, the stand-in virt-launcher image imported (docs/testbed.md, "KubeVirt
   * on real nodes").
   */
  kubevirt?: boolean | KubeVirtOptions;
  /**
   * Real nodes (containerd, kubelet, kube-proxy each; nodes/), named node-1, node-2, ... (default:
   * none). With nodes the API server listens on the nodes' bridge instead of 127.0.0.1, admits
   * service accounts, and resolves webhook Services to their endpoints; kube-controller-manager runs
   * what nodes and workloads need (docs/testbed.md, "Real nodes").
   */
  nodes?: number;
  /** Extra flags per component, e.g. { 'kube-apiserver': ['--etcd-compaction-interval=10s'] }. */
  extraArgs?: Partial<Record<Component, string[]>>;
  log?: (line: string) => void;
}

interface State {
  dir: string;
  etcdDataDir: string;
  server: string;
  ports: { etcdClient: number; etcdPeer: number; apiserver: number };
  tokens: Record<TestUserName, string>;
  processes: Partial<Record<Component, ProcessRecord>>;
  /** Present when KubeVirt runs: the nodes registered for it. */
  kubevirt?: { nodes: string[] };
  /** Present with real nodes: their bridge and each node's namespaces, folder and processes. */
  nodes?: NodesState;
}

/** kube-controller-manager's controllers without nodes: owners and namespaces only. */
const baseControllers = ['garbage-collector-controller', 'namespace-controller'];
/** ... and with real nodes: what nodes, DaemonSets, Deployments, Services and pods' tokens need. */
const nodeControllers = [
  ...baseControllers,
  'node-lifecycle-controller',
  'taint-eviction-controller',
  'daemonset-controller',
  'deployment-controller',
  'replicaset-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'pod-garbage-collector-controller',
];

interface NodeObject {
  spec?: { taints?: Array<{ key: string }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** The real nodes' names: node-1, node-2, ... */
const nodeNames = (count: number) => Array.from({ length: count }, (_, i) => `node-${i + 1}`);

const startOrder: Component[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'virt-controller',
];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export class ControlPlane {
  private constructor(private state: State) {}

  get dir(): string {
    return this.state.dir;
  }

  /** The API server's URL, e.g. https://127.0.0.1:34567. */
  get server(): string {
    return this.state.server;
  }

  get caFile(): string {
    return join(this.state.dir, 'pki', 'ca.crt');
  }

  /** Kubeconfig of one of the test users; `admin.kubeconfig` is also at the top of the folder. */
  kubeconfigPath(user: TestUserName = 'admin'): string {
    return join(this.state.dir, 'kubeconfigs', `${user}.kubeconfig`);
  }

  get adminKubeconfig(): string {
    return join(this.state.dir, 'admin.kubeconfig');
  }

  token(user: TestUserName): string {
    return this.state.tokens[user];
  }

  /** True when this control plane runs KubeVirt (virt-controller and its nodes). */
  get kubevirt(): boolean {
    return this.state.kubevirt !== undefined;
  }

  /** The real nodes (none unless started with `nodes`). */
  get nodes(): NodeRecord[] {
    return [...(this.state.nodes?.nodes ?? [])];
  }

  /** Imports an OCI archive into every node's containerd as `<repository>:<its tag>`. */
  async importImage(archive: string, repository: string): Promise<void> {
    for (const node of this.nodes) await importImage(node, archive, repository);
  }

  /** The schedulable KubeVirt nodes registered at start (none without KubeVirt). */
  get kubevirtNodes(): string[] {
    return [...(this.state.kubevirt?.nodes ?? [])];
  }

  private readonly startedAt: Partial<Record<Component, number>> = {};

  private adminConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath('admin'));
    return kc;
  }

  /**
   * Starts a control plane. Ports are picked free and then bound by the components, so another
   * process can take one in between; a start that fails on a taken port is retried with new ports.
   */
  static async start(opts: ControlPlaneOptions): Promise<ControlPlane> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ControlPlane.startOnce(opts);
      } catch (err) {
        const portTaken = err instanceof Error && /address already in use/.test(err.message);
        if (!portTaken || attempt >= 3) throw err;
        opts.log?.(`a port was taken during start-up; retrying with new ports (attempt ${attempt + 1})`);
      }
    }
  }

  private static async startOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
    const log = opts.log ?? (() => {});
    const etcdBin = ensureBinaries('etcd', log);
    const k8sBin = ensureBinaries('k8s', log);
    const dir = opts.dir;
    for (const sub of ['pki', 'kubeconfigs', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
    // Nodes reach the API server on their bridge, so it exists before anything else.
    const nodeNetwork = opts.nodes ? await createNodeNetwork(process.pid.toString(36)) : undefined;
    const host = nodeNetwork ? gatewayAddress(nodeNetwork) : '127.0.0.1';
    let pki: ReturnType<typeof ensurePki>;
    try {
      pki = ensurePki(join(dir, 'pki'), nodeNetwork ? [host] : []);
    } catch (err) {
      if (nodeNetwork) await stopNodes({ ...nodeNetwork, nodes: [] });
      throw err;
    }

    const tokens = Object.fromEntries(Object.keys(testUsers).map((u) => [u, newToken()])) as Record<
      TestUserName,
      string
    >;
    writeFileSync(
      join(dir, 'pki', 'tokens.csv'),
      `${Object.entries(testUsers)
        .map(([key, user]) => tokenFileLine(tokens[key as TestUserName], user))
        .join('\n')}\n`,
      { mode: 0o600 },
    );

    const ports = { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
    const kubevirt = opts.kubevirt ? (opts.kubevirt === true ? {} : opts.kubevirt) : undefined;
    if (kubevirt && opts.scheduler === false) throw new Error('KubeVirt needs the scheduler');
    const kubevirtBin = kubevirt ? ensureBinaries('kubevirt', log) : '';
    const shm = existsSync('/dev/shm') ? '/dev/shm' : dir;
    const etcdDataDir = join(shm, `spiderpool-ts-etcd-${ports.etcdClient}-${process.pid}`);
    const server = `https://${host}:${ports.apiserver}`;
    const state: State = {
      dir,
      etcdDataDir,
      server,
      ports,
      tokens,
      processes: {},
      ...(nodeNetwork ? { nodes: { ...nodeNetwork, nodes: [] } } : {}),
    };
    const cp = new ControlPlane(state);
    cp.save();
    cp.writeKubeconfigs();

    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    const argv: Record<Component, { bin: string; args: string[] }> = {
      etcd: {
        bin: join(etcdBin, 'etcd'),
        args: [
          `--data-dir=${etcdDataDir}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=default=${peerUrl}`,
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
      },
      'kube-apiserver': {
        bin: join(k8sBin, 'kube-apiserver'),
        args: [
          `--etcd-servers=${etcdUrl}`,
          `--bind-address=${host}`,
          `--secure-port=${ports.apiserver}`,
          `--tls-cert-file=${pki.apiserverCert}`,
          `--tls-private-key-file=${pki.apiserverKey}`,
          `--client-ca-file=${pki.caCert}`,
          `--token-auth-file=${join(dir, 'pki', 'tokens.csv')}`,
          `--service-account-issuer=${server}`,
          `--service-account-key-file=${pki.serviceAccountPub}`,
          `--service-account-signing-key-file=${pki.serviceAccountKey}`,
          `--service-cluster-ip-range=${serviceClusterIpRange}`,
          '--authorization-mode=RBAC',
          '--allow-privileged=true',
          '--profiling=false',
          ...(nodeNetwork
            ? [
                // Pods get service-account tokens (the controllers below make the accounts).
                '--enable-admission-plugins=ServiceAccount',
                // Webhook and aggregated API Services are dialled at an endpoint's address, as on
                // control planes that run no kube-proxy; the nodes' addresses are on the bridge.
                '--enable-aggregator-routing=true',
                '--kubelet-preferred-address-types=InternalIP',
                // virt-controller v1.6.0 (k8s.io/api v0.32) patches a launcher pod's conditions with
                // a JSON-patch `test` of the conditions as it decodes them; kubelet v1.34 adds
                // `observedGeneration` to each (PodObservedGenerationTracking, beta and on by default
                // in 1.34), a field v0.32 drops, so every such test fails. With the gate off the API
                // server drops the field, as in 1.33, where the gate was alpha and off
                // (pkg/features/kube_features.go, pkg/api/pod/util.go dropDisabledPodStatusFields).
                ...(kubevirt ? ['--feature-gates=PodObservedGenerationTracking=false'] : []),
              ]
            : // No service-account controller runs, so no namespace has a `default` ServiceAccount.
              ['--disable-admission-plugins=ServiceAccount']),
        ],
      },
      'kube-controller-manager': {
        bin: join(k8sBin, 'kube-controller-manager'),
        args: [
          `--kubeconfig=${cp.kubeconfigPath('admin')}`,
          `--controllers=${(nodeNetwork ? nodeControllers : baseControllers).join(',')}`,
          ...(nodeNetwork
            ? [`--root-ca-file=${pki.caCert}`, `--service-account-private-key-file=${pki.serviceAccountKey}`]
            : []),
          '--leader-elect=false',
          '--use-service-account-credentials=false',
          '--secure-port=0',
        ],
      },
      'kube-scheduler': {
        bin: join(k8sBin, 'kube-scheduler'),
        args: [`--kubeconfig=${cp.kubeconfigPath('admin')}`, '--leader-elect=false', '--secure-port=0'],
      },
      // It serves its metrics and health over TLS with certificates from /etc/virt-controller/, which
      // do not exist here: it logs two fatal-level lines about them and keeps running.
      'virt-controller': {
        bin: join(kubevirtBin, 'virt-controller'),
        args: [
          `--kubeconfig=${cp.kubeconfigPath('admin')}`,
          '--listen=127.0.0.1',
          `--port=${await freePort()}`,
        ],
      },
    };
    const wanted = startOrder.filter(
      (c) =>
        (c !== 'kube-controller-manager' || opts.controllerManager !== false) &&
        (c !== 'kube-scheduler' || opts.scheduler !== false) &&
        (c !== 'virt-controller' || kubevirt !== undefined),
    );
    try {
      for (const component of wanted) {
        const { bin, args } = argv[component];
        const allArgs = [...args, ...(opts.extraArgs?.[component] ?? [])];
        cp.startedAt[component] = Date.now();
        state.processes[component] = startDetached(bin, allArgs, join(dir, 'logs', `${component}.log`));
        cp.save();
        await cp.waitReady(component);
        if (component === 'kube-apiserver' && kubevirt) {
          // Before kube-controller-manager starts, so its garbage collector knows KubeVirt's kinds
          // (the owners of launcher pods and VMIs) from its first discovery instead of 30 s later.
          const admin = cp.adminConfig();
          await ensureKubeVirtCrds(admin);
          await ensureKubeVirtCr(admin, kubevirt.configuration);
          if (opts.nodes) {
            // Real nodes register themselves; their pods' networks go through Multus.
            await ensureClusterNetwork(admin, kubevirt.clusterNetwork ? undefined : podNetworkConflist());
            state.kubevirt = { nodes: nodeNames(opts.nodes) };
          } else {
            const nodes = kubevirt.nodes ?? defaultKubeVirtNodes;
            await registerKubeVirtNodes(admin, nodes);
            state.kubevirt = { nodes };
          }
          cp.save();
        }
      }
      if (opts.nodes) {
        const multusNetwork = kubevirt
          ? (kubevirt.clusterNetwork ?? `${clusterNetwork.namespace}/${clusterNetwork.name}`)
          : undefined;
        await cp.startNodes(opts.nodes, k8sBin, log, multusNetwork);
        if (kubevirt) {
          await makeNodesKubeVirtSchedulable(cp.adminConfig(), cp.kubevirtNodes);
          const launcher = buildLauncherImage(join(dir, 'nodes', 'launcher'));
          await cp.importImage(launcher.archive, launcherImage.repository);
        }
      }
    } catch (err) {
      await cp.stop();
      throw err;
    }
    const withNodes = cp.nodes.length > 0 ? `, nodes ${cp.nodes.map((n) => n.name).join(', ')}` : '';
    const withKubeVirt = kubevirt
      ? `, virt-controller ${moduleVersion('kubevirt')}${opts.nodes ? '' : ` with nodes ${cp.kubevirtNodes.join(', ')}`}`
      : '';
    log(
      `control plane ready at ${server}: kube-apiserver ${moduleVersion('k8s')}, etcd ${moduleVersion('etcd')}${withKubeVirt}${withNodes} (state in ${dir})`,
    );
    return cp;
  }

  /** Starts containerd, kubelet and kube-proxy per node; returns once every node is Ready and untainted. */
  private async startNodes(
    count: number,
    k8sBin: string,
    log: (line: string) => void,
    /** Multus in front of the pod network, with this cluster network (the KubeVirt set-up). */
    multusNetwork: string | undefined,
  ): Promise<void> {
    const nodes = this.state.nodes;
    if (!nodes) throw new Error('nodes: the control plane was started without their network');
    const names = nodeNames(count);
    await startNodes({
      ...(multusNetwork
        ? { multus: { binary: multusBinary(), type: multusType, clusterNetwork: multusNetwork } }
        : {}),
      dir: this.state.dir,
      names,
      network: nodes,
      kubeconfig: this.kubeconfigPath('admin'),
      k8sBin,
      log,
      onRecord: (node) => {
        nodes.nodes = [...nodes.nodes.filter((n) => n.name !== node.name), node];
        this.save();
      },
    });
    const rest = new RestClient(this.adminConfig());
    try {
      const deadline = Date.now() + 120_000;
      for (const name of names) {
        for (;;) {
          const node = await rest.get<NodeObject>(`/api/v1/nodes/${name}`).catch((): NodeObject => ({}));
          const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
          const tainted = (node.spec?.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/'));
          if (ready && !tainted) break;
          if (Date.now() > deadline) {
            throw new Error(
              `node ${name} not Ready and untainted after 120 s: ${JSON.stringify(node.status?.conditions ?? [])}`,
            );
          }
          await sleep(250);
        }
      }
    } finally {
      rest.close();
    }
  }

  /** Attaches to a control plane started by this or another process. */
  static attach(dir: string): ControlPlane {
    return new ControlPlane(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State);
  }

  private save(): void {
    writeFileSync(join(this.state.dir, 'state.json'), `${JSON.stringify(this.state, null, 2)}\n`);
  }

  private reload(): void {
    this.state = (ControlPlane.attach(this.state.dir) as ControlPlane).state;
  }

  private writeKubeconfigs(): void {
    for (const user of Object.keys(testUsers) as TestUserName[]) {
      const doc = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'local', cluster: { server: this.state.server, 'certificate-authority': this.caFile } },
        ],
        users: [{ name: user, user: { token: this.state.tokens[user] } }],
        contexts: [{ name: user, context: { cluster: 'local', user, namespace: 'default' } }],
        'current-context': user,
      };
      writeFileSync(this.kubeconfigPath(user), stringify(doc), { mode: 0o600 });
    }
    writeFileSync(this.adminKubeconfig, readFileSync(this.kubeconfigPath('admin')), { mode: 0o600 });
  }

  /** The process id of a component as last started (undefined if it is not part of this control plane). */
  pid(component: Component): number | undefined {
    return this.state.processes[component]?.pid;
  }

  isRunning(component: Component): boolean {
    const rec = this.state.processes[component];
    return rec !== undefined && isRunning(rec);
  }

  /** Stops one component (for outage tests); `startComponent` brings it back with the same flags. */
  async stopComponent(component: Component): Promise<void> {
    this.reload();
    const rec = this.state.processes[component];
    if (rec) await stopProcess(rec);
  }

  async startComponent(component: Component): Promise<void> {
    this.reload();
    const rec = this.state.processes[component];
    if (!rec) throw new Error(`${component} is not part of this control plane`);
    if (isRunning(rec)) return;
    this.startedAt[component] = Date.now();
    this.state.processes[component] = startDetached(rec.bin, rec.args, rec.log, rec.env);
    this.save();
    await this.waitReady(component);
  }

  async restart(component: Component): Promise<void> {
    await this.stopComponent(component);
    await this.startComponent(component);
  }

  /** Stops the nodes (their containers too), then every process, children first; removes etcd's data. */
  async stop(): Promise<void> {
    if (existsSync(join(this.state.dir, 'state.json'))) this.reload();
    if (this.state.nodes) await stopNodes(this.state.nodes);
    for (const component of [...startOrder].reverse()) {
      const rec = this.state.processes[component];
      if (rec) await stopProcess(rec);
    }
    rmSync(this.state.etcdDataDir, { recursive: true, force: true });
    rmSync(join(this.state.dir, 'state.json'), { force: true });
  }

  private async waitReady(
    component: Component,
    timeoutMs = component === 'virt-controller' ? 120_000 : 60_000,
  ): Promise<void> {
    const rec = this.state.processes[component];
    if (!rec) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!isRunning(rec)) throw new Error(`${component} exited during start-up:\n${tail(rec.log)}`);
      if (await this.probe(component)) return;
      if (Date.now() > deadline)
        throw new Error(`${component} not ready after ${timeoutMs} ms:\n${tail(rec.log)}`);
      await sleep(100);
    }
  }

  private async probe(component: Component): Promise<boolean> {
    switch (component) {
      case 'etcd':
        return fetch(`http://127.0.0.1:${this.state.ports.etcdClient}/health`)
          .then((r) => r.ok)
          .catch(() => false);
      case 'kube-apiserver':
        return this.apiserverReady();
      case 'virt-controller': {
        // Ready once it leads: its controllers start when it holds the Lease.
        const rest = new RestClient(this.adminConfig());
        try {
          return await virtControllerLeads(rest, this.startedAt[component] ?? 0);
        } catch {
          return false;
        } finally {
          rest.close();
        }
      }
      default: {
        // Neither serves a port here (--secure-port=0): ready means it stayed up for a moment.
        await sleep(300);
        const rec = this.state.processes[component];
        return rec !== undefined && isRunning(rec);
      }
    }
  }

  /** GET /readyz, trusting only this control plane's CA. */
  apiserverReady(): Promise<boolean> {
    const ca = readFileSync(this.caFile);
    return new Promise((resolve) => {
      const req = request(`${this.state.server}/readyz`, { ca, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }
}
