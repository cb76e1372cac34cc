// Access to the control plane of the current jest run from inside a test.
import { KubeConfig } from '@kubernetes/client-node';
import { apiStatus } from '../../kube/errors.js';
import { ControlPlane } from './control-plane.js';
import type { TestUserName } from './users.js';

export function controlPlane(): ControlPlane {
  const dir = process.env.SPIDERPOOL_TS_CLUSTER_DIR;
  if (!dir)
    throw new Error(
      'SPIDERPOOL_TS_CLUSTER_DIR is not set: integration tests run through the jest global setup',
    );
  return ControlPlane.attach(dir);
}

/** A client configuration acting as one of the control plane's users (admin by default). */
export function kubeConfig(user: TestUserName = 'admin', cp: ControlPlane = controlPlane()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath(user));
  return kc;
}

/** A name unique to this test run and process, for cluster-scoped objects and namespaces. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** The HTTP status of a refused API call, or 'allowed'; any other failure is thrown. */
export async function outcome(call: () => Promise<unknown>): Promise<number | 'allowed'> {
  try {
    await call();
    return 'allowed';
  } catch (err) {
    const status = apiStatus(err);
    if (status === undefined) throw err;
    return status;
  }
}
