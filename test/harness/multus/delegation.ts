// Multus's part of a pod's network set-up (Multus itself cannot be built here), shared by the node
// agent, which plays it for simulated nodes, and the Multus stand-in meta plugin of real nodes
// (meta-plugin.ts). What it follows is Multus's documented behaviour, written down with sources in
// docs/testbed.md:
// - eth0 is the pod's `v1.multus-cni.io/default-network` (a name without a namespace is in Multus's
//   namespace), else the cluster default network (Multus's `clusterNetwork`);
// - then each entry of `k8s.v1.cni.cncf.io/networks` (comma list or JSON network-selection elements;
//   namespaces default to the pod's), attached as its `interface`, else `net<position>` (1-based);
// - each delegate is a NetworkAttachmentDefinition's `spec.config` (a conf or a conflist; the NAD's
//   name when the config has none), called with the runtime's CNI_ARGS; an element's `ips`/`mac` go
//   into runtimeConfig for plugins that advertise those capabilities, its `cni-args` into `args.cni`;
// - the result is the `k8s.v1.cni.cncf.io/network-status` annotation; DEL runs in reverse order.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { multusAnnotations } from '../../../api/index.js';
import {
  defaultNetwork,
  type MultusSettings,
  type NetworkSelection,
  podNetworks,
  secondaryInterfaceName,
} from '../../../ipam/multus/networks.js';
import { isNotFound } from '../../../kube/errors.js';
import type { RestClient } from '../../../kube/rest.js';
import { cniArgs, type ProcessOutcome, runProcess } from '../cni-call.js';

/** One network a pod is attached to: which NAD, as which interface, with what the element asked. */
export interface AttachmentPlan {
  selection: NetworkSelection;
  ifname: string;
  /** The pod's default network (eth0): its addresses become the pod's IPs. */
  isDefault: boolean;
}

/** The attachments of a pod in the order Multus makes them: the default network first. */
export function planAttachments(pod: V1Pod, settings: MultusSettings): AttachmentPlan[] {
  const primary = defaultNetwork(pod, settings);
  if (!primary) {
    throw new Error(
      `pod ${pod.metadata?.namespace}/${pod.metadata?.name} has no ${multusAnnotations.defaultNetwork} and no cluster default network is configured`,
    );
  }
  const plans: AttachmentPlan[] = [{ selection: primary, ifname: 'eth0', isDefault: true }];
  podNetworks(pod).forEach((selection, i) => {
    plans.push({ selection, ifname: secondaryInterfaceName(selection, i), isDefault: false });
  });
  const names = new Set<string>();
  for (const plan of plans) {
    if (names.has(plan.ifname)) throw new Error(`two networks would be attached as ${plan.ifname}`);
    names.add(plan.ifname);
  }
  return plans;
}

/** A CNI plugin configuration as found in a conf or in a conflist's `plugins`. */
export type PluginConf = Record<string, unknown> & { type: string; capabilities?: Record<string, boolean> };

/** A NetworkAttachmentDefinition's configuration, normalised to a list of plugins. */
export interface NetworkConfig {
  name: string;
  cniVersion: string;
  plugins: PluginConf[];
}

/** Parses `spec.config` of NAD `ns/name`: a single plugin conf or a conflist. */
export function parseNadConfig(text: string, nad: string): NetworkConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`NetworkAttachmentDefinition ${nad}: spec.config is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`NetworkAttachmentDefinition ${nad}: spec.config is not a JSON object`);
  const conf = parsed as Record<string, unknown>;
  // Multus names a configuration without a name after its NetworkAttachmentDefinition.
  const name = typeof conf.name === 'string' && conf.name !== '' ? conf.name : (nad.split('/')[1] ?? nad);
  const cniVersion = typeof conf.cniVersion === 'string' ? conf.cniVersion : '1.0.0';
  const plugins = Array.isArray(conf.plugins) ? (conf.plugins as unknown[]) : [conf];
  plugins.forEach((p, i) => {
    const type = (p as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || type === '')
      throw new Error(`NetworkAttachmentDefinition ${nad}: spec.config plugin ${i} has no type`);
  });
  return { name, cniVersion, plugins: plugins as PluginConf[] };
}

/** Reads and parses the NetworkAttachmentDefinition an attachment names. */
export async function readNetwork(rest: RestClient, plan: AttachmentPlan): Promise<NetworkConfig> {
  const { namespace, name } = plan.selection;
  const nad = await rest
    .get<{ spec?: { config?: string } }>(
      `/apis/k8s.cni.cncf.io/v1/namespaces/${namespace}/network-attachment-definitions/${name}`,
    )
    .catch((err: unknown) => {
      if (isNotFound(err)) throw new Error(`NetworkAttachmentDefinition ${namespace}/${name} not found`);
      throw err;
    });
  return parseNadConfig(nad.spec?.config ?? '', `${namespace}/${name}`);
}

/** The identity of one sandbox, as the runtime passes it to CNI. */
export interface SandboxRef {
  namespace: string;
  podName: string;
  podUid: string;
  containerId: string;
  netnsPath: string;
}

/** One attachment made: what DEL needs again, and what network-status reports. */
export interface Attachment {
  plan: AttachmentPlan;
  network: NetworkConfig;
  /** The configuration each plugin got (after runtimeConfig and args), for DEL. */
  confs: Record<string, unknown>[];
  result: CniResult;
}

export interface CniResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  dns?: Record<string, unknown>;
}

export interface DelegateEnv {
  /** Folders searched for plugin binaries (CNI_PATH). */
  cniPath: string[];
  /** Fills in node-local settings a delegate needs (the plugin's node configuration, kubeconfig). */
  localise(conf: Record<string, unknown>): Record<string, unknown>;
  timeoutMs?: number;
  /** The node's network namespace (a name): the plugins run inside it, as on that node. */
  nodeNetns?: string;
}

export class CniCallError extends Error {
  constructor(
    readonly outcome: ProcessOutcome,
    what: string,
  ) {
    const detail = outcome.json?.msg ? `${outcome.json.msg}` : outcome.stdout.trim() || outcome.stderr.trim();
    super(`${what} failed (exit ${outcome.code ?? outcome.signal}): ${detail}`);
  }
}

function pluginPath(env: DelegateEnv, type: string): string {
  for (const dir of env.cniPath) {
    const path = join(dir, type);
    if (existsSync(path)) return path;
  }
  throw new Error(`CNI plugin ${type} not found in ${env.cniPath.join(':')}`);
}

function runtimeConfigFor(plugin: PluginConf, selection: NetworkSelection): Record<string, unknown> {
  const caps = plugin.capabilities ?? {};
  const rc: Record<string, unknown> = {};
  if (caps.ips && selection.ips) rc.ips = selection.ips;
  if (caps.mac && selection.mac) rc.mac = selection.mac;
  return rc;
}

async function call(
  env: DelegateEnv,
  command: 'ADD' | 'DEL',
  sandbox: SandboxRef,
  ifname: string,
  conf: Record<string, unknown>,
): Promise<ProcessOutcome> {
  const type = String(conf.type);
  const path = pluginPath(env, type);
  return runProcess(
    env.nodeNetns ? 'ip' : path,
    env.nodeNetns ? ['netns', 'exec', env.nodeNetns, path] : [],
    {
      PATH: process.env.PATH,
      CNI_COMMAND: command,
      CNI_CONTAINERID: sandbox.containerId,
      CNI_NETNS: sandbox.netnsPath,
      CNI_IFNAME: ifname,
      CNI_PATH: env.cniPath.join(':'),
      CNI_ARGS: cniArgs({
        K8S_POD_NAMESPACE: sandbox.namespace,
        K8S_POD_NAME: sandbox.podName,
        K8S_POD_INFRA_CONTAINER_ID: sandbox.containerId,
        K8S_POD_UID: sandbox.podUid,
      }),
    },
    JSON.stringify(conf),
    env.timeoutMs ?? 60_000,
  );
}

/** ADD of one attachment: the plugins of its network in order, each given the previous result. */
export async function addAttachment(
  env: DelegateEnv,
  sandbox: SandboxRef,
  plan: AttachmentPlan,
  network: NetworkConfig,
): Promise<Attachment> {
  const confs: Record<string, unknown>[] = [];
  let prevResult: CniResult | undefined;
  for (const plugin of network.plugins) {
    const rc = runtimeConfigFor(plugin, plan.selection);
    const conf = env.localise({
      ...plugin,
      name: network.name,
      cniVersion: network.cniVersion,
      ...(Object.keys(rc).length > 0 ? { runtimeConfig: rc } : {}),
      ...(plan.selection.cniArgs ? { args: { cni: plan.selection.cniArgs } } : {}),
      ...(prevResult ? { prevResult } : {}),
    });
    const outcome = await call(env, 'ADD', sandbox, plan.ifname, conf);
    if (outcome.code !== 0 || !outcome.json) {
      const done: Attachment = { plan, network, confs, result: prevResult ?? {} };
      await delAttachment(env, sandbox, done).catch(() => undefined);
      throw new CniCallError(outcome, `CNI ADD of ${String(conf.type)} for ${plan.ifname} (${network.name})`);
    }
    confs.push(conf);
    prevResult = outcome.json as CniResult;
  }
  return { plan, network, confs, result: prevResult ?? {} };
}

/** DEL of one attachment: its plugins in reverse order, each with the attachment's result. */
export async function delAttachment(
  env: DelegateEnv,
  sandbox: SandboxRef,
  attachment: Attachment,
): Promise<void> {
  const errors: string[] = [];
  for (const conf of [...attachment.confs].reverse()) {
    const { prevResult: _, ...rest } = conf;
    const outcome = await call(env, 'DEL', sandbox, attachment.plan.ifname, {
      ...rest,
      ...(attachment.result.ips ? { prevResult: attachment.result } : {}),
    });
    if (outcome.code !== 0) errors.push(new CniCallError(outcome, `CNI DEL of ${String(conf.type)}`).message);
  }
  if (errors.length > 0) throw new Error(errors.join('; '));
}

/** One entry of `k8s.v1.cni.cncf.io/network-status`, as Multus writes it. */
export interface NetworkStatus {
  name: string;
  interface: string;
  ips: string[];
  mac?: string;
  default?: boolean;
  dns: Record<string, unknown>;
  gateway?: string[];
}

export function networkStatus(attachment: Attachment): NetworkStatus {
  const { plan, result } = attachment;
  const iface = result.interfaces?.find((i) => i.name === plan.ifname && i.sandbox);
  const gateways = (result.ips ?? []).flatMap((ip) => (ip.gateway ? [ip.gateway] : []));
  return {
    name: `${plan.selection.namespace}/${plan.selection.name}`,
    interface: plan.ifname,
    ips: (result.ips ?? []).map((ip) => ip.address.split('/')[0] ?? ip.address),
    ...(iface?.mac ? { mac: iface.mac } : {}),
    ...(plan.isDefault ? { default: true } : {}),
    dns: result.dns ?? {},
    ...(plan.isDefault && gateways.length > 0 ? { gateway: gateways } : {}),
  };
}
