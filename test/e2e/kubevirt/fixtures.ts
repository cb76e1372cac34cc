// What the KubeVirt e2e tests share: a VM manifest created as a user creates it, and waits on what
// virt-controller and the node agent make of it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  type V1Pod,
} from '@kubernetes/client-node';
import { kubevirtGroup, kubevirtKinds, kubevirtVersion } from '../../../api/index.js';
import { isNotFound } from '../../../kube/errors.js';
import { controlPlane } from '../../harness/clients.js';

export { vmManifest } from '../../harness/kubevirt-vm.js';

import { NetworkLab } from '../../harness/netns.js';
import { NodeAgent, type NodeAgentOptions } from '../../harness/node-agent/index.js';
import { type OperatorRunOptions, RunningOperator } from '../../harness/operator-executable.js';
import { type ClusterFixtures, PluginTestbed } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';

export interface Vmi {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  status?: {
    phase?: string;
    nodeName?: string;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
    migrationState?: Record<string, unknown>;
  };
}

export interface Vmim {
  metadata: { name: string; uid: string };
  status?: { phase?: string };
}

export function kv(kind: keyof typeof kubevirtKinds, namespace: string) {
  return { group: kubevirtGroup, version: kubevirtVersion, plural: kubevirtKinds[kind].plural, namespace };
}

export async function create(admin: KubeConfig, manifest: KubernetesObject): Promise<void> {
  await admin.makeApiClient(KubernetesObjectApi).create(manifest);
}

export async function getVmi(admin: KubeConfig, namespace: string, name: string): Promise<Vmi | undefined> {
  return (
    admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      ...kv('vmi', namespace),
      name,
    }) as Promise<Vmi>
  ).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
}

export function waitVmi(
  admin: KubeConfig,
  namespace: string,
  name: string,
  what: string,
  ok: (vmi: Vmi) => boolean,
  timeoutMs = 120_000,
): Promise<Vmi> {
  return eventually(
    `VMI ${namespace}/${name} ${what}`,
    async () => {
      const vmi = await getVmi(admin, namespace, name);
      return vmi !== undefined && ok(vmi) && vmi;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/**
 * The launcher pods of a VMI (by `kubevirt.io/created-by`), by creation time. creationTimestamp has
 * one-second resolution, so a migration's source and target are often equal: tell them apart by
 * name or UID, never by position.
 */
export async function launcherPods(fixtures: ClusterFixtures, namespace: string, vmi: Vmi): Promise<V1Pod[]> {
  const pods = await fixtures.core.listNamespacedPod({
    namespace,
    labelSelector: `kubevirt.io/created-by=${vmi.metadata.uid}`,
  });
  return pods.items.sort(
    (a, b) =>
      new Date(a.metadata?.creationTimestamp ?? 0).getTime() -
      new Date(b.metadata?.creationTimestamp ?? 0).getTime(),
  );
}

/** Deletes a VM and waits until it and every pod of the namespace are gone. */
export async function deleteVm(fixtures: ClusterFixtures, namespace: string, name: string): Promise<void> {
  const objects = fixtures.admin.makeApiClient(CustomObjectsApi);
  await objects.deleteNamespacedCustomObject({ ...kv('vm', namespace), name }).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
  await eventually(
    `VM ${namespace}/${name} and its launcher pods to be gone`,
    async () => {
      const pods = await fixtures.core.listNamespacedPod({ namespace });
      const vm = await objects
        .getNamespacedCustomObject({ ...kv('vm', namespace), name })
        .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
      return pods.items.length === 0 && vm === undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/** A macvlan NetworkAttachmentDefinition whose IPAM is spiderpool with `pool` as default IPv4 pool. */
export async function macvlanNad(
  admin: KubeConfig,
  namespace: string,
  name: string,
  master: string,
  pool: string,
): Promise<string> {
  await create(
    admin,
    nadManifest(namespace, name, {
      cniVersion: '1.0.0',
      type: 'macvlan',
      master,
      mode: 'bridge',
      ipam: { type: 'spiderpool', default_ipv4_ippool: [pool] },
    }),
  );
  return `${namespace}/${name}`;
}

/**
 * A bridge NetworkAttachmentDefinition `name` (its config named so too) on a bridge of `lab`'s, which
 * the bridge plugin creates, whose IPAM is spiderpool with `pool` as default IPv4 pool; `extra` adds
 * keys to the bridge plugin's configuration.
 */
export async function bridgeNad(
  admin: KubeConfig,
  lab: NetworkLab,
  namespace: string,
  name: string,
  pool: string,
  extra: object = {},
): Promise<void> {
  const bridge = lab.linkName('spbr');
  lab.adopt(bridge);
  await create(
    admin,
    nadManifest(namespace, name, {
      cniVersion: '1.0.0',
      name,
      type: 'bridge',
      bridge,
      ...extra,
      ipam: { type: 'spiderpool', default_ipv4_ippool: [pool] },
    }),
  );
}

/** A NetworkAttachmentDefinition whose `spec.config` is `config` (a plugin configuration or a conflist). */
export function nadManifest(namespace: string, name: string, config: object): KubernetesObject {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace },
    spec: { config: JSON.stringify(config) },
  } as KubernetesObject;
}

/**
 * What a KubeVirt e2e test file runs in: the plugin's test bed, a node agent for the control plane's
 * KubeVirt nodes, a namespace, a pool, and a macvlan NetworkAttachmentDefinition on a veth end the
 * test created, whose IPAM is the compiled plugin with that pool.
 */
export class KubeVirtWorld {
  private constructor(
    readonly testbed: PluginTestbed,
    readonly lab: NetworkLab,
    readonly agent: NodeAgent,
    readonly namespace: string,
    readonly pool: string,
    /** `namespace/name` of the NetworkAttachmentDefinition. */
    readonly nad: string,
  ) {}

  get fixtures(): ClusterFixtures {
    return this.testbed.fixtures;
  }

  static async start(
    prefix: string,
    pool: { subnet: string; ips: string[]; gateway?: string },
    agentOptions: Omit<NodeAgentOptions, 'controlPlane'> = {},
  ): Promise<KubeVirtWorld> {
    const cp = controlPlane();
    if (!cp.kubevirt) throw new Error('this test needs the control plane started with KubeVirt');
    const testbed = await PluginTestbed.start(prefix);
    const lab = new NetworkLab();
    let agent: NodeAgent | undefined;
    try {
      // With SPIDERPOOL_TS_KEEP_RUN_DIR set the agent's and the plugin's logs outlive the test.
      const dir = process.env.SPIDERPOOL_TS_KEEP_RUN_DIR
        ? mkdtempSync(join(tmpdir(), `spiderpool-ts-agent-${prefix}-`))
        : join(testbed.dir, 'agent');
      agent = await NodeAgent.start({ controlPlane: cp, dir, ...agentOptions });
      const namespace = await testbed.fixtures.namespace(prefix);
      // macvlan's master: a link of the nodes' namespaces (the plugins run there), one L2 segment.
      const master = await agent.uplink();
      const poolName = await testbed.fixtures.pool(pool);
      const nad = await macvlanNad(testbed.fixtures.admin, namespace, `macvlan-${prefix}`, master, poolName);
      return new KubeVirtWorld(testbed, lab, agent, namespace, poolName, nad);
    } catch (err) {
      await agent?.stop();
      await lab.cleanup();
      await testbed.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.agent.stop();
    await this.lab.cleanup();
    await this.testbed.close();
  }
}

/** A test file's KubeVirtWorld, and the compiled operator beside it when the file asked for one. */
export interface KubeVirtBed {
  world: KubeVirtWorld;
  operator?: RunningOperator;
}

/**
 * A KubeVirtWorld for the test file (KubeVirtWorld.start's arguments), and with `operator` the compiled
 * operator as its service account, registered as jest hooks: started before the file's tests,
 * stopped after them (the operator first). The fields are filled in by the beforeAll hook, so a file
 * reads them inside its hooks and tests, never at load time.
 */
export function useKubeVirtWorld(
  prefix: string,
  pool: Parameters<typeof KubeVirtWorld.start>[1],
  agentOptions: Parameters<typeof KubeVirtWorld.start>[2] = {},
  operator?: Omit<OperatorRunOptions, 'cp' | 'dir'>,
): KubeVirtBed {
  const bed = {} as KubeVirtBed;
  beforeAll(
    async () => {
      bed.world = await KubeVirtWorld.start(prefix, pool, agentOptions);
      if (operator)
        bed.operator = await RunningOperator.start({
          cp: controlPlane(),
          dir: bed.world.testbed.dir,
          ...operator,
        });
    },
    operator ? 300_000 : 240_000,
  );
  afterAll(async () => {
    await bed.operator?.stop();
    await bed.world?.close();
  }, 120_000);
  return bed;
}
