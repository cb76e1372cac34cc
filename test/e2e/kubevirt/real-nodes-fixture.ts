// What the e2e tests of KubeVirt on the test bed's real nodes share (needs root): per test file one
// two-node test bed with KubeVirt (the user's installation: the image of `npm run image` imported,
// the synthesized manifests applied unchanged with kubectl), the node agent as virt-handler only
// (kubelet and the Multus stand-in are real), and one VM with two NICs whose addresses come from
// fixed-IP pools, with the reads the tests make of it.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Installation } from '../../harness/installation.js';
import { NodeAgent } from '../../harness/node-agent/index.js';
import { eventually } from '../../harness/wait.js';
import { nadManifest, vmManifest } from './fixtures.js';

export const namespace = 'vms';
export const vm = 'vm1';
export const pool = 'vm-pool';
export const bluePool = 'vm-blue-pool';
/** KubeVirt names a secondary interface `pod` + the first 11 hex digits of SHA-256 of its network's name. */
export const blueNic = `pod${createHash('sha256').update('blue').digest('hex').slice(0, 11)}`;
export const inRange = /^198\.18\.78\.(1\d|20)$/;
export const inBlue = /^198\.18\.79\.(1\d|20)$/;

export interface Pod {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    containerStatuses?: Array<{ name: string; state?: { terminated?: { exitCode: number } } }>;
  };
}
export interface Vmi {
  metadata: { uid: string };
  status?: {
    phase?: string;
    nodeName?: string;
    migrationState?: {
      completed?: boolean;
      failed?: boolean;
      abortStatus?: string;
      targetPod?: string;
      sourcePod?: string;
    };
  };
}
export interface Endpoint {
  status: {
    ownerControllerType?: string;
    ownerControllerName?: string;
    current: { uid: string; node: string; ips: Array<{ ipv4?: string; ipv4Pool?: string }> };
  };
}

/** The VM's fixed-IP annotation: a pool per NIC. */
const poolsAnnotation = {
  'ipam.spidernet.io/ippools': JSON.stringify([
    { interface: 'eth0', ipv4: [pool] },
    { interface: blueNic, ipv4: [bluePool] },
  ]),
};

/** A VM on the bridge network (eth0, masquerade) and a second bridge network (`blue`, bridge binding). */
function vmWithTwoNics() {
  const manifest = vmManifest(namespace, vm, {
    defaultNetwork: `${namespace}/vm-bridge`,
    annotations: poolsAnnotation,
  }) as { spec: { template: { spec: Record<string, { interfaces?: unknown[] } | unknown[]> } } };
  const spec = manifest.spec.template.spec as {
    domain: { devices: { interfaces: unknown[] } };
    networks: unknown[];
  };
  spec.domain.devices.interfaces.push({ name: 'blue', bridge: {} });
  spec.networks.push({ name: 'blue', multus: { networkName: `${namespace}/vm-blue` } });
  return manifest;
}

/** A bridge NetworkAttachmentDefinition whose IPAM is the plugin; its bridge is made in the node. */
const bridgeNad = (name: string, bridge: string) =>
  nadManifest(namespace, name, {
    cniVersion: '1.0.0',
    name,
    plugins: [{ type: 'bridge', bridge, ipam: { type: 'spiderpool' } }],
  });

/** The secondary NIC's address, from the network-status the Multus stand-in wrote on the pod. */
export function blueAddress(pod: Pod): string | undefined {
  const status = JSON.parse(
    pod.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
  ) as Array<{
    interface: string;
    ips: string[];
  }>;
  return status.find((s) => s.interface === blueNic)?.ips[0];
}

export class RealNodesVm {
  private constructor(
    readonly inst: Installation,
    /** virt-handler's part; a migration is held until the test completes or fails it. */
    readonly agent: NodeAgent,
  ) {}

  /** The test bed, KubeVirt and the agent (the installation is not applied yet: `install()`). */
  static async start(tag: string): Promise<RealNodesVm> {
    const inst = await Installation.start(tag, { nodes: 2, kubevirt: true });
    console.log(`two-node test bed with KubeVirt up in ${inst.startSeconds.toFixed(1)} s`);
    try {
      const agent = await NodeAgent.start({
        controlPlane: inst.cp,
        kubelet: false,
        dir: join(inst.work, 'agent'),
        migrations: () => 'hold',
      });
      return new RealNodesVm(inst, agent);
    } catch (err) {
      await inst.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.agent.stop();
    await this.inst.stop();
  }

  k = (...args: string[]) => this.inst.k(...args);

  /** The two pools (admitted once the operator's webhook answers), the namespace, its NADs and the VM. */
  async createVm(): Promise<void> {
    for (const [name, net] of [
      [pool, '198.18.78'],
      [bluePool, '198.18.79'],
    ] as const) {
      await eventually(
        `pool ${name} to be admitted`,
        async () => {
          await this.inst.applyObject({
            apiVersion: 'spiderpool.spidernet.io/v2beta1',
            kind: 'SpiderIPPool',
            metadata: { name },
            spec: { subnet: `${net}.0/24`, ips: [`${net}.10-${net}.20`], gateway: `${net}.1` },
          });
          return true;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
    }
    await this.k('create', 'namespace', namespace);
    await this.inst.applyObject(bridgeNad('vm-bridge', 'br-vm'));
    await this.inst.applyObject(bridgeNad('vm-blue', 'br-blue'));
    await this.inst.applyObject(vmWithTwoNics());
  }

  vmi = () => this.inst.getJson<Vmi>('vmi', '-n', namespace, vm);
  endpoint = () => this.inst.getJson<Endpoint>('spiderendpoint', '-n', namespace, vm);

  /** A pool's allocated address count. */
  async allocated(name: string): Promise<number> {
    const p = await this.inst.getJson<{ status: { allocatedIPCount?: number } }>('spiderippool', name);
    return p.status.allocatedIPCount ?? 0;
  }

  /** The launcher pods of the namespace (the test's one VM). */
  async launchers(): Promise<Pod[]> {
    const list = await this.inst.getJson<{ items: Pod[] }>(
      'pods',
      '-n',
      namespace,
      '-l',
      'kubevirt.io=virt-launcher',
    );
    return list.items;
  }

  /** The VMI Running with one launcher pod that kubelet runs with an address (not the pod of uid `not`). */
  runningLauncher(what: string, not?: string): Promise<Pod> {
    return eventually(
      what,
      async () => {
        const v = await this.vmi().catch(() => undefined);
        if (v?.status?.phase !== 'Running') return undefined;
        const running = (await this.launchers()).filter(
          (p) => p.status.phase === 'Running' && p.status.podIP && !p.metadata.deletionTimestamp,
        );
        return running.length === 1 && running[0]?.metadata.uid !== not ? running[0] : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
  }

  /** A migration `name` of the VM, and its target launcher running on the other node (held by the agent). */
  async migrateToRunningTarget(name: string, source: Pod): Promise<Pod> {
    await this.inst.applyObject({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstanceMigration',
      metadata: { name, namespace },
      spec: { vmiName: vm },
    });
    return eventually(
      'the target launcher running on the other node',
      async () =>
        (await this.launchers()).find(
          (p) =>
            p.metadata.uid !== source.metadata.uid &&
            p.status.phase === 'Running' &&
            p.status.podIP &&
            p.spec.nodeName !== source.spec.nodeName,
        ),
      { timeoutMs: 240_000, intervalMs: 500 },
    );
  }

  /** The IPv4 address on the launcher's eth0, as `ip` inside its compute container shows it. */
  eth0Inside = (pod: string) => this.inst.eth0Address(namespace, pod, 'compute');
}

/**
 * One test bed for the calling test file: started before its tests, stopped after them. Returns
 * the running set-up (for use inside tests).
 */
export function useRealNodesVm(tag: string): () => RealNodesVm {
  let rn: RealNodesVm | undefined;
  beforeAll(async () => {
    rn = await RealNodesVm.start(tag);
  }, 600_000);
  afterAll(async () => {
    await rn?.stop();
  }, 120_000);
  return () => {
    if (!rn) throw new Error('the real-nodes test bed did not start');
    return rn;
  };
}
