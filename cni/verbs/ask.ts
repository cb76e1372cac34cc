// How a verb gets an allocation or a release done: through the node-local leader of its scope (the
// node and the kubeconfig), which may be this very process. The leader module, and with it
// @kubernetes/client-node, is loaded only when this process leads.
import type { MultusSettings } from '../../ipam/multus/networks.js';
import { batchGatherMs, leaderOptions, leaderScope, multusSettings } from '../allocation/leader-options.js';
import type { PluginAnswer, PluginRequest, PodArgs, Switches } from '../allocation/requests.js';
import {
  type BatchHandler,
  BatchRequestFailed,
  CoordinationTimeout,
  coordinate,
} from '../coordination/coordinate.js';
import { noteLed } from '../linger/successor.js';
import type { VerbContext } from '../plugin.js';
import { CniError, ErrorCode } from '../protocol/errors.js';

const handlers = new Map<string, BatchHandler<PluginRequest, PluginAnswer>>();

/** One handler per kubeconfig and node in a process, so the API client is made once. */
function leaderFor(ctx: VerbContext): BatchHandler<PluginRequest, PluginAnswer> {
  const path = ctx.config.kubeconfigPath;
  const key = `${path}\n${ctx.nodeConfig().nodeName}`;
  let handler = handlers.get(key);
  if (!handler) {
    let loaded: BatchHandler<PluginRequest, PluginAnswer> | undefined;
    handler = async (requests) => {
      if (!loaded) {
        const { batchHandler } = await import('../allocation/batch.js');
        loaded = batchHandler(leaderOptions(ctx.nodeConfig(), path, ctx.log));
      }
      return loaded(requests);
    };
    handlers.set(key, handler);
  }
  return handler;
}

/** Sends `request` to the node's leader and returns its answer, or throws its error as a CniError. */
export async function ask<A extends PluginAnswer>(ctx: VerbContext, request: PluginRequest): Promise<A> {
  const node = ctx.nodeConfig();
  const path = ctx.config.kubeconfigPath;
  const name = leaderScope(node.nodeName, path);
  try {
    const answer = await coordinate<PluginRequest, PluginAnswer>(request, {
      name,
      handleBatch: leaderFor(ctx),
      gatherMs: batchGatherMs,
      onEvent: (event) => {
        if (event.type === 'retry' || event.type === 'answer-lost') ctx.log.debug('coordination', event);
      },
    });
    ctx.log.debug('answered', { role: answer.role, attempts: answer.attempts });
    // A process that led leaves a successor behind, so the next calls find a warm leader.
    if (answer.role === 'leader' && node.pluginLeaderLingerMs > 0)
      noteLed(name, { kubeconfigPath: path, nodeConfigPath: ctx.config.nodeConfigPath, log: ctx.config.log });
    return answer.value as A;
  } catch (err) {
    if (err instanceof BatchRequestFailed) throw new CniError(err.code ?? ErrorCode.internal, err.message);
    if (err instanceof CoordinationTimeout) throw new CniError(ErrorCode.tryAgainLater, err.message);
    throw err;
  }
}

/** How NICs map to Multus networks on this node: Multus's namespace and the cluster default network. */
export function multusSettingsOf(ctx: VerbContext): MultusSettings {
  return multusSettings(ctx.nodeConfig());
}

/** The switches of the node configuration that travel with every request. */
export function switchesOf(ctx: VerbContext): Switches {
  const n = ctx.nodeConfig();
  return {
    enableIPv4: n.enableIPv4,
    enableIPv6: n.enableIPv6,
    enableStatefulSet: n.enableStatefulSet,
    enableKubevirtStaticIP: n.enableKubevirtStaticIP,
    enableIPConflictDetection: n.enableIPConflictDetection,
    ...(n.enableIPAMClaim ? { enableIPAMClaim: true } : {}),
    autoPools: n.enableSpiderSubnet && n.enableAutoPoolForApplication,
  };
}

/** K8S_POD_NAMESPACE and K8S_POD_NAME (and K8S_POD_UID when sent), required by `verb`. */
export function podArgsOf(ctx: VerbContext, verb: string): PodArgs {
  const { podNamespace, podName, podUid } = ctx.env.args;
  if (!podNamespace || !podName) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `CNI_ARGS: K8S_POD_NAMESPACE and K8S_POD_NAME are required for ${verb}`,
    );
  }
  return { namespace: podNamespace, name: podName, ...(podUid ? { uid: podUid } : {}) };
}
