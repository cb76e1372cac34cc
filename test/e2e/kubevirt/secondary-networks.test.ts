// A VM with two Multus secondary networks next to its default network: virt-controller writes the
// launcher pod's `k8s.v1.cni.cncf.io/networks` with KubeVirt's hashed pod interface names
// (`pod` + 11 hex of sha256(network name)); the node agent's Multus delegation attaches each as that
// interface (Debian's bridge plugin, which calls the compiled plugin the same way OVS would), writes
// network-status, from which virt-controller reports the VMI's interfaces; the SpiderEndpoint records
// every NIC.
import { createHash } from 'node:crypto';
import {
  bridgeNad,
  create,
  deleteVm,
  launcherPods,
  useKubeVirtWorld,
  vmManifest,
  waitVmi,
} from './fixtures.js';

const w = () => bed.world;
const pools: Record<string, string> = {};

const podIface = (network: string) => `pod${createHash('sha256').update(network).digest('hex').slice(0, 11)}`;

const bed = useKubeVirtWorld('kv-nics', {
  subnet: '198.18.82.0/24',
  ips: ['198.18.82.10-198.18.82.19'],
});

beforeAll(async () => {
  const { fixtures, lab, namespace } = w();
  for (const [network, subnet] of [
    ['blue', '198.18.83'],
    ['red', '198.18.84'],
  ] as const) {
    const pool = await fixtures.pool({ subnet: `${subnet}.0/24`, ips: [`${subnet}.10-${subnet}.19`] });
    pools[network] = pool;
    await bridgeNad(fixtures.admin, lab, namespace, `nad-${network}`, pool);
  }
}, 240_000);

test('each secondary network is attached as its hashed pod interface and recorded in network-status and the SpiderEndpoint', async () => {
  const { fixtures, namespace, nad, pool } = w();
  await create(
    fixtures.admin,
    vmManifest(namespace, 'vm-nics', {
      defaultNetwork: nad,
      multus: [
        { name: 'blue', networkName: 'nad-blue' },
        { name: 'red', networkName: `${namespace}/nad-red` },
      ],
    }),
  );

  const vmi = await waitVmi(
    fixtures.admin,
    namespace,
    'vm-nics',
    'to run',
    (v) => v.status?.phase === 'Running',
  );
  const [launcher] = await launcherPods(fixtures, namespace, vmi);
  const requested = JSON.parse(
    launcher?.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks'] ?? '[]',
  ) as Array<Record<string, string>>;
  expect(requested.map((r) => [r.name, r.interface])).toEqual([
    ['nad-blue', podIface('blue')],
    ['nad-red', podIface('red')],
  ]);
  const status = JSON.parse(launcher?.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]');
  expect(
    status.map((s: { name: string; interface: string; ips: string[] }) => [s.name, s.interface, s.ips]),
  ).toEqual([
    [nad, 'eth0', ['198.18.82.10']],
    [`${namespace}/nad-blue`, podIface('blue'), ['198.18.83.10']],
    [`${namespace}/nad-red`, podIface('red'), ['198.18.84.10']],
  ]);

  const endpoint = await fixtures.endpoint(namespace, 'vm-nics');
  expect(endpoint?.status?.current?.ips?.map((ip) => [ip.interface, ip.ipv4, ip.ipv4Pool]).sort()).toEqual(
    [
      ['eth0', '198.18.82.10/24', pool],
      [podIface('blue'), '198.18.83.10/24', pools.blue],
      [podIface('red'), '198.18.84.10/24', pools.red],
    ].sort(),
  );

  // virt-controller reads the network-status back into the VMI's interfaces (their addresses are
  // virt-handler's to report from the guest, which does not run here).
  type Reported = { interfaces?: Array<{ name: string; podInterfaceName?: string }> };
  const reported = await waitVmi(fixtures.admin, namespace, 'vm-nics', 'to report its interfaces', (v) =>
    Boolean((v.status as Reported | undefined)?.interfaces?.length === 3),
  );
  expect((reported.status as Reported).interfaces?.map((i) => [i.name, i.podInterfaceName])).toEqual([
    ['default', 'eth0'],
    ['blue', podIface('blue')],
    ['red', podIface('red')],
  ]);
  await deleteVm(fixtures, namespace, 'vm-nics');
}, 240_000);
