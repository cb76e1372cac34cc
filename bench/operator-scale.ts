// The operator at scale (`npm run bench -- --operator`): on the demo's stage (virt-controller, the node
// agent, the compiled operator), N Pod objects on two nodes no agent runs, each given an address and a
// SpiderEndpoint by the compiled plugin (real ADDs at concurrency 64 into one pool of N addresses, the
// pool cap raised to N); then the operator restarted so that it lists all of it again: its peak
// resident memory during that initial sync (the kernel's high-water mark when it reports ready), its
// resident memory 30 s and 60 s later; then, with those N present, VMs started and deleted one by one,
// each timed from the delete to its addresses and SpiderEndpoint being free.
import { CoreV1Api } from '@kubernetes/client-node';
import { Stage } from '../demo/stage.js';
import { RestClient } from '../kube/rest.js';
import { SpiderpoolApi } from '../kube/spiderpool.js';
import { cniEnv, netConf, pluginBinary, runProcess, testNode } from '../test/harness/cni-plugin.js';
import { cniPolicyRules, grantClusterRules } from '../test/harness/spiderpool-api.js';
import { poolSpec } from './cni-adds.js';
import { createPods, nodeNames, phase } from './peers/round.js';
import { resultAddress } from './peers/system.js';
import { type ReleaseTimes, VmFleet, vmNetwork } from './vm-lifecycle.js';

export interface OperatorScaleOptions {
  pods: number;
  vms: number;
  concurrency: number;
  progress: (line: string) => void;
}

export interface OperatorScale {
  pods: number;
  /** SpiderEndpoints and pool records present when the operator was restarted. */
  endpoints: number;
  fill: { wallS: number; failed: number; concurrency: number };
  /** From the restart to /readyz 200 (every watch listed). */
  syncS: number;
  /** MiB: the high-water mark at ready (the initial sync's peak), resident 30 s and 60 s later. */
  memory: { syncPeakMiB: number; at30sMiB: number; at60sMiB: number; peakAfterVmsMiB: number };
  release: ReleaseTimes;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureOperatorAtScale(o: OperatorScaleOptions): Promise<OperatorScale> {
  const stage = Stage.create();
  try {
    await stage.start({ say: (line) => o.progress(`  ${line}`), agent: { clusterNetwork: vmNetwork } });
    const admin = stage.admin;
    const core = admin.makeApiClient(CoreV1Api);
    for (const name of nodeNames) await core.createNode({ body: { metadata: { name } } });
    await grantClusterRules(admin, 'cni', cniPolicyRules());
    const api = new SpiderpoolApi(new RestClient(admin));
    await api.createPool({ metadata: { name: 'scale' }, spec: poolSpec(o.pods) });
    const binary = pluginBinary();
    const configs = nodeNames.map((name) =>
      JSON.stringify(
        netConf(
          testNode(stage.dir, name, { ippoolMaxAllocatedIPs: o.pods }),
          stage.controlPlane.kubeconfigPath('cni'),
          { name: 'scale', ipam: { log_level: 'info', default_ipv4_ippool: ['scale'] } },
        ),
      ),
    );
    const netns = stage.lab.netnsPath(await stage.lab.netns());

    o.progress(`  ${o.pods} pods, each an address and a SpiderEndpoint from the compiled plugin`);
    const pods = await createPods(admin, o.pods, 'scale');
    const fill = await phase(
      `ADD c${o.concurrency}`,
      pods,
      { stallMs: Number.POSITIVE_INFINITY, progress: o.progress },
      o.concurrency,
      async (pod) => {
        const env = { PATH: process.env.PATH, ...cniEnv('ADD', pod, { netns }) };
        const out = await runProcess(binary, [], env, configs[pod.node], 120_000);
        return resultAddress(out) ? true : out.stdout.trim().slice(0, 300) || `exit ${out.code}`;
      },
    );
    const endpoints = (await api.listEndpoints({ namespace: pods[0]?.namespace })).items.length;
    o.progress(
      `  filled in ${(fill.wallMs / 1000).toFixed(1)} s, ${fill.failed} failed${fill.firstFailure ? ` (first: ${fill.firstFailure})` : ''}; ${endpoints} SpiderEndpoints`,
    );

    o.progress('  restarting the operator: the initial sync lists all of it');
    const restarted = performance.now();
    const operator = await stage.restartOperator();
    const syncS = (performance.now() - restarted) / 1000;
    const syncPeakMiB = operator.memory().peakMiB;
    await sleep(30_000);
    const at30sMiB = operator.memory().rssMiB;
    await sleep(30_000);
    const at60sMiB = operator.memory().rssMiB;
    o.progress(
      `  ready after ${syncS.toFixed(1)} s; peak ${syncPeakMiB.toFixed(0)} MiB, ${at30sMiB.toFixed(0)} MiB at 30 s, ${at60sMiB.toFixed(0)} MiB at 60 s`,
    );

    o.progress(`  ${o.vms} VMs started, then deleted one by one`);
    const fleet = await VmFleet.prepare(stage, {
      name: 'scale-vms',
      subnet: '198.19.170.0/24',
      range: '198.19.170.10-198.19.170.250',
    });
    const names = Array.from({ length: o.vms }, (_, i) => `scale-vm-${i}`);
    await fleet.start(names);
    const release = await fleet.timeDeletions(names);
    return {
      pods: o.pods,
      endpoints,
      fill: { wallS: fill.wallMs / 1000, failed: fill.failed, concurrency: o.concurrency },
      syncS,
      memory: { syncPeakMiB, at30sMiB, at60sMiB, peakAfterVmsMiB: operator.memory().peakMiB },
      release,
    };
  } finally {
    await stage.close();
  }
}
