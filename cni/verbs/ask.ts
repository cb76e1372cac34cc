// How a verb gets an allocation or a release done: through the node-local leader of its scope (the
// node and the kubeconfig), which may be this very process. The leader module, and with it
// @kubernetes/client-node, is loaded only when this process leads.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { MultusSettings } from '../../ipam/multus/networks.js';
import type { PluginAnswer, PluginRequest, PodArgs, Switches } from '../allocation/requests.js';
import {
  type BatchHandler,
  BatchRequestFailed,
  CoordinationTimeout,
  coordinate,
} from '../coordination/coordinate.js';
import { scopeName } from '../coordination/scope.js';
import type { VerbContext } from '../plugin.js';
import { CniError, ErrorCode } from '../protocol/errors.js';

const handlers = new Map<string, BatchHandler<PluginRequest, PluginAnswer>>();

/** One handler per kubeconfig and node in a process, so the API client is made once. */
function leaderFor(ctx: VerbContext, nodeName: string): BatchHandler<PluginRequest, PluginAnswer> {
  const key = `${ctx.config.kubeconfigPath}\n${nodeName}`;
  let handler = handlers.get(key);
  if (!handler) {
    let loaded: BatchHandler<PluginRequest, PluginAnswer> | undefined;
    handler = async (requests) => {
      if (!loaded) {
        const { batchHandler } = await import('../allocation/batch.js');
        loaded = batchHandler({
          kubeconfigPath: ctx.config.kubeconfigPath,
          nodeName,
          multus: multusSettingsOf(ctx),
          maxAllocatedIPs: ctx.nodeConfig().ippoolMaxAllocatedIPs,
          log: ctx.log,
        });
      }
      return loaded(requests);
    };
    handlers.set(key, handler);
  }
  return handler;
}

/**
 * What separates leaders besides the node: the kubeconfig's content (its API server and credentials)
 * by digest, so naming the scope parses nothing and loads no library. Two files for one API server
 * only make two leaders, which is safe.
 */
function kubeconfigDigest(path: string): string {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (err) {
    // Before `spiderpool install` has run the file is missing: the kubelet's retry will find it.
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CniError(
      missing ? ErrorCode.tryAgainLater : ErrorCode.invalidNetworkConfig,
      missing
        ? `kubeconfig ${path} does not exist (is spiderpool installed on this node?)`
        : `kubernetes.kubeconfig: ${path}: ${(err as Error).message}`,
    );
  }
  return createHash('sha256').update(content).digest('hex');
}

/** Sends `request` to the node's leader and returns its answer, or throws its error as a CniError. */
export async function ask<A extends PluginAnswer>(ctx: VerbContext, request: PluginRequest): Promise<A> {
  const nodeName = ctx.nodeConfig().nodeName;
  const path = ctx.config.kubeconfigPath;
  try {
    const answer = await coordinate<PluginRequest, PluginAnswer>(request, {
      name: scopeName(nodeName, kubeconfigDigest(path), path),
      handleBatch: leaderFor(ctx, nodeName),
      onEvent: (event) => {
        if (event.type === 'retry' || event.type === 'answer-lost') ctx.log.debug('coordination', event);
      },
    });
    ctx.log.debug('answered', { role: answer.role, attempts: answer.attempts });
    return answer.value as A;
  } catch (err) {
    if (err instanceof BatchRequestFailed) throw new CniError(err.code ?? ErrorCode.internal, err.message);
    if (err instanceof CoordinationTimeout) throw new CniError(ErrorCode.tryAgainLater, err.message);
    throw err;
  }
}

/** How NICs map to Multus networks on this node: Multus's namespace and the cluster default network. */
export function multusSettingsOf(ctx: VerbContext): MultusSettings {
  const { multusNamespace, clusterNetwork } = ctx.nodeConfig();
  return { multusNamespace, ...(clusterNetwork ? { clusterDefaultNetwork: clusterNetwork } : {}) };
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
