// A KubeVirt VM whose template names a SpiderSubnet (conf.yml enableSpiderSubnet and
// enableAutoPoolForApplication on, for the operator and the plugin's node configuration): the operator
// carves the VM's auto-pool from the subnet, the launcher pod (made by virt-controller, bound by the
// scheduler, set up by the node agent through Multus delegation and Debian's macvlan) takes its address
// from it, a new launcher pod gets the same address (the VM identity, as with a named pool), and the
// pool goes with the VM.
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { group, kinds, labels, type SpiderIPPool, type SpiderSubnet, version } from '../../../api/index.js';
import { decodeControlled } from '../../../ipam/autopool/carve.js';
import { controlPlane } from '../../harness/clients.js';
import { RunningOperator } from '../../harness/operator-executable.js';
import { eventually } from '../../harness/wait.js';
import { create, deleteVm, KubeVirtWorld, vmManifest } from './fixtures.js';
import { ipsOf, runningInNewPod } from './running.js';

let world: KubeVirtWorld | undefined;
let op: RunningOperator | undefined;
let subnetName: string;
const w = () => world as KubeVirtWorld;
const switches = { enableSpiderSubnet: true, enableAutoPoolForApplication: true };

beforeAll(async () => {
  world = await KubeVirtWorld.start(
    'kv-auto',
    { subnet: '198.18.96.0/24', ips: ['198.18.96.10-198.18.96.19'] },
    { nodeSettings: switches },
  );
  subnetName = await w().fixtures.subnet({
    ipVersion: 4,
    subnet: '198.18.97.0/24',
    ips: ['198.18.97.10-198.18.97.29'],
    gateway: '198.18.97.1',
  });
  op = await RunningOperator.start({
    cp: controlPlane(),
    dir: w().testbed.dir,
    identity: 'kv-auto-op',
    conf: { ...switches, gc: { intervalSeconds: 3600 } },
  });
}, 300_000);

afterAll(async () => {
  await op?.stop();
  await world?.close();
}, 120_000);

async function vmPool(name: string): Promise<SpiderIPPool | undefined> {
  const list = await w().fixtures.spiderpool.listPools(
    `${labels.ownerApplicationKind}=VirtualMachine,${labels.ownerApplicationNamespace}=${w().namespace},${labels.ownerApplicationName}=${name}`,
  );
  return list.items[0];
}

async function booked(): Promise<Record<string, { ips: string[] }>> {
  const subnet = (await w().fixtures.admin.makeApiClient(CustomObjectsApi).getClusterCustomObject({
    group,
    version,
    plural: kinds.subnet.plural,
    name: subnetName,
  })) as SpiderSubnet;
  return decodeControlled(subnetName, subnet.status?.controlledIPPools);
}

test('a VM annotated with a SpiderSubnet gets its address from its auto-pool and keeps it across launcher pods; the pool goes with the VM', async () => {
  const ns = w().namespace;
  await create(
    w().fixtures.admin,
    vmManifest(ns, 'vm-auto', {
      defaultNetwork: w().nad,
      annotations: {
        'ipam.spidernet.io/subnet': JSON.stringify({ ipv4: [subnetName] }),
        'ipam.spidernet.io/ippool-ip-number': '1',
      },
    }),
  );
  const first = await runningInNewPod(w().fixtures, ns, 'vm-auto');
  const ips = ipsOf(first.pod);
  const pool = await eventually('the VM auto-pool', () => vmPool('vm-auto'));
  expect(pool.metadata.name).toMatch(/^auto4-vm-auto-eth0-[0-9a-f]{5}$/);
  expect(pool.spec.ips).toEqual(['198.18.97.10']);
  expect(ips).toEqual(['198.18.97.10']);
  expect((await w().fixtures.poolState(pool.metadata.name ?? '')).records.map((r) => [r.ip, r.pod])).toEqual([
    ['198.18.97.10', `${ns}/vm-auto`],
  ]);
  expect((await booked())[pool.metadata.name ?? '']?.ips).toEqual(['198.18.97.10']);

  await w().fixtures.core.deleteNamespacedPod({ namespace: ns, name: first.pod.metadata?.name ?? '' });
  const next = await runningInNewPod(w().fixtures, ns, 'vm-auto', [first.pod as V1Pod]);
  expect(ipsOf(next.pod)).toEqual(ips);

  await deleteVm(w().fixtures, ns, 'vm-auto');
  await eventually(
    'the auto-pool gone and out of the subnet books',
    async () => !(await vmPool('vm-auto')) && !Object.keys(await booked()).includes(pool.metadata.name ?? ''),
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}, 300_000);
