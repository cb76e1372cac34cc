// A private control plane for tests that stop or restart its components, and small helpers for the
// ConfigMaps the test controller handles.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { isNotFound } from '../../../kube/errors.js';
import { kubeConfig } from '../../harness/clients.js';
import { type Component, ControlPlane } from '../../harness/control-plane.js';

export interface PrivateCluster {
  cp: ControlPlane;
  dir: string;
  kc: KubeConfig;
  core: CoreV1Api;
  stop(): Promise<void>;
}

export async function startPrivateCluster(
  extraArgs?: Partial<Record<Component, string[]>>,
): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'spiderpool-ts-operator-'));
  const cp = await ControlPlane.start({ dir, scheduler: false, controllerManager: false, extraArgs });
  const kc = kubeConfig('admin', cp);
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
