// The time from `kubectl delete vm` to the VM's addresses being free (its records gone from the pool
// and its SpiderEndpoint deleted), over 20 running VMs deleted one after another, on the demo's stage:
// KubeVirt's virt-controller, the node agent (kubelet, Multus, virt-handler) running the compiled
// plugin, and the compiled operator. Prints p50, p99 and max. Needs root (network namespaces).
//   npm run bench:vm-release [-- --vms 20]
import { CustomObjectsApi, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { kubevirtGroup, kubevirtKinds, kubevirtVersion } from '../api/index.js';
import { Stage } from '../demo/stage.js';
import { poolFamily } from '../ipam/pool/space.js';
import { decodeRecords } from '../ipam/records/codec.js';
import { isNotFound } from '../kube/errors.js';
import { RestClient } from '../kube/rest.js';
import { SpiderpoolApi } from '../kube/spiderpool.js';
import { macvlanNad } from '../test/e2e/kubevirt/fixtures.js';
import { eventually } from '../test/harness/wait.js';

if (typeof process.getuid === 'function' && process.getuid() !== 0) {
  console.error('bench:vm-release needs root: it creates network namespaces and veth links');
  process.exit(1);
}

const flag = process.argv.indexOf('--vms');
const count = flag >= 0 ? Number(process.argv[flag + 1]) : 20;
if (!Number.isInteger(count) || count < 1) {
  console.error(`--vms: expected a positive whole number, got '${process.argv[flag + 1]}'`);
  process.exit(2);
}
const ns = 'default';
const stage = Stage.create();
const say = (line: string) => console.log(line);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => void stage.close().then(() => process.exit(130)));

const kv = (kind: keyof typeof kubevirtKinds) => ({
  group: kubevirtGroup,
  version: kubevirtVersion,
  plural: kubevirtKinds[kind].plural,
  namespace: ns,
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function main(): Promise<void> {
  await stage.start({ say, agent: { clusterNetwork: 'kube-system/bench-macvlan' } });
  const admin = stage.admin;
  const objects = admin.makeApiClient(CustomObjectsApi);
  const api = KubernetesObjectApi.makeApiClient(admin);
  const pools = new SpiderpoolApi(new RestClient(admin));
  const master = (await stage.lab.vethPair({ bNetns: await stage.lab.netns() })).a;
  await pools.createPool({
    metadata: { name: 'bench' },
    spec: { subnet: '198.18.170.0/24', ips: ['198.18.170.10-198.18.170.200'] },
  });
  await macvlanNad(admin, 'kube-system', 'bench-macvlan', master, 'bench');
  const names = Array.from({ length: count }, (_, i) => `bench-vm-${i}`);
  say(`starting ${count} VMs`);
  for (const name of names)
    await api.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name, namespace: ns },
      spec: {
        runStrategy: 'Always',
        template: {
          spec: {
            domain: {
              devices: { interfaces: [{ name: 'default', masquerade: {} }] },
              resources: { requests: { memory: '64M' } },
            },
            networks: [{ name: 'default', pod: {} }],
          },
        },
      },
    } as KubernetesObject);
  const held = async () => {
    const pool = await pools.getPool('bench');
    return decodeRecords('bench', pool.status?.allocatedIPs, poolFamily(pool));
  };
  await eventually(
    `${count} VMs holding addresses`,
    async () => new Set((await held()).map((r) => r.pod)).size === count,
    { timeoutMs: 600_000, intervalMs: 500 },
  );
  say(`${count} VMs hold addresses; deleting them one by one`);
  const times: number[] = [];
  for (const name of names) {
    const t0 = performance.now();
    await objects.deleteNamespacedCustomObject({ ...kv('vm'), name });
    await eventually(
      `${name} freed`,
      async () => {
        if ((await held()).some((r) => r.pod === `${ns}/${name}`)) return false;
        return pools.getEndpoint(ns, name).then(
          () => false,
          (e: unknown) => isNotFound(e),
        );
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const ms = (v: number) => `${Math.round(v)} ms`;
  say(
    `VM delete → addresses and SpiderEndpoint free, ${count} VMs: p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}, max ${ms(sorted[sorted.length - 1] as number)}`,
  );
}

main()
  .then(
    () => 0,
    (err: unknown) => {
      console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    },
  )
  .then(async (code) => {
    await stage.close();
    process.exit(code);
  });
