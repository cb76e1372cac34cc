// The kubeconfig both executables read: the CNI plugin the path from its config; the operator a path
// or nothing (then the usual lookup: $KUBECONFIG, ~/.kube/config, in-cluster). Requests go through
// kube/rest.ts.
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${path ?? '(default)'} has no current cluster`);
  return kc;
}
