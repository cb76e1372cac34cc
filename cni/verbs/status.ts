// STATUS (CNI 1.1): success when ADD could be served. This half checks the API server: a cheap,
// authorized read of the pools with the plugin's own credentials. Any failure is code 50 with the
// reason, so `crictl info` and the runtime's logs say why the network is not ready.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { group, kinds, version } from '../../api/constants.js';
import { apiStatus, describeApiError } from '../../kube/errors.js';
import { pluginKubeConfig, withDeadline } from '../kube-access.js';
import type { VerbContext } from '../plugin.js';
import { CniError, ErrorCode } from '../protocol/errors.js';

export const statusDeadlineMs = 5_000;

function reason(err: unknown, server: string, kubeconfig: string): string {
  switch (apiStatus(err)) {
    case 401:
      return `the API server at ${server} refused the credentials in ${kubeconfig} (HTTP 401)`;
    case 403:
      return `the credentials in ${kubeconfig} may not list ${kinds.ippool.plural}: ${describeApiError(err)}`;
    case 404:
      return `the API server at ${server} does not serve ${kinds.ippool.plural}.${group}: are Spiderpool's CRDs installed?`;
    case undefined:
      return `the API server at ${server} is unreachable: ${describeApiError(err)}`;
    default:
      return `the API server at ${server} failed to list ${kinds.ippool.plural}: ${describeApiError(err)}`;
  }
}

export async function status(ctx: VerbContext): Promise<undefined> {
  const path = ctx.config.kubeconfigPath;
  let kubeConfig: ReturnType<typeof pluginKubeConfig>;
  try {
    kubeConfig = pluginKubeConfig(path);
  } catch (err) {
    throw new CniError(ErrorCode.notAvailable, (err as Error).message);
  }
  const server = kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  const objects = kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    await withDeadline(
      objects.listClusterCustomObject({ group, version, plural: kinds.ippool.plural, limit: 1 }),
      statusDeadlineMs,
      `listing ${kinds.ippool.plural} at ${server}`,
    );
  } catch (err) {
    throw new CniError(ErrorCode.notAvailable, reason(err, server, path));
  }
  ctx.log.debug('API server reachable', { server });
  return undefined;
}
