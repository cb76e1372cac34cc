// Who leads which node-local batches: the scope (the node, and the kubeconfig's content and path,
// so two clusters or credentials never share a leader) and the options of the leader's batch
// handler, from the node configuration. Shared by a plugin call that leads (verbs/ask.ts) and by a
// lingering successor (cni/linger/lead.ts), so both serve the same scope the same way.
import { readFileSync } from 'node:fs';
import type { MultusSettings } from '../../ipam/multus/networks.js';
import { scopeName } from '../coordination/scope.js';
import { sha256Hex } from '../coordination/sha256.js';
import type { Logger } from '../log/logger.js';
import type { NodeConfig } from '../node-config.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import type { LeaderOptions } from './batch.js';

/**
 * What separates leaders besides the node: the kubeconfig's content (its API server and credentials)
 * by digest, so naming the scope parses nothing and loads no library. Two files for one API server
 * only make two leaders, which is safe.
 */
export function kubeconfigDigest(path: string): string {
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
  return sha256Hex(content);
}

/** The abstract socket name of the leader of `nodeName` for this kubeconfig. */
export function leaderScope(nodeName: string, kubeconfigPath: string): string {
  return scopeName(nodeName, kubeconfigDigest(kubeconfigPath), kubeconfigPath);
}

/**
 * A request that comes within this long of the node leader's previous answer waits for others, in
 * steps of this long, for as long as requests keep coming (coordination's gatherMs, gatherQuietMs,
 * gatherCapMs): in a burst every batch writes a whole pool object, so fewer, larger batches leave
 * more of the node's CPU to the plugin processes; one call at a time never comes within 5 ms of the
 * previous answer (a process start alone takes longer), so it never waits.
 */
export const batchGatherMs = 5;

/** How NICs map to Multus networks on this node: Multus's namespace and the cluster default network. */
export function multusSettings(node: NodeConfig): MultusSettings {
  const { multusNamespace, clusterNetwork } = node;
  return { multusNamespace, ...(clusterNetwork ? { clusterDefaultNetwork: clusterNetwork } : {}) };
}

/** The batch handler's options for this node and kubeconfig. */
export function leaderOptions(node: NodeConfig, kubeconfigPath: string, log: Logger): LeaderOptions {
  return {
    kubeconfigPath,
    nodeName: node.nodeName,
    multus: multusSettings(node),
    maxAllocatedIPs: node.ippoolMaxAllocatedIPs,
    log,
  };
}
