// Running VMs on the demo's stage and timing their deletion: a pool and a macvlan network (the node
// agent's cluster network, on the uplink the agent gives every node), N VMs started and waited for
// until each holds an address, then deleted one after another, each timed from `kubectl delete vm` to
// its records gone from the pool and its SpiderEndpoint deleted. Used by bench:vm-release and `npm run bench --
// --operator`.
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { Stage } from '../demo/stage.js';
import { poolFamily } from '../ipam/pool/space.js';
import { decodeRecords } from '../ipam/records/codec.js';
import { isNotFound } from '../kube/errors.js';
import { RestClient } from '../kube/rest.js';
import { SpiderpoolApi } from '../kube/spiderpool.js';
import { create, kv, macvlanNad, vmManifest } from '../test/e2e/kubevirt/fixtures.js';
import { eventually } from '../test/harness/wait.js';
import { percentile } from './harness.js';

/** The network the stage's node agent must be started with (`agent.clusterNetwork`). */
export const vmNetwork = 'kube-system/bench-macvlan';
const namespace = 'default';

export interface VmPool {
  name: string;
  subnet: string;
  /** One range holding at least as many addresses as VMs. */
  range: string;
}

export interface ReleaseTimes {
  vms: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class VmFleet {
  private readonly pools: SpiderpoolApi;

  private constructor(
    private readonly stage: Stage,
    private readonly pool: VmPool,
  ) {
    this.pools = new SpiderpoolApi(new RestClient(stage.admin));
  }

  /** Creates the pool and the macvlan network the VMs' pod network is made on. */
  static async prepare(stage: Stage, pool: VmPool): Promise<VmFleet> {
    const fleet = new VmFleet(stage, pool);
    if (!stage.agent) throw new Error('the stage has no node agent');
    const master = await stage.agent.uplink();
    await fleet.pools.createPool({
      metadata: { name: pool.name },
      spec: { subnet: pool.subnet, ips: [pool.range] },
    });
    const [nadNamespace, nadName] = vmNetwork.split('/') as [string, string];
    await macvlanNad(stage.admin, nadNamespace, nadName, master, pool.name);
    return fleet;
  }

  private async holders(): Promise<Set<string>> {
    const pool = await this.pools.getPool(this.pool.name);
    return new Set(
      decodeRecords(this.pool.name, pool.status?.allocatedIPs, poolFamily(pool)).map((r) => r.pod),
    );
  }

  /** Creates the VMs (runStrategy Always, masquerade on the macvlan network) and waits until each holds an address. */
  async start(names: string[]): Promise<void> {
    for (const name of names)
      await create(this.stage.admin, vmManifest(namespace, name, { defaultNetwork: vmNetwork }));
    await eventually(
      `${names.length} VMs holding addresses`,
      async () => {
        const held = await this.holders();
        return names.every((n) => held.has(`${namespace}/${n}`));
      },
      { timeoutMs: 600_000, intervalMs: 500 },
    );
  }

  /** Deletes the VMs one by one; each is timed until its records and SpiderEndpoint are gone. */
  async timeDeletions(names: string[]): Promise<ReleaseTimes> {
    const objects = this.stage.admin.makeApiClient(CustomObjectsApi);
    const times: number[] = [];
    for (const name of names) {
      const started = performance.now();
      await objects.deleteNamespacedCustomObject({ ...kv('vm', namespace), name });
      await eventually(
        `${name} freed`,
        async () => {
          if ((await this.holders()).has(`${namespace}/${name}`)) return false;
          return this.pools.getEndpoint(namespace, name).then(
            () => false,
            (e: unknown) => isNotFound(e),
          );
        },
        { timeoutMs: 60_000, intervalMs: 20 },
      );
      times.push(performance.now() - started);
    }
    return {
      vms: names.length,
      p50Ms: percentile(times, 50),
      p99Ms: percentile(times, 99),
      maxMs: Math.max(...times),
    };
  }
}
