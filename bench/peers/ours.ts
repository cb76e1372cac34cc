// This project's compiled plugin (dist/bin/spiderpool) as `npm run bench` drives it: a real process
// per call with the CNI environment a runtime passes, the installation's RBAC (the 'cni' user), one
// node configuration per node, the pool named by `default_ipv4_ippool`.
import { mkdirSync } from 'node:fs';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { group, type SpiderIPPool, version } from '../../api/index.js';
import { decodeRecords } from '../../ipam/records/codec.js';
import { RestClient } from '../../kube/rest.js';
import { SpiderpoolApi } from '../../kube/spiderpool.js';
import { cniEnv, netConf, pluginBinary, runProcess, testNode } from '../../test/harness/cni-plugin.js';
import {
  cniPolicyRules,
  ensureSpiderpoolCrds,
  grantClusterRules,
} from '../../test/harness/spiderpool-api.js';
import { poolSpec } from '../cni-adds.js';
import { nodeNames } from './round.js';
import { addHolder, type SystemStarter } from './system.js';

/** A SpiderIPPool's records (ours or Spiderpool's: the same `status.allocatedIPs` string) by address. */
export async function poolHolders(admin: KubeConfig, name: string): Promise<Map<string, string[]>> {
  const objects = admin.makeApiClient(CustomObjectsApi);
  const pool = (await objects.getClusterCustomObject({
    group,
    version,
    plural: 'spiderippools',
    name,
  })) as SpiderIPPool;
  const holders = new Map<string, string[]>();
  for (const r of decodeRecords(name, pool.status?.allocatedIPs, 4)) addHolder(holders, r.ip, r.pod);
  return holders;
}

/** Our plugin as a system under test: this build (dist/bin/spiderpool), or `build` (another executable). */
export const oursWith =
  (build?: { binary: string; label: string }): SystemStarter =>
  async (cp, admin, work, netns) => {
    const binary = build?.binary ?? pluginBinary();
    await ensureSpiderpoolCrds(admin);
    const revoke = await grantClusterRules(admin, 'cni', cniPolicyRules());
    const api = new SpiderpoolApi(new RestClient(admin));
    mkdirSync(work, { recursive: true });
    const nodes = nodeNames.map((name) => testNode(work, name));
    let pool = '';
    let configs: string[] = [];
    return {
      label: build?.label ?? 'spiderpool-ts',
      logFiles: nodes.map((node) => node.logFile),
      async newPool(size, round) {
        pool = `bench-${round}-${Date.now().toString(36)}`;
        await api.createPool({ metadata: { name: pool }, spec: poolSpec(size) });
        configs = nodes.map((node) =>
          JSON.stringify(
            netConf(node, cp.kubeconfigPath('cni'), {
              name: 'bench',
              ipam: { log_level: 'info', default_ipv4_ippool: [pool] },
            }),
          ),
        );
      },
      call(verb, pod, timeoutMs) {
        const env = { PATH: process.env.PATH, ...cniEnv(verb, pod, { netns }) };
        return runProcess(binary, [], env, configs[pod.node], timeoutMs);
      },
      recorded: () => poolHolders(admin, pool),
      close: revoke,
    };
  };

export const startOurs: SystemStarter = oursWith();
