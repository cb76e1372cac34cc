// A private control plane for tests that stop or restart its components, and small helpers for the
// ConfigMaps the test controller handles.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { installDefaults } from '../../../api/install/names.js';
import { installationManifests } from '../../../cdk8s/app.js';
import { defaultValues } from '../../../cdk8s/values/schema.js';
import { isAlreadyExists, isNotFound } from '../../../kube/errors.js';
import { kubeConfig } from '../../harness/clients.js';
import { type Component, ControlPlane } from '../../harness/control-plane.js';
import { ensureKubeVirtCrds, ensureSpiderpoolCrds } from '../../harness/spiderpool-api.js';

export interface PrivateCluster {
  cp: ControlPlane;
  dir: string;
  kc: KubeConfig;
  core: CoreV1Api;
  stop(): Promise<void>;
}

export interface PrivateClusterOptions {
  /** Run kube-controller-manager (its garbage collector follows ownerReferences). Default off. */
  controllerManager?: boolean;
  /** Create Spiderpool's CRDs (the operator watches them). Default on. */
  spiderpoolCrds?: boolean;
  /** Create KubeVirt v1.6.0's VM, VMI and migration CRDs. Default off. */
  kubevirtCrds?: boolean;
}

export async function startPrivateCluster(
  extraArgs?: Partial<Record<Component, string[]>>,
  options: PrivateClusterOptions = {},
): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'spiderpool-ts-operator-'));
  const cp = await ControlPlane.start({
    dir,
    scheduler: false,
    controllerManager: options.controllerManager ?? false,
    extraArgs,
  });
  const kc = kubeConfig('admin', cp);
  if (options.spiderpoolCrds ?? true) await ensureSpiderpoolCrds(kc);
  if (options.kubevirtCrds) await ensureKubeVirtCrds(kc);
  return {
    cp,
    dir,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    async stop() {
      await cp.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const testLabel = 'spiderpool-ts.test/operator';

export function configMap(name: string, run: string, annotations: Record<string, string> = {}): V1ConfigMap {
  return { metadata: { name, labels: { [testLabel]: run }, annotations }, data: { a: '1' } };
}

export async function readOrUndefined(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<V1ConfigMap | undefined> {
  try {
    return await core.readNamespacedConfigMap({ name, namespace });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The synthesized RBAC of the installation, plus what only the test controller needs (below). Operator
 * processes then run as the 'operator' user, i.e. as the operator's service account, in namespace
 * kube-system.
 */
export async function installOperatorRbac(cluster: PrivateCluster, testNamespace: string): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(cluster.kc);
  const rbac = installationManifests(defaultValues('0.0.0')).find((c) => c.chart === 'rbac');
  for (const object of rbac?.objects ?? []) await objects.create(object as KubernetesObject);
  await grantTestController(cluster.kc, testNamespace);
}

/**
 * Where the test controller of an OperatorProcess looks when a test gives it nothing to do: a
 * namespace of its own, so its grant does not show among the operator's in kube-system.
 */
export const idleTestControllerNamespace = 'test-controller-idle';

/**
 * What the test controller of an OperatorProcess needs beyond the installation's RBAC (which grants
 * no ConfigMaps at all): its ConfigMaps, read and patched for the finalizer, in `namespace` (created
 * when missing). Until it has them its watch never lists, and the operator's once-synced tasks never
 * start.
 */
export async function grantTestController(kc: KubeConfig, namespace: string): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: namespace } } })
    .catch((err: unknown) => {
      if (!isAlreadyExists(err)) throw err;
    });
  const rbacApi = kc.makeApiClient(RbacAuthorizationV1Api);
  await rbacApi.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'test-configmaps' },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
      ],
    },
  });
  await rbacApi.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'test-configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'test-configmaps' },
      subjects: [
        {
          kind: 'ServiceAccount',
          name: installDefaults.operatorServiceAccount,
          namespace: installDefaults.namespace,
        },
      ],
    },
  });
}
