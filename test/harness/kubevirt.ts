// KubeVirt in the test bed: KubeVirt's own CRDs (printed by crdgen from the pinned release), the
// `kubevirt` namespace and KubeVirt CR virt-controller reads its configuration from, and schedulable
// Node objects for kube-scheduler to bind launcher pods to. virt-controller itself runs as a
// component of the control plane (control-plane.ts); the nodes' kubelet and virt-handler are played
// by the node agent (node-agent/).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { isAlreadyExists, isNotFound } from '../../kube/errors.js';
import { contentTypes, RestClient } from '../../kube/rest.js';
import { ensureBinaries } from './binaries.js';
import { applyCrds } from './crds.js';

/** virt-controller's namespace when it runs outside a pod (no service-account namespace file). */
export const kubevirtNamespace = 'kubevirt';
/** The KubeVirt CR virt-controller reads its configuration from. */
export const kubevirtCrName = 'kubevirt';
/** The Lease virt-controller's leader election takes. */
export const virtControllerLease = 'virt-controller';
/** Nodes the test bed registers when none are named. */
export const defaultKubeVirtNodes = ['kv-node-1', 'kv-node-2'];

/** The device-plugin resources virt-handler advertises on a node (launcher pods request them). */
export const kubevirtDeviceResources: Record<string, string> = {
  'devices.kubevirt.io/kvm': '1k',
  'devices.kubevirt.io/tun': '1k',
  'devices.kubevirt.io/vhost-net': '1k',
};

/**
 * What a node offers the scheduler: launcher pods request cpu, memory and ephemeral storage and the
 * KubeVirt device-plugin resources kvm, tun and vhost-net (virt-handler's device plugins advertise
 * them on a real node).
 */
export const nodeResources: Record<string, string> = {
  cpu: '16',
  memory: '64Gi',
  pods: '110',
  'ephemeral-storage': '100Gi',
  ...kubevirtDeviceResources,
};

export const schedulableLabel = 'kubevirt.io/schedulable';

/** Every CRD KubeVirt's virt-operator would install (virt-controller watches most of them). */
export async function ensureKubeVirtCrds(admin: KubeConfig): Promise<void> {
  const crdgen = join(ensureBinaries('kubevirt'), 'crdgen');
  const docs = parseAllDocuments(execFileSync(crdgen, { encoding: 'utf8', maxBuffer: 64 << 20 }))
    .map((d) => d.toJS() as { metadata?: { name?: string }; spec?: unknown } | null)
    .filter((d): d is { metadata: { name: string }; spec: unknown } => Boolean(d?.metadata?.name));
  if (!docs.some((d) => d.metadata.name === 'virtualmachineinstances.kubevirt.io'))
    throw new Error(`${crdgen} printed no VirtualMachineInstance CRD`);
  await applyCrds(
    admin,
    docs.map((d) => ({ name: d.metadata.name, spec: d.spec })),
  );
}

async function createIfMissing(rest: RestClient, path: string, body: unknown): Promise<void> {
  await rest.request('POST', path, { body }).catch((err: unknown) => {
    if (!isAlreadyExists(err)) throw err;
  });
}

/**
 * The `kubevirt` namespace and the KubeVirt CR. An empty configuration is what virt-controller
 * needs; `configuration` adds to it (e.g. `network.binding.<plugin>` for binding plugins).
 */
export async function ensureKubeVirtCr(
  admin: KubeConfig,
  configuration: Record<string, unknown> = {},
): Promise<void> {
  const rest = new RestClient(admin);
  try {
    await createIfMissing(rest, '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: kubevirtNamespace },
    });
    await createIfMissing(rest, `/apis/kubevirt.io/v1/namespaces/${kubevirtNamespace}/kubevirts`, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'KubeVirt',
      metadata: { name: kubevirtCrName, namespace: kubevirtNamespace },
      spec: { configuration },
    });
  } finally {
    rest.close();
  }
}

interface StoredNode {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { taints?: Array<{ key: string; effect: string }> };
}

/**
 * Registers Nodes as a kubelet with virt-handler would leave them: labelled schedulable for KubeVirt,
 * Ready, with capacity for launcher pods, and without the not-ready taint admission adds at creation
 * (no node-lifecycle controller runs here to lift it).
 */
export async function registerKubeVirtNodes(admin: KubeConfig, names: readonly string[]): Promise<void> {
  const rest = new RestClient(admin);
  try {
    for (const name of names) {
      await createIfMissing(rest, '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            [schedulableLabel]: 'true',
          },
        },
      });
      await heartbeatNode(rest, name);
      const node = await rest.get<StoredNode>(`/api/v1/nodes/${name}`);
      const taints = node.spec?.taints ?? [];
      const kept = taints.filter((t) => t.key !== 'node.kubernetes.io/not-ready');
      if (kept.length !== taints.length) {
        await rest.request('PATCH', `/api/v1/nodes/${name}`, {
          contentType: contentTypes.mergePatch,
          body: { spec: { taints: kept.length > 0 ? kept : null } },
        });
      }
    }
  } finally {
    rest.close();
  }
}

/**
 * What kubelet renews on its node: the Ready condition's heartbeat and the capacity; and the
 * schedulable label virt-handler keeps. virt-handler's heartbeat annotation (`kubevirt.io/heartbeat`)
 * is left out on purpose: virt-controller's node controller fails the VMIs of a node whose heartbeat
 * is older than its timeout, and treats a node without one as responsive (KubeVirt v1.6.0
 * pkg/virt-controller/watch/node/node.go isNodeUnresponsive), so a control plane left running without
 * an agent keeps its VMs.
 */
export async function heartbeatNode(rest: RestClient, name: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await rest.request('PATCH', `/api/v1/nodes/${name}/status`, {
    contentType: contentTypes.mergePatch,
    body: {
      status: {
        capacity: nodeResources,
        allocatable: nodeResources,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'node agent of the spiderpool-ts test bed is posting ready status',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    },
  });
  await rest.request('PATCH', `/api/v1/nodes/${name}`, {
    contentType: contentTypes.mergePatch,
    body: {
      metadata: { labels: { [schedulableLabel]: 'true' } },
    },
  });
}

/**
 * Makes kubelet-registered nodes KubeVirt-schedulable as virt-handler leaves them: the schedulable
 * label, and its device-plugin resources in the node's capacity. They are advertised the documented
 * way for extended resources, a PATCH of `status.capacity` ("Advertise Extended Resources for a
 * Node", kubernetes.io); kubelet keeps capacity it does not manage and copies it into allocatable
 * (v1.34.2 pkg/kubelet/nodestatus/setters.go MachineInfo). Returns once allocatable shows them.
 */
export async function makeNodesKubeVirtSchedulable(
  admin: KubeConfig,
  names: readonly string[],
): Promise<void> {
  const rest = new RestClient(admin);
  try {
    for (const name of names) {
      await rest.request('PATCH', `/api/v1/nodes/${name}/status`, {
        contentType: contentTypes.mergePatch,
        body: { status: { capacity: kubevirtDeviceResources } },
      });
      await rest.request('PATCH', `/api/v1/nodes/${name}`, {
        contentType: contentTypes.mergePatch,
        body: { metadata: { labels: { [schedulableLabel]: 'true' } } },
      });
    }
    const deadline = Date.now() + 60_000;
    for (const name of names) {
      for (;;) {
        const node = await rest.get<{ status?: { allocatable?: Record<string, string> } }>(
          `/api/v1/nodes/${name}`,
        );
        const allocatable = node.status?.allocatable ?? {};
        if (Object.keys(kubevirtDeviceResources).every((r) => allocatable[r] === kubevirtDeviceResources[r]))
          break;
        if (Date.now() > deadline)
          throw new Error(
            `node ${name}: kubelet did not copy the KubeVirt devices into allocatable: ${JSON.stringify(allocatable)}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } finally {
    rest.close();
  }
}

interface StoredLease {
  spec?: { holderIdentity?: string; renewTime?: string };
}

/** True once virt-controller holds its Lease, renewed at or after `since` (its controllers then run). */
export async function virtControllerLeads(rest: RestClient, since: number): Promise<boolean> {
  try {
    const lease = await rest.get<StoredLease>(
      `/apis/coordination.k8s.io/v1/namespaces/${kubevirtNamespace}/leases/${virtControllerLease}`,
    );
    const renewed = lease.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
    // renewTime has microsecond precision from a clock that may differ from ours by a rounding step.
    return Boolean(lease.spec?.holderIdentity) && renewed >= since - 1000;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
