// API clients from a kubeconfig file. The CNI plugin passes the path from its config; the operator a
// path or nothing (then the usual lookup: $KUBECONFIG, ~/.kube/config, in-cluster).
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

export interface Clients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  objects: CustomObjectsApi;
  coordination: CoordinationV1Api;
}

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${path ?? '(default)'} has no current cluster`);
  return kc;
}

export function makeClients(kubeConfig: KubeConfig): Clients {
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    objects: kubeConfig.makeApiClient(CustomObjectsApi),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
  };
}
