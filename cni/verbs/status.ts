// STATUS (CNI 1.1): success when ADD could be served. First the API server: a list of the pools with
// the plugin's own credentials (only their names, or only the pools with spec.default: never every
// status). Then the pools a pod that names none would get (see allocation/default-pools.ts), read by
// name: none of them usable, or all exhausted, fails too. Any failure is code 50 with the reason, so
// `crictl info` and the runtime's logs say why the network is not ready.
import { group, kinds } from '../../api/constants.js';
import type { SpiderIPPool, SpiderReservedIP } from '../../api/index.js';
import { apiStatus, describeApiError, isNotFound } from '../../kube/errors.js';
import { RestClient } from '../../kube/rest.js';
import { SpiderpoolApi } from '../../kube/spiderpool.js';
import { retryTransient } from '../../kube/transient.js';
import { defaultPoolProblems } from '../allocation/default-pools.js';
import { clusterDefaultNeeds, poolsMatching } from '../allocation/pool-needs.js';
import { defaultPoolSelector, unselectable } from '../allocation/reads.js';
import { pluginKubeConfig, withDeadline } from '../kube-access.js';
import type { VerbContext } from '../plugin.js';
import { CniError, ErrorCode } from '../protocol/errors.js';

export const statusDeadlineMs = 5_000;

function reason(err: unknown, server: string, kubeconfig: string, plural: string): string {
  if (err instanceof CniError) return err.message;
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
  let rest: RestClient;
  try {
    rest = new RestClient(pluginKubeConfig(path), statusDeadlineMs);
  } catch (err) {
    throw new CniError(ErrorCode.notAvailable, (err as Error).message);
  }
  const server = rest.server;
  const api = new SpiderpoolApi(rest);
  const ask = async <T>(what: string, plural: string, work: () => Promise<T>): Promise<T> => {
    try {
      // A 429 or 503 (a resource's watch cache still filling, API Priority and Fairness) is retried
      // within the deadline, so STATUS reports only an answer that lasts.
      const retried = retryTransient(work, { budgetMs: statusDeadlineMs - 1_000 });
      return await withDeadline(retried, statusDeadlineMs, `${what} at ${server}`);
    } catch (err) {
      throw new CniError(ErrorCode.notAvailable, reason(err, server, path, plural));
    }
  };
  const node = ctx.nodeConfig();
  const { defaultIPv4Pools, defaultIPv6Pools } = ctx.config.ipam;
  // The pools a pod that names none would get: the configuration's, else the spec.default ones.
  const needs = clusterDefaultNeeds({
    defaultIPv4Pools,
    defaultIPv6Pools,
    enableIPv4: node.enableIPv4,
    enableIPv6: node.enableIPv6,
  });
  const pools = kinds.ippool.plural;
  // The first list is also the first question: whether the API answers at all.
  let read: SpiderIPPool[];
  if (needs.defaults) {
    const what = `listing ${pools} with fieldSelector ${defaultPoolSelector}`;
    const list = await ask(what, pools, () =>
      api.listPools(undefined, defaultPoolSelector).catch((err: unknown) => {
        // An API server that answers 400 is reachable; the CRD lacks the selectable field.
        if (apiStatus(err) === 400) throw new CniError(ErrorCode.notAvailable, unselectable(what, err));
        throw err;
      }),
    );
    read = list.items;
  } else {
    const list = await ask(`listing ${pools}`, pools, () => api.listPoolMetadata());
    const existing = new Set(list.items.map((item) => item.metadata.name ?? ''));
    const names = [
      ...needs.names.filter((name) => existing.has(name)),
      ...poolsMatching(needs.patterns, [...existing]),
    ];
    const got = await Promise.all(
      [...new Set(names)].map((name) =>
        ask(`reading ${pools} ${name}`, pools, () =>
          api.getPool(name).catch((err: unknown) => {
            if (isNotFound(err)) return undefined;
            throw err;
          }),
        ),
      ),
    );
    read = got.filter((p): p is SpiderIPPool => p !== undefined);
  }
  const named = defaultIPv4Pools.length + defaultIPv6Pools.length > 0;
  const reservedIPs =
    named || read.some((p) => p.spec.default)
      ? (
          await ask(`listing ${kinds.reservedip.plural}`, kinds.reservedip.plural, () =>
            api.listReservedIPs(),
          )
        ).items
      : ([] as SpiderReservedIP[]);
  const problems = defaultPoolProblems({
    pools: read,
    reservedIPs,
    defaultIPv4Pools,
    defaultIPv6Pools,
    nodeName: node.nodeName,
    enableIPv4: node.enableIPv4,
    enableIPv6: node.enableIPv6,
  });
  if (problems.length > 0)
    throw new CniError(ErrorCode.notAvailable, `network ${ctx.config.name}: ${problems.join('; ')}`);
  ctx.log.debug('API server reachable, default pools usable', {
    server,
    pools: read.map((p) => p.metadata.name),
  });
  return undefined;
}
