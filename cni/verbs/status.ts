// STATUS (CNI 1.1): success when ADD could be served. First the API server: a read of the pools with
// the plugin's own credentials. Then the pools a pod that names none would get (see
// allocation/default-pools.ts): none of them usable, or all exhausted, fails too. Any failure is code
// 50 with the reason, so `crictl info` and the runtime's logs say why the network is not ready.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { group, kinds, version } from '../../api/constants.js';
import type { SpiderIPPool, SpiderReservedIP } from '../../api/index.js';
import { apiStatus, describeApiError } from '../../kube/errors.js';
import { defaultPoolProblems } from '../allocation/default-pools.js';
import { pluginKubeConfig, withDeadline } from '../kube-access.js';
import type { VerbContext } from '../plugin.js';
import { CniError, ErrorCode } from '../protocol/errors.js';

export const statusDeadlineMs = 5_000;

function reason(err: unknown, server: string, kubeconfig: string, plural: string): string {
  switch (apiStatus(err)) {
    case 401:
      return `the API server at ${server} refused the credentials in ${kubeconfig} (HTTP 401)`;
    case 403:
      return `the credentials in ${kubeconfig} may not list ${plural}: ${describeApiError(err)}`;
    case 404:
      return `the API server at ${server} does not serve ${plural}.${group}: are Spiderpool's CRDs installed?`;
    case undefined:
      return `the API server at ${server} is unreachable: ${describeApiError(err)}`;
    default:
      return `the API server at ${server} failed to list ${plural}: ${describeApiError(err)}`;
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
  const list = async <T>(plural: string): Promise<T[]> => {
    try {
      const got = await withDeadline(
        objects.listClusterCustomObject({ group, version, plural }),
        statusDeadlineMs,
        `listing ${plural} at ${server}`,
      );
      return (got as { items: T[] }).items;
    } catch (err) {
      throw new CniError(ErrorCode.notAvailable, reason(err, server, path, plural));
    }
  };
  // The pools first: whether the API answers at all is the first question.
  const pools = await list<SpiderIPPool>(kinds.ippool.plural);
  const named = ctx.config.ipam.defaultIPv4Pools.length + ctx.config.ipam.defaultIPv6Pools.length > 0;
  const reservedIPs =
    named || pools.some((p) => p.spec.default) ? await list<SpiderReservedIP>(kinds.reservedip.plural) : [];
  const node = ctx.nodeConfig();
  const problems = defaultPoolProblems({
    pools,
    reservedIPs,
    defaultIPv4Pools: ctx.config.ipam.defaultIPv4Pools,
    defaultIPv6Pools: ctx.config.ipam.defaultIPv6Pools,
    nodeName: node.nodeName,
    enableIPv4: node.enableIPv4,
    enableIPv6: node.enableIPv6,
  });
  if (problems.length > 0)
    throw new CniError(ErrorCode.notAvailable, `network ${ctx.config.name}: ${problems.join('; ')}`);
  ctx.log.debug('API server reachable, default pools usable', { server, pools: pools.length });
  return undefined;
}
