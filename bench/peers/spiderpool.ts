// Spiderpool itself as a benchmark peer: one `spiderpool-agent` per node (the daemon that allocates,
// with informer caches) and its thin `spiderpool` IPAM plugin, which asks the agent over a unix socket.
// Both built from Spiderpool's Go module (test/infra/go/spiderpool), run out of cluster against the
// same kind of control plane as ours, with Spiderpool's own CRDs (they share our names, so it gets a
// control plane of its own). What each piece needs out of cluster is in docs/cni.md "Benchmarks".
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { ensureBinaries } from '../../test/harness/binaries.js';
import { cniEnv, runProcess } from '../../test/harness/cni-plugin.js';
import { freePort } from '../../test/harness/control-plane.js';
import {
  isRunning,
  type ProcessRecord,
  startDetached,
  stopProcess,
  tail,
} from '../../test/harness/processes.js';
import { poolSpec } from '../cni-adds.js';
import { applyCrdFiles, moduleSource } from './go-module.js';
import { poolHolders } from './ours.js';
import { nodeNames } from './round.js';
import type { SystemStarter } from './system.js';

/** The agent's conf.yml (the chart ConfigMap's keys): IPv4 only, no subnets, detection or sysctls. */
function agentConf(socket: string): string {
  return stringify({
    ipamUnixSocketPath: socket,
    enableIPv4: true,
    enableIPv6: false,
    enableStatefulSet: true,
    enableKubevirtStaticIP: true,
    enableSpiderSubnet: false,
    enableIPConflictDetection: false,
    enableGatewayDetection: false,
    tuneSysctlConfig: false,
    podResourceInject: { enabled: false },
    agent: { networkResourcePlugin: { enabled: false } },
  });
}

async function waitReady(agent: ProcessRecord, healthPort: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (!isRunning(agent)) throw new Error(`spiderpool-agent exited during start-up:\n${tail(agent.log)}`);
    const ok = await fetch(`http://127.0.0.1:${healthPort}/v1/runtime/readiness`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`spiderpool-agent not ready after 120 s:\n${tail(agent.log)}`);
    await sleep(200);
  }
}

export const startSpiderpool: SystemStarter = async (cp, admin, work, netns, log) => {
  const bin = ensureBinaries('spiderpool', log);
  const crdDir = join(
    moduleSource('spiderpool', 'github.com/spidernet-io/spiderpool'),
    'charts/spiderpool/crds',
  );
  await applyCrdFiles(
    admin,
    readdirSync(crdDir)
      .filter((f) => /^(spiderpool\.spidernet\.io|k8s\.cni\.cncf\.io)_.*\.yaml$/.test(f))
      .map((f) => join(crdDir, f)),
  );
  const agents: ProcessRecord[] = [];
  const sockets: string[] = [];
  try {
    for (const [i, node] of nodeNames.entries()) {
      const socket = join(work, `agent-${i}.sock`);
      const conf = join(work, `agent-${i}.conf.yml`);
      writeFileSync(conf, agentConf(socket));
      const healthPort = await freePort();
      const agent = startDetached(
        join(bin, 'spiderpool-agent'),
        ['daemon', `--config-path=${conf}`],
        join(work, `agent-${i}.log`),
        {
          KUBECONFIG: cp.kubeconfigPath('admin'),
          SPIDERPOOL_POD_NAMESPACE: 'kube-system',
          SPIDERPOOL_POD_NAME: `spiderpool-agent-${i}`,
          SPIDERPOOL_NODE_NAME: node,
          SPIDERPOOL_HEALTH_PORT: String(healthPort),
          SPIDERPOOL_METRIC_HTTP_PORT: String(await freePort()),
          SPIDERPOOL_GOPS_LISTEN_PORT: String(await freePort()),
          // Without it every pool is filtered out ("cluster-network multus isn't set").
          MULTUS_CLUSTER_NETWORK: 'kube-system/bench',
        },
      );
      agents.push(agent);
      sockets.push(socket);
      await waitReady(agent, healthPort);
    }
  } catch (err) {
    for (const agent of agents) await stopProcess(agent);
    throw err;
  }
  const objects = admin.makeApiClient(CustomObjectsApi);
  let pool = '';
  let configs: string[] = [];
  return {
    label: 'Spiderpool v1.2.2',
    daemons: agents.map((agent, i) => ({ name: `spiderpool-agent ${nodeNames[i]}`, pid: agent.pid })),
    async newPool(size, round) {
      pool = `bench-${round}-${Date.now().toString(36)}`;
      // No webhook runs to default the spec: name the IP version.
      await objects.createClusterCustomObject({
        group: 'spiderpool.spidernet.io',
        version: 'v2beta1',
        plural: 'spiderippools',
        body: {
          apiVersion: 'spiderpool.spidernet.io/v2beta1',
          kind: 'SpiderIPPool',
          metadata: { name: pool },
          spec: { ipVersion: 4, ...poolSpec(size) },
        },
      });
      configs = sockets.map((socket, i) =>
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'bench',
          ipam: {
            type: 'spiderpool',
            log_file_path: join(work, `plugin-${i}.log`),
            log_level: 'info',
            ipam_unix_socket_path: socket,
            default_ipv4_ippool: [pool],
          },
        }),
      );
    },
    call(verb, pod, timeoutMs) {
      const env = { PATH: process.env.PATH, ...cniEnv(verb, pod, { netns }) };
      return runProcess(join(bin, 'spiderpool'), [], env, configs[pod.node], timeoutMs);
    },
    recorded: () => poolHolders(admin, pool),
    async close() {
      for (const agent of agents) await stopProcess(agent);
    },
  };
};
