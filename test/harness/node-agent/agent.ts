// The node agent: kubelet and virt-handler for the Node objects it is given, so KubeVirt's real
// virt-controller and kube-scheduler can run VMs on a control plane without real nodes.
//
// Each node is a network namespace of its own ("the node's"), where its CNI plugins run, so what
// they make on the node (a coordinator's veth ends, rules, neighbour entries) stays there and never
// touches this machine's namespace; the API server is reached from it at its usual address through
// a Unix-socket bridge (../netns-api-bridge.ts), and `uplink()` gives the nodes a shared link for
// macvlan masters.
// kubelet: every pod bound to one of its nodes gets a network namespace and the CNI chain through
// Multus's delegation (multus.ts: Debian's plugins from /usr/lib/cni calling the compiled spiderpool
// as IPAM), then the status kubelet writes (pod-status.ts). A pod being deleted gets CNI DEL (reverse
// order), loses its namespace and is removed with grace period 0; a pod that finished (Succeeded or
// Failed) gets its DEL too.
// virt-handler: a VMI scheduled on one of its nodes goes Running (Ready, LiveMigratable per KubeVirt's
// rule, selinuxContext, interfaces from the launcher pod's network-status); a migration is answered as
// the target and source handlers do (or failed, or held for a test to decide; an abort request is
// honoured); a VMI being deleted goes Succeeded. Migrations KubeVirt cannot run are refused at
// admission (webhook.ts), as virt-api does.
// With `kubelet: false` (the test bed's real nodes) kubelet and the Multus stand-in are real: the
// agent is virt-handler only, and ends a launcher through the node's containerd where it would write
// the pod's final phase.
//
// Level-triggered: watches only wake the reconcile pass, which lists what it needs; a periodic
// resync covers missed events. Work on one pod or VMI never runs twice at once.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import {
  kubevirtGroup,
  kubevirtKinds,
  kubevirtVersion,
  multusAnnotations,
  type VirtualMachineInstance,
} from '../../../api/index.js';
import { networkAttachmentDefinitionCrd } from '../../../cdk8s/charts/multus-crd.js';
import { apiStatus, describeApiError, isNotFound } from '../../../kube/errors.js';
import { contentTypes, RestClient } from '../../../kube/rest.js';
import { pluginDir } from '../cni-plugin.js';
import type { ControlPlane } from '../control-plane.js';
import { applyCrds } from '../crds.js';
import { heartbeatNode, kubevirtCrName, kubevirtNamespace } from '../kubevirt.js';
import {
  type Attachment,
  addAttachment,
  type DelegateEnv,
  delAttachment,
  type NetworkStatus,
  networkStatus,
  planAttachments,
  readNetwork,
  type SandboxRef,
} from '../multus/delegation.js';
import { debianCniDir } from '../netns.js';
import { type ApiBridge, bridgeApiServer } from '../netns-api-bridge.js';
import { failedDomainSignal } from '../nodes/launcher-image.js';
import { signalPodContainers } from '../nodes/nodes.js';
import { ensureServingCert } from '../pki.js';
import type { TestUserName } from '../users.js';
import { type BindingPlugins, type Condition, liveMigratableCondition } from './migratable.js';
import { finishedStatus, isRunningAsWanted, runningStatus } from './pod-status.js';
import {
  type MigrationWebhook,
  serveMigrationWebhook,
  servingPidLabel,
  webhookConfigurations,
} from './webhook.js';

const exec = promisify(execFile);

/** What the agent does with a live migration once the target is ready. */
export type MigrationOutcome = 'complete' | 'fail' | 'hold';

export interface NodeAgentOptions {
  controlPlane: ControlPlane;
  /** The Node objects this agent is kubelet and virt-handler for (default: the control plane's KubeVirt nodes). */
  nodes?: string[];
  /** Folder for the log, per-node plugin configuration and plugin logs (default: a new temporary one). */
  dir?: string;
  /** Multus's cluster default network (`[ns/]name`) for pods without a default-network annotation. */
  clusterNetwork?: string;
  /** Multus's namespace: where a default network named without one lives (default kube-system). */
  multusNamespace?: string;
  /** The plugin's node switches (enableKubevirtStaticIP, enableIPConflictDetection, ...). */
  nodeSettings?: Record<string, boolean>;
  /** The identity the compiled plugin talks to the API server as (default `cni`). */
  pluginUser?: TestUserName;
  /** Decides each migration's outcome once its target is ready (default: complete). */
  migrations?: (vmi: VirtualMachineInstance) => MigrationOutcome;
  /** Serve virt-api's migration admission (default true; one agent per control plane is enough). */
  webhook?: boolean;
  /**
   * Play kubelet too (default true): for Node objects without one. false on the test bed's real
   * nodes, where kubelet runs the launcher pods and containerd's CNI chain makes their networks:
   * the agent is virt-handler only, and a launcher that no longer runs a domain is ended through
   * the node's containerd.
   */
  kubelet?: boolean;
  /** Periodic full reconcile, in ms (default 2000). */
  resyncMs?: number;
}

interface Sandbox {
  ref: SandboxRef;
  netns: string;
  node: string;
  attachments: Attachment[];
  podIPs: string[];
  startedAt: string;
}

type Vmi = VirtualMachineInstance & {
  status?: VirtualMachineInstance['status'] & {
    conditions?: Array<Condition & Record<string, unknown>>;
    migrationState?: Record<string, unknown> & {
      abortRequested?: boolean;
      targetNodeAddress?: string;
    };
  };
};

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const vmiPath = (ns: string, name: string) =>
  `/apis/${kubevirtGroup}/${kubevirtVersion}/namespaces/${ns}/${kubevirtKinds.vmi.plural}/${name}`;
const podPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`;
const strategicMerge = 'application/strategic-merge-patch+json';

let agents = 0;

export class NodeAgent {
  readonly nodes: string[];
  readonly dir: string;
  readonly logFile: string;
  private readonly rest: RestClient;
  private readonly kc: KubeConfig;
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly busy = new Set<string>();
  private readonly backoff = new Map<string, { until: number; delayMs: number }>();
  private readonly decisions = new Map<string, MigrationOutcome>();
  private readonly watches: AbortController[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private passRunning = false;
  private passWanted = false;
  private webhook: MigrationWebhook | undefined;
  private webhookName: string | undefined;
  private bindings: BindingPlugins = {};
  private readonly delegates: DelegateEnv;
  /** Node name -> its network namespace. */
  private readonly nodeNamespaces = new Map<string, string>();
  private readonly apiBridges: ApiBridge[] = [];
  /** The namespace whose bridge joins the nodes' uplinks, made by the first uplink(). */
  private fabric: string | undefined;
  private uplinks = 0;

  private constructor(private readonly opts: NodeAgentOptions) {
    const cp = opts.controlPlane;
    this.nodes = opts.nodes ?? cp.kubevirtNodes;
    if (this.nodes.length === 0) throw new Error('the node agent needs at least one node');
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'spiderpool-ts-node-agent-'));
    mkdirSync(this.dir, { recursive: true });
    this.logFile = join(this.dir, 'node-agent.log');
    this.kc = new KubeConfig();
    this.kc.loadFromFile(cp.kubeconfigPath('admin'));
    this.rest = new RestClient(this.kc);
    const pluginKubeconfig = cp.kubeconfigPath(opts.pluginUser ?? 'cni');
    for (const node of this.nodes) {
      mkdirSync(join(this.dir, node), { recursive: true });
      writeFileSync(
        this.nodeConfigPath(node),
        JSON.stringify({
          nodeName: node,
          multusNamespace: opts.multusNamespace ?? 'kube-system',
          ...(opts.clusterNetwork ? { clusterNetwork: opts.clusterNetwork } : {}),
          ...opts.nodeSettings,
        }),
      );
    }
    const cniPath = [debianCniDir, pluginDir()];
    this.delegates = { cniPath, localise: (conf) => conf };
    // Where a real node's installer would have put the plugin's node configuration and kubeconfig,
    // one machine here holds several nodes: each node's spiderpool IPAM gets its own paths.
    this.localiseFor = (node: string) => (conf: Record<string, unknown>) => {
      if (conf.type === 'coordinator')
        return {
          ...conf,
          kubernetes: { kubeconfig: pluginKubeconfig, ...(conf.kubernetes as object | undefined) },
        };
      const ipam = conf.ipam as Record<string, unknown> | undefined;
      if (ipam?.type !== 'spiderpool') return conf;
      return {
        ...conf,
        ipam: {
          node_config_path: this.nodeConfigPath(node),
          state_dir: join(this.dir, node, 'state'),
          log_file_path: this.pluginLog(node),
          ...ipam,
          kubernetes: { kubeconfig: pluginKubeconfig, ...(ipam.kubernetes as object | undefined) },
        },
      };
    };
  }

  private readonly localiseFor: (node: string) => (conf: Record<string, unknown>) => Record<string, unknown>;

  /** Starts the agent: node heartbeats, the webhook, watches and the first reconcile pass. */
  static async start(opts: NodeAgentOptions): Promise<NodeAgent> {
    const agent = new NodeAgent(opts);
    try {
      await agent.begin();
    } catch (err) {
      await agent.stop();
      throw err;
    }
    return agent;
  }

  nodeConfigPath(node: string): string {
    return join(this.dir, node, 'config.json');
  }

  /** The compiled plugin's log on `node`. */
  pluginLog(node: string): string {
    return join(this.dir, node, 'spiderpool.log');
  }

  /** The network namespace (a name under /var/run/netns) of a running pod, if the agent runs it. */
  netnsOf(namespace: string, podName: string): string | undefined {
    for (const sb of this.sandboxes.values())
      if (sb.ref.namespace === namespace && sb.ref.podName === podName) return sb.netns;
    return undefined;
  }

  /** Pods whose sandbox the agent holds now: `<namespace>/<name>`. */
  pods(): string[] {
    return [...this.sandboxes.values()].map((sb) => `${sb.ref.namespace}/${sb.ref.podName}`);
  }

  /** Completes a held migration of VMI `namespace/name` (see `migrations`). */
  completeMigration(namespace: string, name: string): void {
    this.decisions.set(`${namespace}/${name}`, 'complete');
    this.kick();
  }

  /** Fails a held (or not yet completed) migration of VMI `namespace/name`, as a failing target would. */
  failMigration(namespace: string, name: string): void {
    this.decisions.set(`${namespace}/${name}`, 'fail');
    this.kick();
  }

  log(line: string): void {
    appendFileSync(this.logFile, `${new Date().toISOString()} ${line}\n`);
  }

  /** The network namespace (a name under /var/run/netns) node `node`'s plugins run in. */
  nodeNetns(node: string): string {
    const ns = this.nodeNamespaces.get(node);
    if (!ns) throw new Error(`${node} is not a node of this agent`);
    return ns;
  }

  /**
   * A link of one name in every node's namespace (a macvlan `master`), all ends joined by a bridge in
   * the agent's fabric namespace, as the nodes' NICs on one switch; returns the name.
   */
  async uplink(): Promise<string> {
    const tag = `${process.pid.toString(36)}${(this.uplinks++).toString(36)}`;
    const name = `upl${tag}`;
    if (!this.fabric) {
      const fabric = `spfabric-${tag}-${randomBytes(3).toString('hex')}`;
      await exec('ip', ['netns', 'add', fabric]);
      this.fabric = fabric;
      await exec('ip', ['-n', fabric, 'link', 'add', 'fabric0', 'type', 'bridge']);
      await exec('ip', ['-n', fabric, 'link', 'set', 'fabric0', 'up']);
    }
    for (const [i, node] of this.nodes.entries()) {
      const ns = this.nodeNetns(node);
      const port = `${name}n${i}`;
      await exec('ip', [
        '-n',
        ns,
        'link',
        'add',
        name,
        'type',
        'veth',
        'peer',
        'name',
        port,
        'netns',
        this.fabric,
      ]);
      await exec('ip', ['-n', ns, 'link', 'set', name, 'up']);
      await exec('ip', ['-n', this.fabric, 'link', 'set', port, 'master', 'fabric0', 'up']);
    }
    return name;
  }

  /**
   * One namespace per node, with the API server bridged in and the node's address (nodeAddress) on
   * its loopback: the address its pods reach it at through a coordinator's veth0.
   */
  private async makeNodeNamespaces(): Promise<void> {
    if (this.nodes.length > 254) throw new Error('the node agent numbers at most 254 nodes');
    for (const node of this.nodes) {
      const ns = `spnode-${process.pid.toString(36)}-${randomBytes(3).toString('hex')}-${node}`;
      await exec('ip', ['netns', 'add', ns]);
      this.nodeNamespaces.set(node, ns);
      this.apiBridges.push(await bridgeApiServer(ns, this.opts.controlPlane.server));
      await exec('ip', ['-n', ns, 'addr', 'add', `${this.nodeAddress(node)}/32`, 'dev', 'lo']);
    }
  }

  /**
   * The n-th node's address in its namespace, 198.19.253.<n> (namespaces are apart, so agents
   * running at once may repeat it).
   */
  nodeAddress(node: string): string {
    const i = this.nodes.indexOf(node);
    if (i < 0) throw new Error(`${node} is not a node of this agent`);
    return `198.19.253.${i + 1}`;
  }

  private async removeNodeNamespaces(errors: string[]): Promise<void> {
    for (const bridge of this.apiBridges.splice(0))
      await bridge.close().catch((err: Error) => errors.push(`API bridge: ${err.message}`));
    for (const ns of [...this.nodeNamespaces.values(), ...(this.fabric ? [this.fabric] : [])])
      await exec('ip', ['netns', 'del', ns]).catch((err: Error) =>
        errors.push(`netns ${ns}: ${err.message}`),
      );
    this.nodeNamespaces.clear();
    this.fabric = undefined;
  }

  /** Whether the agent plays kubelet (and Multus) too, or only virt-handler (real nodes). */
  get playsKubelet(): boolean {
    return this.opts.kubelet !== false;
  }

  private async begin(): Promise<void> {
    this.log(`starting for nodes ${this.nodes.join(', ')}${this.playsKubelet ? '' : ' (virt-handler only)'}`);
    if (this.playsKubelet) {
      await this.makeNodeNamespaces();
      await this.heartbeat();
      // Multus's installation brings the NetworkAttachmentDefinition CRD; so does the agent playing it.
      await applyCrds(this.kc, [networkAttachmentDefinitionCrd]);
    }
    await this.readBindings();
    if (this.opts.webhook !== false) await this.startWebhook();
    for (const node of this.nodes) this.watch('/api/v1/pods', { fieldSelector: `spec.nodeName=${node}` });
    this.watch(`/apis/${kubevirtGroup}/${kubevirtVersion}/${kubevirtKinds.vmi.plural}`, {});
    this.timers.push(setInterval(() => this.kick(), this.opts.resyncMs ?? 2000));
    if (this.playsKubelet)
      this.timers.push(setInterval(() => void this.heartbeat().catch(() => undefined), 20_000));
    this.kick();
  }

  private async heartbeat(): Promise<void> {
    for (const node of this.nodes) await heartbeatNode(this.rest, node);
  }

  /** The KubeVirt CR's binding plugins (their `migration` settings decide migratability). */
  private async readBindings(): Promise<void> {
    try {
      const kv = await this.rest.get<{
        spec?: { configuration?: { network?: { binding?: BindingPlugins } } };
      }>(`/apis/kubevirt.io/v1/namespaces/${kubevirtNamespace}/kubevirts/${kubevirtCrName}`);
      this.bindings = kv.spec?.configuration?.network?.binding ?? {};
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async startWebhook(): Promise<void> {
    const cp = this.opts.controlPlane;
    const pkiDir = join(cp.dir, 'pki');
    const name = `spiderpool-ts-node-agent-${process.pid}-${agents++}`;
    const tls = ensureServingCert(pkiDir, name);
    this.webhook = await serveMigrationWebhook(this.rest, tls, (line) => this.log(line));
    const caBundle = readFileSync(cp.caFile).toString('base64');
    const configs = webhookConfigurations(name, this.webhook, caBundle);
    await this.removeOrphanedWebhooks();
    this.webhookName = name;
    await this.rest.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
      body: configs.mutating,
    });
    await this.rest.request('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
      body: configs.validating,
    });
  }

  /**
   * Admission configurations of agents whose process is gone (killed before stop()): with
   * failurePolicy Fail they would refuse every migration, so they go.
   */
  private async removeOrphanedWebhooks(): Promise<void> {
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    };
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      const path = `/apis/admissionregistration.k8s.io/v1/${kind}`;
      const list = await this.rest.get<{
        items: Array<{ metadata: { name: string; labels?: Record<string, string> } }>;
      }>(path, { query: { labelSelector: servingPidLabel } });
      for (const item of list.items) {
        const pid = Number(item.metadata.labels?.[servingPidLabel]);
        if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
          await this.rest.request('DELETE', `${path}/${item.metadata.name}`).catch(() => undefined);
          this.log(`removed ${kind} ${item.metadata.name} of a node agent that is gone (pid ${pid})`);
        }
      }
    }
  }

  private watch(path: string, query: Record<string, string>): void {
    if (this.stopped) return;
    const restart = () => {
      if (this.stopped) return;
      const t = setTimeout(() => this.watch(path, query), 1000);
      this.timers.push(t);
    };
    new Watch(this.kc)
      .watch(
        path,
        { ...query, allowWatchBookmarks: false },
        () => this.kick(),
        () => restart(),
      )
      .then((controller) => {
        if (this.stopped) controller.abort();
        else this.watches.push(controller);
      })
      .catch(() => restart());
  }

  /** Asks for a reconcile pass (coalesced: at most one runs, one more follows if asked meanwhile). */
  private kick(): void {
    if (this.stopped) return;
    if (this.passRunning) {
      this.passWanted = true;
      return;
    }
    this.passRunning = true;
    const pass = this.pass()
      .catch((err: unknown) => this.log(`pass failed: ${describeApiError(err)}`))
      .finally(() => {
        this.passRunning = false;
        this.running.delete(pass);
        if (this.passWanted) {
          this.passWanted = false;
          this.kick();
        }
      });
    this.running.add(pass);
  }

  /** Runs `work` for `key` unless work for it is already under way; kicks a pass when it ends. */
  private task(key: string, work: () => Promise<void>): void {
    if (this.busy.has(key) || this.stopped) return;
    const b = this.backoff.get(key);
    if (b && Date.now() < b.until) return;
    this.busy.add(key);
    const p = work()
      .then(() => {
        this.backoff.delete(key);
      })
      .catch((err: unknown) => {
        // A write that lost a race (a resourceVersion test or precondition) is retried soon; a failing
        // set-up backs off up to 10 s, as kubelet's sandbox retries do.
        const delayMs = Math.min((b?.delayMs ?? 125) * 2, 10_000);
        this.backoff.set(key, { until: Date.now() + delayMs, delayMs });
        const why = apiStatus(err) !== undefined ? describeApiError(err) : (err as Error).message;
        this.log(`${key}: ${why} (retry in ${delayMs} ms)`);
        setTimeout(() => this.kick(), delayMs).unref();
      })
      .finally(() => {
        this.busy.delete(key);
        this.running.delete(p);
        this.kick();
      });
    this.running.add(p);
  }

  private async pass(): Promise<void> {
    const pods: V1Pod[] = [];
    for (const node of this.nodes) {
      const list = await this.rest.get<{ items: V1Pod[] }>('/api/v1/pods', {
        query: { fieldSelector: `spec.nodeName=${node}` },
      });
      pods.push(...list.items);
    }
    const seen = new Set<string>();
    for (const pod of this.playsKubelet ? pods : []) {
      const uid = pod.metadata?.uid ?? '';
      seen.add(uid);
      this.task(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}`, () => this.syncPod(pod));
    }
    // Sandboxes of pods that are gone altogether (deleted by someone else): tear them down.
    for (const [uid, sb] of this.sandboxes) {
      if (!seen.has(uid))
        this.task(`pod ${sb.ref.namespace}/${sb.ref.podName}`, () => this.teardown(uid, sb));
    }
    const vmis = await this.rest.get<{ items: Vmi[] }>(
      `/apis/${kubevirtGroup}/${kubevirtVersion}/${kubevirtKinds.vmi.plural}`,
    );
    for (const vmi of vmis.items) {
      const key = `vmi ${vmi.metadata.namespace}/${vmi.metadata.name}`;
      this.task(key, () => this.syncVmi(vmi, pods));
    }
  }

  // ---- kubelet -------------------------------------------------------------------------------

  private async syncPod(listed: V1Pod): Promise<void> {
    const uid = listed.metadata?.uid ?? '';
    const ns = listed.metadata?.namespace ?? '';
    const name = listed.metadata?.name ?? '';
    const sb = this.sandboxes.get(uid);
    // The pass's list may be older than another task's write (a migration's source pod marked
    // Succeeded): act on the pod as it is now.
    const pod = await this.rest.get<V1Pod>(podPath(ns, name)).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (pod?.metadata?.uid !== uid) {
      if (sb) await this.teardown(uid, sb);
      return;
    }
    const phase = pod.status?.phase;
    if (pod.metadata?.deletionTimestamp) {
      if (sb) await this.teardown(uid, sb);
      await this.rest
        .request('DELETE', podPath(ns, name), {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } },
        })
        .catch((err: unknown) => {
          if (!isNotFound(err) && apiStatus(err) !== 409) throw err;
        });
      this.log(`pod ${ns}/${name}: deleted`);
      return;
    }
    if (phase === 'Succeeded' || phase === 'Failed') {
      if (sb) await this.teardown(uid, sb);
      return;
    }
    let current = pod;
    let running = sb;
    if (!running) {
      running = await this.setUp(pod);
      // Setting up wrote the network-status annotation: the status write below needs that version.
      current = await this.rest.get<V1Pod>(podPath(ns, name));
    }
    if (!isRunningAsWanted(current, running.podIPs)) {
      // Conditional on the pod read above, so a write made meanwhile (Succeeded) is never undone.
      await this.rest.request('PATCH', `${podPath(ns, name)}/status`, {
        contentType: strategicMerge,
        body: {
          metadata: { resourceVersion: current.metadata?.resourceVersion },
          status: runningStatus(current, { ...running, containerId: running.ref.containerId }),
        },
      });
      this.log(
        `pod ${ns}/${name}: Running on ${running.node} with ${running.podIPs.join(', ') || 'no address'}`,
      );
    }
  }

  private async setUp(pod: V1Pod): Promise<Sandbox> {
    const uid = pod.metadata?.uid ?? '';
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const node = pod.spec?.nodeName ?? '';
    const settings = {
      multusNamespace: this.opts.multusNamespace ?? 'kube-system',
      ...(this.opts.clusterNetwork ? { clusterDefaultNetwork: this.opts.clusterNetwork } : {}),
    };
    const plans = (() => {
      try {
        return planAttachments(pod, settings);
      } catch (err) {
        throw new Error(`pod ${ns}/${name}: ${(err as Error).message}`);
      }
    })();
    const netns = `spagent-${uid.slice(0, 8)}-${randomBytes(3).toString('hex')}`;
    await exec('ip', ['netns', 'add', netns]);
    const ref: SandboxRef = {
      namespace: ns,
      podName: name,
      podUid: uid,
      containerId: randomBytes(32).toString('hex'),
      netnsPath: `/var/run/netns/${netns}`,
    };
    const sb: Sandbox = { ref, netns, node, attachments: [], podIPs: [], startedAt: now() };
    const env: DelegateEnv = {
      ...this.delegates,
      localise: this.localiseFor(node),
      nodeNetns: this.nodeNetns(node),
    };
    try {
      await exec('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
      for (const plan of plans) {
        const network = await readNetwork(this.rest, plan);
        sb.attachments.push(await addAttachment(env, ref, plan, network));
      }
    } catch (err) {
      await this.release(sb).catch((e: unknown) =>
        this.log(`pod ${ns}/${name}: cleanup: ${(e as Error).message}`),
      );
      await this.event(
        pod,
        'FailedCreatePodSandBox',
        `Failed to create pod sandbox: ${(err as Error).message}`,
      );
      throw err;
    }
    const statuses: NetworkStatus[] = sb.attachments.map(networkStatus);
    sb.podIPs = statuses.find((s) => s.default)?.ips ?? [];
    this.sandboxes.set(uid, sb);
    await this.rest.request('PATCH', podPath(ns, name), {
      contentType: contentTypes.mergePatch,
      body: {
        metadata: { annotations: { [multusAnnotations.networkStatus]: JSON.stringify(statuses, null, 2) } },
      },
    });
    this.log(
      `pod ${ns}/${name}: sandbox ${netns} on ${node}: ${statuses.map((s) => `${s.interface}=${s.ips.join(',')}`).join(' ')}`,
    );
    return sb;
  }

  /** CNI DEL of every attachment in reverse order, then the namespace goes. */
  private async release(sb: Sandbox): Promise<void> {
    const env: DelegateEnv = {
      ...this.delegates,
      localise: this.localiseFor(sb.node),
      nodeNetns: this.nodeNetns(sb.node),
    };
    while (sb.attachments.length > 0) {
      const last = sb.attachments[sb.attachments.length - 1] as Attachment;
      await delAttachment(env, sb.ref, last);
      sb.attachments.pop();
    }
    await exec('ip', ['netns', 'del', sb.netns]).catch((err: Error) => {
      if (!/No such file|not found|Cannot remove/.test(err.message)) throw err;
    });
  }

  private async teardown(uid: string, sb: Sandbox): Promise<void> {
    await this.release(sb);
    this.sandboxes.delete(uid);
    this.log(`pod ${sb.ref.namespace}/${sb.ref.podName}: sandbox ${sb.netns} removed (CNI DEL done)`);
  }

  private async event(pod: V1Pod, reason: string, message: string): Promise<void> {
    const ns = pod.metadata?.namespace ?? '';
    const t = now();
    await this.rest
      .request('POST', `/api/v1/namespaces/${ns}/events`, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${pod.metadata?.name}.` },
          involvedObject: {
            apiVersion: 'v1',
            kind: 'Pod',
            namespace: ns,
            name: pod.metadata?.name,
            uid: pod.metadata?.uid,
          },
          reason,
          message,
          type: 'Warning',
          source: { component: 'kubelet', host: pod.spec?.nodeName },
          firstTimestamp: t,
          lastTimestamp: t,
          count: 1,
        },
      })
      .catch(() => undefined);
  }

  // ---- virt-handler --------------------------------------------------------------------------

  private mine(node: unknown): node is string {
    return typeof node === 'string' && this.nodes.includes(node);
  }

  /**
   * Writes `changes` to the VMI as a JSON patch. The VMI has no status subresource: virt-handler
   * writes the object itself. A JSON patch (not a merge patch, where null deletes) stores values
   * exactly as KubeVirt's Go types serialise them (`lastProbeTime: null`), which virt-controller's own
   * patches `test` against. The resourceVersion test makes the write conditional, so a concurrent
   * write of virt-controller is never overwritten.
   */
  private async patchVmi(
    vmi: Vmi,
    changes: {
      status?: Record<string, unknown>;
      migrationState?: Record<string, unknown>;
      labels?: Record<string, string | null>;
    },
  ): Promise<void> {
    const ns = vmi.metadata.namespace ?? '';
    const name = vmi.metadata.name ?? '';
    const ops: unknown[] = [
      { op: 'test', path: '/metadata/resourceVersion', value: vmi.metadata.resourceVersion },
    ];
    const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
    if (!vmi.status) ops.push({ op: 'add', path: '/status', value: {} });
    for (const [key, value] of Object.entries(changes.status ?? {}))
      ops.push({ op: 'add', path: `/status/${pointer(key)}`, value });
    for (const [key, value] of Object.entries(changes.migrationState ?? {}))
      ops.push({ op: 'add', path: `/status/migrationState/${pointer(key)}`, value });
    const labels = vmi.metadata.labels ?? {};
    if (changes.labels && !vmi.metadata.labels) ops.push({ op: 'add', path: '/metadata/labels', value: {} });
    for (const [key, value] of Object.entries(changes.labels ?? {})) {
      if (value !== null) ops.push({ op: 'add', path: `/metadata/labels/${pointer(key)}`, value });
      else if (key in labels) ops.push({ op: 'remove', path: `/metadata/labels/${pointer(key)}` });
    }
    await this.rest.request('PATCH', vmiPath(ns, name), { contentType: contentTypes.jsonPatch, body: ops });
  }

  /** `status.phaseTransitionTimestamps` with `phase` appended, as KubeVirt records each phase. */
  private transitions(vmi: Vmi, phase: string): unknown[] {
    const before =
      ((vmi.status as Record<string, unknown> | undefined)?.phaseTransitionTimestamps as
        | unknown[]
        | undefined) ?? [];
    return [...before, { phase, phaseTransitionTimestamp: now() }];
  }

  private podOf(pods: V1Pod[], vmi: Vmi, name: unknown): V1Pod | undefined {
    return pods.find((p) => p.metadata?.name === name && p.metadata?.namespace === vmi.metadata.namespace);
  }

  private async syncVmi(vmi: Vmi, pods: V1Pod[]): Promise<void> {
    const status = vmi.status ?? {};
    const key = `${vmi.metadata.namespace}/${vmi.metadata.name}`;
    const phase = status.phase;
    const finalPhase = phase === 'Succeeded' || phase === 'Failed';
    if (vmi.metadata.deletionTimestamp) {
      // The domain is shut down: the launcher exits and the VMI is done.
      if (this.mine(status.nodeName) && !finalPhase) {
        await this.patchVmi(vmi, {
          status: {
            phase: 'Succeeded',
            conditions: this.conditions(vmi, false),
            phaseTransitionTimestamps: this.transitions(vmi, 'Succeeded'),
          },
        });
        this.log(`vmi ${key}: Succeeded (deleting)`);
      }
      if (!this.playsKubelet) {
        for (const pod of pods) {
          const node = pod.spec?.nodeName;
          const ofVmi = pod.metadata?.labels?.['kubevirt.io/created-by'] === vmi.metadata.uid;
          if (ofVmi && this.mine(node) && pod.status?.phase === 'Running')
            await this.endLauncher(pod, 'Succeeded');
        }
      }
      return;
    }
    if (this.mine(status.nodeName) && (phase === 'Scheduled' || phase === 'Running')) {
      const wanted = this.runningVmiStatus(vmi);
      if (JSON.stringify(runningView(vmi.status)) !== JSON.stringify(runningView(wanted))) {
        await this.patchVmi(vmi, {
          status: {
            ...wanted,
            ...(phase === 'Scheduled' ? { phaseTransitionTimestamps: this.transitions(vmi, 'Running') } : {}),
          },
        });
        if (phase === 'Scheduled') this.log(`vmi ${key}: Running on ${status.nodeName}`);
        return;
      }
    }
    await this.syncMigration(vmi, pods);
  }

  /**
   * The conditions virt-handler owns, every other kept: LiveMigratable, and Ready when `ready` is
   * given (when the domain starts or stops; afterwards virt-controller mirrors the pod's readiness).
   */
  private conditions(vmi: Vmi, ready?: boolean): Array<Record<string, unknown>> {
    const owned = (type: string) => type === 'LiveMigratable' || (ready !== undefined && type === 'Ready');
    const kept = (vmi.status?.conditions ?? []).filter((c) => !owned(c.type));
    const previous = (type: string) => vmi.status?.conditions?.find((c) => c.type === type);
    const withTime = (c: Condition) => {
      const before = previous(c.type);
      const same = before?.status === c.status && before?.reason === c.reason;
      return {
        ...c,
        lastProbeTime: null,
        lastTransitionTime: same ? (before?.lastTransitionTime ?? now()) : now(),
      };
    };
    const out: Array<Record<string, unknown>> = [...kept];
    if (ready !== undefined) out.push(withTime({ type: 'Ready', status: ready ? 'True' : 'False' }));
    if (ready !== false) out.push(withTime(liveMigratableCondition(vmi, this.bindings)));
    return out;
  }

  private runningVmiStatus(vmi: Vmi): Record<string, unknown> {
    return {
      phase: 'Running',
      conditions: this.conditions(vmi, vmi.status?.phase === 'Scheduled' ? true : undefined),
      selinuxContext: 'none',
    };
  }

  private async syncMigration(vmi: Vmi, pods: V1Pod[]): Promise<void> {
    const ms = vmi.status?.migrationState;
    if (!ms) return;
    const key = `${vmi.metadata.namespace}/${vmi.metadata.name}`;
    if (!ms.completed) {
      if (ms.abortRequested && this.mine(ms.sourceNode)) {
        // The source handler cancels the migration: it ends failed, with the abort recorded.
        await this.patchVmi(vmi, {
          migrationState: { abortStatus: 'Succeeded', completed: true, failed: true, endTimestamp: now() },
        });
        this.log(`vmi ${key}: migration aborted`);
        return;
      }
      if (!this.mine(ms.targetNode)) return;
      const target = this.podOf(pods, vmi, ms.targetPod);
      const started = !this.playsKubelet || this.sandboxes.has(target?.metadata?.uid ?? '');
      if (!target || !started || target.status?.phase !== 'Running') return;
      if (!ms.targetNodeAddress) {
        const t = now();
        await this.patchVmi(vmi, {
          migrationState: {
            targetNodeAddress: '127.0.0.1',
            targetNodeDomainDetected: true,
            targetNodeDomainReadyTimestamp: t,
            startTimestamp: t,
          },
        });
        this.log(`vmi ${key}: migration target ready on ${ms.targetNode}`);
        return;
      }
      const decision = this.decisions.get(key) ?? this.opts.migrations?.(vmi) ?? 'complete';
      if (decision === 'hold') return;
      this.decisions.delete(key);
      if (decision === 'complete') {
        await this.patchVmi(vmi, {
          labels: {
            'kubevirt.io/nodeName': String(ms.targetNode),
            'kubevirt.io/migrationTargetNodeName': null,
          },
          status: { nodeName: ms.targetNode },
          migrationState: { completed: true, endTimestamp: now() },
        });
        this.log(`vmi ${key}: migrated to ${ms.targetNode}`);
      } else {
        await this.patchVmi(vmi, {
          labels: { 'kubevirt.io/migrationTargetNodeName': null },
          migrationState: {
            completed: true,
            failed: true,
            failureReason: 'migration failed (node agent, on request)',
            endTimestamp: now(),
          },
        });
        this.log(`vmi ${key}: migration to ${ms.targetNode} failed`);
      }
      return;
    }
    // Finished: the launcher that no longer runs the domain exits.
    const loser = ms.failed
      ? { node: ms.targetNode, pod: ms.targetPod }
      : { node: ms.sourceNode, pod: ms.sourcePod };
    if (!this.mine(loser.node)) return;
    const pod = this.podOf(pods, vmi, loser.pod);
    if (pod?.status?.phase !== 'Running' || pod.metadata?.deletionTimestamp) return;
    if (!this.playsKubelet) {
      await this.endLauncher(pod, ms.failed ? 'Failed' : 'Succeeded');
      return;
    }
    const sb = this.sandboxes.get(pod.metadata?.uid ?? '');
    await this.rest.request(
      'PATCH',
      `${podPath(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '')}/status`,
      {
        contentType: strategicMerge,
        body: {
          metadata: { resourceVersion: pod.metadata?.resourceVersion },
          status: finishedStatus(pod, sb?.ref.containerId ?? '', ms.failed ? 'Failed' : 'Succeeded'),
        },
      },
    );
    this.log(
      `pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${ms.failed ? 'Failed' : 'Succeeded'} (migration over)`,
    );
  }

  /**
   * On a real node: the launcher's containers are signalled through the node's containerd. For
   * `Succeeded` (its domain left or shut down) SIGTERM, and they exit 0; for `Failed` (the target of
   * a failed or aborted migration) the stand-in's failed-domain signal, and they exit 1. kubelet
   * then reports the pod's phase (restartPolicy Never). Repeated until kubelet reports it.
   */
  private async endLauncher(pod: V1Pod, phase: 'Succeeded' | 'Failed'): Promise<void> {
    const nodeName = pod.spec?.nodeName;
    const node = this.opts.controlPlane.nodes.find((n) => n.name === nodeName);
    if (!node)
      throw new Error(
        `pod ${pod.metadata?.namespace}/${pod.metadata?.name}: node ${nodeName} is not a real node`,
      );
    const signal = phase === 'Failed' ? failedDomainSignal : 'SIGTERM';
    const signalled = await signalPodContainers(node, pod.metadata?.uid ?? '', signal);
    if (signalled > 0)
      this.log(
        `pod ${pod.metadata?.namespace}/${pod.metadata?.name}: launcher ended on ${nodeName} (${signal} to ${signalled} containers, to end ${phase})`,
      );
  }

  /** Stops watching and serving; by default every sandbox gets its CNI DEL and namespace removal. */
  async stop({ teardown = true }: { teardown?: boolean } = {}): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.splice(0)) clearTimeout(t);
    for (const w of this.watches.splice(0)) w.abort();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    if (this.webhookName) {
      for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'])
        await this.rest
          .request('DELETE', `/apis/admissionregistration.k8s.io/v1/${kind}/${this.webhookName}`)
          .catch(() => undefined);
    }
    await this.webhook?.close();
    const errors: string[] = [];
    if (teardown) {
      for (const [uid, sb] of this.sandboxes) {
        await this.teardown(uid, sb).catch((err: Error) => errors.push(`${sb.netns}: ${err.message}`));
      }
      // The node namespaces go with what the plugins made in them.
      await this.removeNodeNamespaces(errors);
    } else {
      // Sandboxes left behind keep their nodes' namespaces; only the bridges (our processes) stop.
      for (const bridge of this.apiBridges.splice(0)) await bridge.close().catch(() => undefined);
    }
    this.log('stopped');
    this.rest.close();
    if (errors.length > 0) throw new Error(`node agent stop: ${errors.join('; ')}`);
  }
}

/** What virt-handler keeps true of a running VMI, for comparing the VMI with what it would write. */
function runningView(status: Record<string, unknown> | undefined): unknown {
  const s = status ?? {};
  const conditions = (s.conditions as Array<Record<string, unknown>> | undefined) ?? [];
  const migratable = conditions.find((c) => c.type === 'LiveMigratable');
  return {
    phase: s.phase,
    selinuxContext: s.selinuxContext,
    liveMigratable: migratable ? [migratable.status, migratable.reason] : undefined,
  };
}
