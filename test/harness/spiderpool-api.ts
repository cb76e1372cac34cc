// Spiderpool's API on a test control plane: the CRDs from api/crds.ts (the one definition), and
// RBAC grants for the test users while the synthesized RBAC is not what a test is about.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1OwnerReference,
  type V1Pod,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { spiderpoolCrds } from '../../api/crds.js';
import {
  group,
  kinds,
  type SpiderEndpoint,
  type SpiderIPPool,
  type SpiderSubnet,
  version,
} from '../../api/index.js';
import { cniRules } from '../../cdk8s/charts/rbac.js';
import { poolFamily } from '../../ipam/pool/space.js';
import { decodeRecords, type PoolRecord } from '../../ipam/records/codec.js';
import { isNotFound } from '../../kube/errors.js';
import { RestClient } from '../../kube/rest.js';
import { SpiderpoolApi } from '../../kube/spiderpool.js';
import { controlPlane, kubeConfig, uniqueName } from './clients.js';
import { pluginBinary, type TestNode, testNode } from './cni-plugin.js';
import type { ControlPlane } from './control-plane.js';
import { applyCrds } from './crds.js';
import { type TestUserName, testUsers } from './users.js';

/**
 * Creates Spiderpool's CRDs, or updates those whose spec differs from api/crds.ts, and waits until
 * they are served. Never deletes them.
 */
export async function ensureSpiderpoolCrds(admin: KubeConfig): Promise<void> {
  await applyCrds(admin, spiderpoolCrds);
}

export { crdSpecDigestAnnotation } from './crds.js';
export { ensureKubeVirtCrds } from './kubevirt.js';

/** Grants `user` the rules cluster-wide; the returned function takes the grant back. */
export async function grantClusterRules(
  admin: KubeConfig,
  user: TestUserName,
  rules: V1PolicyRule[],
): Promise<() => Promise<void>> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const name = uniqueName(`test-${user}`);
  await rbac.createClusterRole({ body: { metadata: { name }, rules } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: testUsers[user].name }],
    },
  });
  return async () => {
    await rbac.deleteClusterRoleBinding({ name });
    await rbac.deleteClusterRole({ name });
  };
}

/** The plugin's ClusterRole rules as the installation synthesizes them (cdk8s/charts/rbac.ts). */
export function cniPolicyRules(): V1PolicyRule[] {
  return cniRules().map((r) => ({
    apiGroups: [r.apiGroup],
    resources: r.resources,
    verbs: r.verbs,
    ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
  }));
}

export interface PoolState {
  records: PoolRecord[];
  allocatedIPCount: number | undefined;
  totalIPCount: number | undefined;
  /** The raw field: undefined once the last record is gone. */
  allocatedIPs: string | undefined;
}

export interface TestPodSpec {
  namespace: string;
  name?: string;
  nodeName: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ownerReferences?: V1OwnerReference[];
}

/**
 * Objects a test makes on the control plane, removed again by cleanup(): namespaces (whose
 * SpiderEndpoints lose their finalizers first, so the namespace can go) and pools.
 */
export class ClusterFixtures {
  readonly core: CoreV1Api;
  readonly objects: CustomObjectsApi;
  readonly spiderpool: SpiderpoolApi;
  private readonly namespaces: string[] = [];
  private readonly pools: string[] = [];

  constructor(readonly admin: KubeConfig) {
    this.core = admin.makeApiClient(CoreV1Api);
    this.objects = admin.makeApiClient(CustomObjectsApi);
    this.spiderpool = new SpiderpoolApi(new RestClient(admin));
  }

  async namespace(prefix = 'cni', annotations: Record<string, string> = {}): Promise<string> {
    const name = uniqueName(prefix);
    await this.core.createNamespace({ body: { metadata: { name, annotations } } });
    this.namespaces.push(name);
    return name;
  }

  /** Creates a pool named `<prefix>-<unique>`; returns its name. */
  async pool(spec: SpiderIPPool['spec'], prefix = 'pool'): Promise<string> {
    const name = uniqueName(prefix);
    await this.spiderpool.createPool({ metadata: { name }, spec });
    this.pools.push(name);
    return name;
  }

  /** Creates a SpiderSubnet named `<prefix>-<unique>`; returns its name. */
  async subnet(spec: SpiderSubnet['spec'], prefix = 'subnet'): Promise<string> {
    const name = uniqueName(prefix);
    await this.objects.createClusterCustomObject({
      group,
      version,
      plural: kinds.subnet.plural,
      body: { apiVersion: `${group}/${version}`, kind: kinds.subnet.kind, metadata: { name }, spec },
    });
    return name;
  }

  async pod(spec: TestPodSpec): Promise<V1Pod> {
    return this.core.createNamespacedPod({
      namespace: spec.namespace,
      body: {
        metadata: {
          name: spec.name ?? uniqueName('pod'),
          ...(spec.annotations ? { annotations: spec.annotations } : {}),
          ...(spec.labels ? { labels: spec.labels } : {}),
          ...(spec.ownerReferences ? { ownerReferences: spec.ownerReferences } : {}),
        },
        spec: { nodeName: spec.nodeName, containers: [{ name: 'c', image: 'registry.invalid/none' }] },
      },
    });
  }

  /** `count` pods `<prefix>-<i>` on `nodeName`, each naming `pool` (ipam.spidernet.io/ippool, IPv4). */
  async podsNamingPool(
    namespace: string,
    nodeName: string,
    pool: string,
    count: number,
    prefix: string,
  ): Promise<V1Pod[]> {
    const annotations = { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }) };
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        this.pod({ namespace, name: `${prefix}-${i}`, nodeName, annotations }),
      ),
    );
  }

  /** Deletes a pod at once (no kubelet runs here to finish a graceful deletion). */
  async deletePod(namespace: string, name: string): Promise<void> {
    await this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  async poolState(name: string): Promise<PoolState> {
    const pool = await this.spiderpool.getPool(name);
    return {
      records: decodeRecords(name, pool.status?.allocatedIPs, poolFamily(pool)),
      allocatedIPCount: pool.status?.allocatedIPCount,
      totalIPCount: pool.status?.totalIPCount,
      allocatedIPs: pool.status?.allocatedIPs,
    };
  }

  async endpoint(namespace: string, name: string): Promise<SpiderEndpoint | undefined> {
    try {
      return await this.spiderpool.getEndpoint(namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Takes an endpoint's finalizers off (so a deletion completes at once); a missing one is fine. */
  async dropEndpointFinalizers(namespace: string, name: string): Promise<void> {
    await this.objects
      .patchNamespacedCustomObject(
        {
          group,
          version,
          plural: kinds.endpoint.plural,
          namespace,
          name,
          body: { metadata: { finalizers: null } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
      .catch(() => undefined);
  }

  /** Deletes an endpoint for good, finalizers and all, as the operator's GC ends up doing. */
  async removeEndpoint(namespace: string, name: string): Promise<void> {
    await this.dropEndpointFinalizers(namespace, name);
    await this.spiderpool.deleteEndpoint(namespace, name).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  async cleanup(): Promise<void> {
    for (const namespace of this.namespaces.splice(0)) {
      const list = await this.spiderpool.listEndpoints({ namespace });
      for (const endpoint of list.items) {
        if (endpoint.metadata.finalizers?.length)
          await this.dropEndpointFinalizers(namespace, endpoint.metadata.name ?? '');
      }
      await this.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    }
    for (const name of this.pools.splice(0)) {
      await this.objects
        .deleteClusterCustomObject({ group, version, plural: kinds.ippool.plural, name })
        .catch(() => undefined);
    }
  }
}

/**
 * What a test of the compiled plugin against the control plane sets up: the plugin built, Spiderpool's
 * CRDs, the plugin's synthesized RBAC granted to the 'cni' user, a temporary folder for simulated
 * nodes, and fixtures. close() undoes all of it.
 */
export class PluginTestbed {
  private constructor(
    readonly fixtures: ClusterFixtures,
    readonly dir: string,
    private readonly revoke: () => Promise<void>,
    private readonly cp: ControlPlane,
  ) {}

  /** On the jest run's control plane, or on `cp` (a private one a test started). */
  static async start(prefix: string, cp: ControlPlane = controlPlane()): Promise<PluginTestbed> {
    pluginBinary();
    const fixtures = new ClusterFixtures(kubeConfig('admin', cp));
    await ensureSpiderpoolCrds(fixtures.admin);
    const revoke = await grantClusterRules(fixtures.admin, 'cni', cniPolicyRules());
    return new PluginTestbed(fixtures, mkdtempSync(join(tmpdir(), `${prefix}-`)), revoke, cp);
  }

  /** The plugin's kubeconfig: the 'cni' user, named like the plugin's service account. */
  get kubeconfig(): string {
    return this.cp.kubeconfigPath('cni');
  }

  /** A simulated node (its own node configuration, attachment records and log). */
  node(name: string, settings: Record<string, boolean | string | number> = {}): TestNode {
    return testNode(this.dir, `${name}-${process.pid}`, settings);
  }

  async close(): Promise<void> {
    await this.fixtures.cleanup();
    await this.revoke();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
