// `spiderpool lead <spec>`: a lingering successor (see successor.ts). It reads the node
// configuration and the kubeconfig again, opens its API connection, says it is up, takes the node's
// leader name as soon as it is free (a call may be leading at that moment), and serves batches
// until `pluginLeaderLingerMs` without a request. After `pluginLeaderMaxLifeMs` of leading it starts
// its own successor and hands over once that one is up, so a busy node picks up a changed node
// configuration or kubeconfig. It never answers a runtime: a successor that finds nothing to do, or
// cannot start, exits quietly and the next call leads itself.
import { writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { batchGatherMs, leaderOptions, leaderScope } from '../allocation/leader-options.js';
import { lead } from '../coordination/coordinate.js';
import { fileLogger, type Logger } from '../log/logger.js';
import { type NodeConfig, readNodeConfig } from '../node-config.js';
import { readyLine, type SuccessorSpec, spawnSuccessor } from './successor.js';

/** How long a successor waits for its API connection before it takes the name anyway. */
const warmLimitMs = 1_000;

/** How long a successor tries for the name: a call that leads hands over within its maxLeadMs (2 s). */
export const successorWaitMs = 2_500;

function specOf(text: string | undefined): SuccessorSpec | undefined {
  try {
    const spec = JSON.parse(text ?? '') as Partial<SuccessorSpec>;
    if (typeof spec.kubeconfigPath !== 'string' || typeof spec.nodeConfigPath !== 'string') return undefined;
    if (typeof spec.log?.filePath !== 'string') return undefined;
    return spec as SuccessorSpec;
  } catch {
    return undefined;
  }
}

export async function runLead(argv: string[]): Promise<number> {
  const spec = specOf(argv[0]);
  if (!spec) {
    process.stderr.write('usage: spiderpool lead <successor spec as JSON> (started by the plugin itself)\n');
    return 2;
  }
  const log: Logger = fileLogger(spec.log, { role: 'successor' });
  let node: NodeConfig;
  let name: string;
  try {
    node = readNodeConfig(spec.nodeConfigPath);
    name = leaderScope(node.nodeName, spec.kubeconfigPath);
  } catch (err) {
    log.warn('successor not started', { error: (err as Error).message });
    return 0;
  }
  const lingerMs = node.pluginLeaderLingerMs;
  if (lingerMs <= 0) return 0;
  const { leader } = await import('../allocation/batch.js');
  const batches = leader(leaderOptions(node, spec.kubeconfigPath, log));
  // Taking over from a lingering leader, which lets go of the name at the ready line: connected
  // first. Started by a call that led, the name is free now: taken first, so the next call follows.
  if (spec.handover) await Promise.race([batches.warm().catch(() => undefined), sleep(warmLimitMs)]);
  try {
    writeSync(1, `${readyLine}\n`);
  } catch {
    // nobody waits for the line
  }
  const started = performance.now();
  let served = 0;
  const reason = await lead(
    {
      name,
      handleBatch: batches.handleBatch,
      idleMs: lingerMs,
      gatherMs: batchGatherMs,
      maxLeadMs: node.pluginLeaderMaxLifeMs,
      beforeMaxLeadHandover: () => spawnSuccessor({ ...spec, handover: true }, true),
      onEvent: (event) => {
        if (event.type === 'handover') served = event.served;
      },
    },
    successorWaitMs,
    () => {
      log.info('lingering leader', { lingerMs, maxLifeMs: node.pluginLeaderMaxLifeMs });
      if (!spec.handover) batches.warm().catch(() => undefined);
    },
  );
  if (reason)
    log.info('lingering leader handed over', { reason, served, ms: Math.round(performance.now() - started) });
  return 0;
}
