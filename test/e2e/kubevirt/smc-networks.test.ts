// KubeVirt VMs whose networks are SpiderMultusConfig objects, as Spiderpool users write them: the
// compiled operator renders each one's NetworkAttachmentDefinition (the coordinator chained after
// the main plugin), and the node agent's Multus delegation runs that conflist (Debian's macvlan or
// bridge, the compiled spiderpool IPAM, then the compiled coordinator) in the launcher pod's
// namespace. The seed's two-NIC VM uses OVS networks; this kernel has no Open vSwitch, so they are
// `cniType: custom` SpiderMultusConfigs whose customCNI is the bridge plugin with the coordinator.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { apiVersion, group, kinds, type MultusConfigSpec, version } from '../../../api/index.js';
import { isNotFound } from '../../../kube/errors.js';
import { nadGroup, nadPlural, nadVersion } from '../../../multus/ownership.js';
import { eventually } from '../../harness/wait.js';
import { create, deleteVm, launcherPods, useKubeVirtWorld, vmManifest, waitVmi } from './fixtures.js';

const exec = promisify(execFile);
const ip = async (netns: string, ...args: string[]) => (await exec('ip', ['-n', netns, ...args])).stdout;

const w = () => bed.world;

const podIface = (network: string) => `pod${createHash('sha256').update(network).digest('hex').slice(0, 11)}`;

/** Creates a SpiderMultusConfig and waits for the operator's NAD; the NAD's parsed config. */
async function multusConfig(
  admin: KubeConfig,
  namespace: string,
  name: string,
  spec: MultusConfigSpec,
): Promise<{ plugins?: Array<Record<string, unknown>> }> {
  const objects = admin.makeApiClient(CustomObjectsApi);
  await objects.createNamespacedCustomObject({
    group,
    version,
    plural: kinds.multusConfig.plural,
    namespace,
    body: { apiVersion, kind: kinds.multusConfig.kind, metadata: { name, namespace }, spec },
  });
  const nad = (await eventually(
    `the operator to render NetworkAttachmentDefinition ${namespace}/${name}`,
    () =>
      objects
        .getNamespacedCustomObject({
          group: nadGroup,
          version: nadVersion,
          plural: nadPlural,
          namespace,
          name,
        })
        .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err))),
    { timeoutMs: 60_000, intervalMs: 250 },
  )) as { spec?: { config?: string } };
  return JSON.parse(nad.spec?.config ?? '{}');
}

/** Waits for VM `name` to run; its launcher pod and the pod's Multus network-status. */
async function runningLauncher(name: string) {
  const { fixtures, namespace } = w();
  const vmi = await waitVmi(fixtures.admin, namespace, name, 'to run', (v) => v.status?.phase === 'Running');
  const [launcher] = await launcherPods(fixtures, namespace, vmi);
  const status = JSON.parse(
    launcher?.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
  ) as Array<{ name: string; interface: string; ips: string[] }>;
  return { launcher, status };
}

const bed = useKubeVirtWorld(
  'kv-smc',
  {
    subnet: '198.18.86.0/24',
    ips: ['198.18.86.10-198.18.86.19'],
    gateway: '198.18.86.1',
  },
  {},
  {
    identity: 'kv-smc-op',
    conf: { gc: { intervalSeconds: 3600 } },
  },
);

test('a VM on a macvlan SpiderMultusConfig (the macvlan-ens192 shape) gets its address from the SMC’s pool', async () => {
  const { agent, fixtures, namespace, pool } = w();
  const master = await agent.uplink();
  const config = await multusConfig(fixtures.admin, namespace, 'macvlan-ens192', {
    cniType: 'macvlan',
    macvlan: { master: [master], ippools: { ipv4: [pool] } },
    coordinator: { mode: 'underlay' },
  });
  expect(config.plugins?.map((p) => p.type)).toEqual(['macvlan', 'coordinator']);
  await create(
    fixtures.admin,
    vmManifest(namespace, 'vm-macvlan', { defaultNetwork: `${namespace}/macvlan-ens192` }),
  );
  const { status } = await runningLauncher('vm-macvlan');
  expect(status.map((s) => [s.name, s.interface])).toEqual([[`${namespace}/macvlan-ens192`, 'eth0']]);
  expect(status[0]?.ips[0]).toMatch(/^198\.18\.86\.1\d$/);
  await deleteVm(fixtures, namespace, 'vm-macvlan');
}, 240_000);

test('a two-NIC VM on two bridge SpiderMultusConfigs: one default route, the second NIC’s replies leave by it', async () => {
  const { fixtures, lab, namespace } = w();
  const pools: Record<string, string> = {};
  for (const [network, subnet] of [
    ['vlan100', '198.18.87'],
    ['vlan200', '198.18.88'],
  ] as const) {
    pools[network] = await fixtures.pool({
      subnet: `${subnet}.0/24`,
      ips: [`${subnet}.10-${subnet}.19`],
      gateway: `${subnet}.1`,
    });
    // Made by the bridge plugin in the node's namespace.
    const bridge = lab.linkName('spbr');
    const config = await multusConfig(fixtures.admin, namespace, `ovs-${network}`, {
      cniType: 'custom',
      customCNI: JSON.stringify({
        cniVersion: '1.0.0',
        name: `ovs-${network}`,
        plugins: [
          { type: 'bridge', bridge, ipam: { type: 'spiderpool' } },
          { type: 'coordinator', mode: 'underlay' },
        ],
      }),
    });
    expect(config.plugins?.map((p) => p.type)).toEqual(['bridge', 'coordinator']);
  }
  // The seed's vm-centos shape: bridge binding, the first network Multus's default; unnamed
  // ippools items go to the NICs by position. The second NIC's IPAM leaves out its default route
  // (main has one already); the coordinator puts one in that NIC's own table.
  await create(
    fixtures.admin,
    vmManifest(namespace, 'vm-two-nics', {
      annotations: {
        'ipam.spidernet.io/ippools': JSON.stringify([
          { ipv4: [pools.vlan100] },
          { ipv4: [pools.vlan200], cleangateway: true },
        ]),
      },
      noPodNetwork: true,
      multus: [
        { name: 'ovs-bridge1', networkName: `${namespace}/ovs-vlan100` },
        { name: 'ovs-bridge2', networkName: `${namespace}/ovs-vlan200` },
      ],
    }),
  );
  const { launcher, status } = await runningLauncher('vm-two-nics');
  const second = podIface('ovs-bridge2');
  expect(status.map((s) => [s.name, s.interface, s.ips])).toEqual([
    [`${namespace}/ovs-vlan100`, 'eth0', ['198.18.87.10']],
    [`${namespace}/ovs-vlan200`, second, ['198.18.88.10']],
  ]);

  const netns = w().agent.netnsOf(namespace, launcher?.metadata?.name ?? '');
  if (!netns) throw new Error(`the node agent runs no sandbox for ${launcher?.metadata?.name}`);
  const defaults = JSON.parse(await ip(netns, '-4', '-j', 'route', 'show', 'default')) as Array<{
    gateway: string;
    dev: string;
  }>;
  expect(defaults.map((r) => `${r.gateway} dev ${r.dev}`)).toEqual(['198.18.87.1 dev eth0']);
  const rules = JSON.parse(await ip(netns, '-4', '-j', 'rule', 'show')) as Array<{
    src?: string;
    table?: string;
  }>;
  expect(rules.filter((r) => r.src && r.src !== 'all').map((r) => `from ${r.src} lookup ${r.table}`)).toEqual(
    ['from 198.18.88.10 lookup 101'],
  );
  const routeGet = async (...args: string[]) =>
    (JSON.parse(await ip(netns, '-j', 'route', 'get', ...args)) as Array<{ dev: string }>)[0]?.dev;
  expect((await ip(netns, '-4', 'route', 'show', 'table', '101', 'default')).trim()).toBe(
    `default via 198.18.88.1 dev ${second}`,
  );
  expect(await routeGet('198.19.60.5')).toBe('eth0');
  expect(await routeGet('198.19.60.5', 'from', '198.18.88.10')).toBe(second);
  expect(await routeGet('198.18.88.1')).toBe(second);
  expect(await routeGet('198.18.87.1')).toBe('eth0');
  // The coordinator ran in the node's namespace: the node's rules to the pod's addresses are there,
  // and none in this machine's.
  const toRules = (out: string) =>
    (JSON.parse(out) as Array<{ dst?: string; table?: string }>)
      .filter((r) => r.dst?.startsWith('198.18.8'))
      .map((r) => `to ${r.dst} lookup ${r.table}`)
      .sort();
  const nodeNs = w().agent.nodeNetns(launcher?.spec?.nodeName ?? '');
  expect(toRules(await ip(nodeNs, '-4', '-j', 'rule', 'show'))).toEqual([
    'to 198.18.87.10 lookup 500',
    'to 198.18.88.10 lookup 500',
  ]);
  expect(toRules((await exec('ip', ['-4', '-j', 'rule', 'show'])).stdout)).toEqual([]);
  await deleteVm(fixtures, namespace, 'vm-two-nics');
}, 240_000);
