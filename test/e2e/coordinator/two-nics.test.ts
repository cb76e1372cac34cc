// The coordinator meta plugin with real plugins in network namespaces this test makes: a Pod (an
// object on the test control plane) gets eth0 through macvlan and net1 through bridge, each with
// the spiderpool IPAM and then `coordinator` chained as a runtime runs a conflist (prevResult
// passed on). Every plugin runs inside a "node" namespace the test makes, which holds macvlan's
// master and net1's bridge, so the veth pair's node end and the node's rules are made there; the
// API server is reached from it at its usual 127.0.0.1 address through a Unix-socket bridge
// (test/harness/netns-api-bridge.ts). Two pools, 198.18.50.0/24 behind peer namespace A and
// 198.18.51.0/24 behind peer namespace B (which also holds 198.19.60.5, an address of another
// subnet). Checked: exactly one default route, on the chosen NIC; `ip route get` to each NIC's
// subnet and from net1's address leaves by that NIC; a round trip from 198.19.60.5 to net1's address
// (a TCP reset, as no ping is installed) comes back only once the coordinator's rule sends replies
// back by net1; CHECK reports a missing rule; DEL removes the rules and the table; the Service
// CIDRs the operator writes into SpiderCoordinator default's status go through veth0.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { group, kinds, type SpiderCoordinator, version } from '../../../api/index.js';
import { controlPlane } from '../../harness/clients.js';
import { netConf, type ProcessOutcome, pluginBinary, type TestNode } from '../../harness/cni-plugin.js';
import { type CniCall, NetworkLab, runCni } from '../../harness/netns.js';
import { type ApiBridge, bridgeApiServer } from '../../harness/netns-api-bridge.js';
import { RunningOperator } from '../../harness/operator-executable.js';
import { type ClusterFixtures, PluginTestbed } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';

const exec = promisify(execFile);
const ip = async (...args: string[]) => (await exec('ip', args)).stdout;

const lab = new NetworkLab();
let testbed: PluginTestbed;
let fixtures: ClusterFixtures;
let node: TestNode;
let namespace: string;
let macvlanMaster: string;
let bridge: string;
let peerB: string;
let poolA: string;
let poolB: string;
/** The namespace that plays the node: every plugin runs in it. */
let nodeNs: string;
let apiBridge: ApiBridge | undefined;

beforeAll(async () => {
  testbed = await PluginTestbed.start('coordinator-e2e');
  fixtures = testbed.fixtures;
  node = testbed.node('coordinator-node');
  namespace = await fixtures.namespace('coordinator');
  nodeNs = await lab.netns();
  apiBridge = await bridgeApiServer(nodeNs, controlPlane().server);
  // The node's own address, which pods reach through veth0 (and the gateway of the routes there).
  await lab.addAddress(nodeNs, 'lo', '198.18.52.1/32');
  // Peer A: the other end of macvlan's master, the gateway of pool A.
  const peerA = await lab.netns();
  const a = await lab.vethPair({ aNetns: nodeNs, bNetns: peerA });
  macvlanMaster = a.a;
  await lab.addAddress(peerA, a.b, '198.18.50.1/24', true);
  // Peer B: on the bridge of net1 (in the node), the gateway of pool B, and the holder of 198.19.60.5.
  peerB = await lab.netns();
  bridge = lab.linkName('spbr');
  await ip('-n', nodeNs, 'link', 'add', bridge, 'type', 'bridge');
  await ip('-n', nodeNs, 'link', 'set', bridge, 'up');
  const b = await lab.vethPair({ aNetns: nodeNs, bNetns: peerB });
  await ip('-n', nodeNs, 'link', 'set', b.a, 'master', bridge);
  await lab.addAddress(peerB, b.b, '198.18.51.1/24', true);
  await lab.addAddress(peerB, b.b, '198.19.60.5/32', true);
  poolA = await fixtures.pool({
    subnet: '198.18.50.0/24',
    ips: ['198.18.50.10-198.18.50.19'],
    gateway: '198.18.50.1',
  });
  poolB = await fixtures.pool({
    subnet: '198.18.51.0/24',
    ips: ['198.18.51.10-198.18.51.19'],
    gateway: '198.18.51.1',
  });
}, 120_000);

afterAll(async () => {
  // The node namespace goes with everything the coordinator made in it.
  await apiBridge?.close();
  await lab.cleanup();
  await testbed?.close();
});

/** One CNI call with the plugin running in the node namespace. */
const cni = (call: CniCall) => runCni({ ...call, nodeNetns: nodeNs });

let podCount = 0;
async function twoNicPod(extra: Record<string, string> = {}): Promise<V1Pod> {
  return fixtures.pod({
    namespace,
    name: `two-nics-${podCount++}`,
    nodeName: node.name,
    annotations: {
      // net1's IPAM leaves out its default route (two default routes cannot both be in main);
      // the coordinator puts one, via its pool's gateway, in net1's own table.
      'ipam.spidernet.io/ippools': JSON.stringify([
        { interface: 'eth0', ipv4: [poolA] },
        { interface: 'net1', ipv4: [poolB], cleangateway: true },
      ]),
      ...extra,
    },
  });
}

const cniArgsOf = (p: V1Pod) => ({
  K8S_POD_NAMESPACE: p.metadata?.namespace ?? '',
  K8S_POD_NAME: p.metadata?.name ?? '',
  K8S_POD_UID: p.metadata?.uid ?? '',
});

interface Nic {
  ifname: string;
  main: Record<string, unknown>;
  plugin: 'macvlan' | 'bridge';
}
const eth0: Nic = { ifname: 'eth0', plugin: 'macvlan', main: { type: 'macvlan', mode: 'bridge' } };
const net1: Nic = { ifname: 'net1', plugin: 'bridge', main: { type: 'bridge' } };

function mainConfig(nic: Nic) {
  const top = nic.plugin === 'macvlan' ? { ...nic.main, master: macvlanMaster } : { ...nic.main, bridge };
  return netConf(node, testbed.kubeconfig, { name: `net-${nic.ifname}`, cniVersion: '1.0.0', top });
}

function coordinatorConfig(nic: Nic, prevResult?: unknown) {
  return {
    cniVersion: '1.0.0',
    name: `net-${nic.ifname}`,
    type: 'coordinator',
    state_dir: node.stateDir,
    kubernetes: { kubeconfig: testbed.kubeconfig },
    ...(prevResult ? { prevResult } : {}),
  };
}

async function coordinator(
  command: 'ADD' | 'DEL' | 'CHECK',
  p: V1Pod,
  netns: string,
  nic: Nic,
  prev?: unknown,
) {
  return cni({
    plugin: pluginBinary(),
    command,
    netns: lab.netnsPath(netns),
    ifname: nic.ifname,
    containerId: `infra-${p.metadata?.uid}`,
    args: cniArgsOf(p),
    config: coordinatorConfig(nic, prev),
  });
}

/** The main plugin, then the coordinator with its result, as a runtime runs the conflist. */
async function attach(p: V1Pod, netns: string, nic: Nic): Promise<ProcessOutcome> {
  const main = await cni({
    plugin: nic.plugin,
    command: 'ADD',
    netns: lab.netnsPath(netns),
    ifname: nic.ifname,
    containerId: `infra-${p.metadata?.uid}`,
    args: cniArgsOf(p),
    config: mainConfig(nic),
  });
  expect(main.stdout).toMatch(/"ips"/);
  expect(main.code).toBe(0);
  const out = await coordinator('ADD', p, netns, nic, JSON.parse(main.stdout));
  expect(out.stdout).not.toMatch(/"code"/);
  expect(out.code).toBe(0);
  return out;
}

async function defaultRoutes(netns: string): Promise<string[]> {
  const routes = JSON.parse(await ip('-n', netns, '-4', '-j', 'route', 'show', 'default')) as Array<{
    dev: string;
    gateway: string;
  }>;
  return routes.map((r) => `${r.gateway} dev ${r.dev}`);
}

async function routeGet(netns: string, ...args: string[]): Promise<string> {
  const [r] = JSON.parse(await ip('-n', netns, '-j', 'route', 'get', ...args)) as Array<{ dev: string }>;
  return r?.dev ?? '';
}

/**
 * A round trip from 198.19.60.5 (peer B) to `target`, the way ping would check it (this machine has
 * no ping): a TCP connection attempt to a closed port, which the pod's kernel answers with a reset.
 * "refused" means the reply came back by net1; a timeout means it left by another NIC.
 */
async function pingFromOtherSubnet(target: string): Promise<boolean> {
  const script = `
    const s = require('node:net').connect({ host: '${target}', port: 9, localAddress: '198.19.60.5' });
    s.setTimeout(2000, () => { process.stdout.write('timeout'); process.exit(0); });
    s.on('error', (e) => { process.stdout.write(e.code); process.exit(0); });
    s.on('connect', () => { process.stdout.write('connected'); process.exit(0); });`;
  const { stdout } = await exec('ip', ['netns', 'exec', peerB, process.execPath, '-e', script]);
  if (stdout !== 'ECONNREFUSED' && stdout !== 'timeout') throw new Error(`unexpected outcome ${stdout}`);
  return stdout === 'ECONNREFUSED';
}

async function rules(netns: string): Promise<string[]> {
  const list = JSON.parse(await ip('-n', netns, '-4', '-j', 'rule', 'show')) as Array<{
    src?: string;
    srclen?: number;
    table?: string;
  }>;
  return list
    .filter((r) => r.src && r.src !== 'all')
    .map((r) => `from ${r.src}/${r.srclen ?? 32} lookup ${r.table}`);
}

test('two NICs: one default route on eth0; net1’s subnet and replies from its address leave by net1; CHECK and DEL', async () => {
  const p = await twoNicPod();
  const netns = await lab.netns();
  await attach(p, netns, eth0);
  // Before net1's coordinator runs, a reply to another subnet would leave by eth0's default route.
  const main = await cni({
    plugin: 'bridge',
    command: 'ADD',
    netns: lab.netnsPath(netns),
    ifname: 'net1',
    containerId: `infra-${p.metadata?.uid}`,
    args: cniArgsOf(p),
    config: mainConfig(net1),
  });
  expect(main.code).toBe(0);
  expect(await routeGet(netns, '198.19.60.5', 'from', '198.18.51.10')).toBe('eth0');
  expect(await pingFromOtherSubnet('198.18.51.10')).toBe(false);

  const added = await coordinator('ADD', p, netns, net1, JSON.parse(main.stdout));
  expect(added.stdout).not.toMatch(/"code"/);
  expect(added.code).toBe(0);
  // prevResult passes through unchanged.
  expect(JSON.parse(added.stdout).ips).toEqual(JSON.parse(main.stdout).ips);

  expect(await defaultRoutes(netns)).toEqual(['198.18.50.1 dev eth0']);
  expect(await rules(netns)).toEqual(['from 198.18.51.10/32 lookup 101']);
  // eth0's coordinator made the pair's node end in the node namespace, not this machine's.
  const hostVeth = `veth${`infra-${p.metadata?.uid}`.slice(0, 11)}`;
  expect(await lab.linkExists(hostVeth, nodeNs)).toBe(true);
  expect(await lab.linkExists(hostVeth)).toBe(false);
  expect(await routeGet(netns, '198.18.50.1')).toBe('eth0');
  expect(await routeGet(netns, '198.18.51.1')).toBe('net1');
  expect(await routeGet(netns, '198.19.60.5')).toBe('eth0');
  expect(await routeGet(netns, '198.19.60.5', 'from', '198.18.51.10')).toBe('net1');
  expect(await pingFromOtherSubnet('198.18.51.10')).toBe(true);

  // CHECK passes, then reports the rule that went missing.
  expect((await coordinator('CHECK', p, netns, net1, JSON.parse(main.stdout))).code).toBe(0);
  await ip('-n', netns, 'rule', 'del', 'from', '198.18.51.10/32', 'lookup', '101');
  const check = await coordinator('CHECK', p, netns, net1, JSON.parse(main.stdout));
  expect(check.code).not.toBe(0);
  expect(JSON.parse(check.stdout)).toMatchObject({
    code: 107,
    msg: expect.stringContaining('"from 198.18.51.10/32 lookup 101"'),
  });

  // DEL removes the rule (put back first) and the table; a second DEL is a no-op.
  await ip('-n', netns, 'rule', 'add', 'from', '198.18.51.10/32', 'lookup', '101');
  expect((await coordinator('DEL', p, netns, net1)).code).toBe(0);
  expect(await rules(netns)).toEqual([]);
  expect((await ip('-n', netns, 'route', 'show', 'table', '101')).trim()).toBe('');
  expect((await coordinator('DEL', p, netns, net1)).code).toBe(0);
}, 60_000);

test('the pod’s default-route-nic annotation puts the default route on net1; eth0’s moves to table 101', async () => {
  const p = await twoNicPod({ 'ipam.spidernet.io/default-route-nic': 'net1' });
  const netns = await lab.netns();
  await attach(p, netns, eth0);
  await attach(p, netns, net1);
  expect(await defaultRoutes(netns)).toEqual(['198.18.51.1 dev net1']);
  const eth0Address = (await lab.addresses(netns, 'eth0')).find((a) => a.family === 'inet')?.local;
  expect(await rules(netns)).toEqual([`from ${eth0Address}/32 lookup 101`]);
  expect(await routeGet(netns, '198.19.60.5')).toBe('net1');
  expect(await routeGet(netns, '198.19.60.5', 'from', eth0Address ?? '')).toBe('eth0');
  expect(await routeGet(netns, '198.18.50.1')).toBe('eth0');
}, 60_000);

test('overlay mode is refused with a CNI error naming the setting', async () => {
  const p = await twoNicPod();
  const netns = await lab.netns();
  const out = await cni({
    plugin: pluginBinary(),
    command: 'ADD',
    netns: lab.netnsPath(netns),
    ifname: 'eth0',
    containerId: `infra-${p.metadata?.uid}`,
    args: cniArgsOf(p),
    config: { ...coordinatorConfig(eth0, { cniVersion: '1.0.0', ips: [] }), mode: 'overlay' },
  });
  expect(out.code).not.toBe(0);
  expect(JSON.parse(out.stdout)).toMatchObject({
    code: 2,
    msg: expect.stringMatching(/^mode: overlay is not supported/),
  });
});

test('the Service CIDRs the operator puts in SpiderCoordinator default’s status go through veth0 via the node', async () => {
  // A ServiceCIDR of the test network: the operator reads every ServiceCIDR into the status (any
  // operator of this control plane computes the same status, so one running in parallel agrees).
  const serviceCidr = `coordinator-e2e-${process.pid}`;
  const serviceCidrs = { group: 'networking.k8s.io', version: 'v1', plural: 'servicecidrs' };
  await fixtures.objects.createClusterCustomObject({
    ...serviceCidrs,
    body: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'ServiceCIDR',
      metadata: { name: serviceCidr },
      spec: { cidrs: ['198.18.112.0/20'] },
    },
  });
  const op = await RunningOperator.start({
    cp: controlPlane(),
    dir: testbed.dir,
    identity: 'coordinator-e2e-op',
    conf: { gc: { intervalSeconds: 3600 } },
  });
  try {
    const status = await eventually(
      'SpiderCoordinator default’s status with 198.18.112.0/20',
      async () => {
        const scc = (await fixtures.objects
          .getClusterCustomObject({ group, version, plural: kinds.coordinator.plural, name: 'default' })
          .catch(() => undefined)) as SpiderCoordinator | undefined;
        return scc?.status?.serviceCIDR?.includes('198.18.112.0/20') ? scc.status : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const p = await twoNicPod();
    const netns = await lab.netns();
    await attach(p, netns, eth0);
    await attach(p, netns, net1);
    const eth0Address = (await lab.addresses(netns, 'eth0')).find((a) => a.family === 'inet')?.local;
    // Every CIDR of the status, in main through veth0 via the node's address, eth0's as source.
    const main = JSON.parse(await ip('-n', netns, '-4', '-j', 'route', 'show', 'dev', 'veth0')) as Array<{
      dst: string;
      gateway?: string;
      prefsrc?: string;
    }>;
    const viaVeth = main.filter((r) => r.gateway === '198.18.52.1').map((r) => r.dst);
    for (const cidr of [...(status.serviceCIDR ?? []), ...(status.overlayPodCIDR ?? [])].filter((c) =>
      c.includes('.'),
    ))
      expect(viaVeth).toContain(cidr);
    const [route] = JSON.parse(await ip('-n', netns, '-j', 'route', 'get', '198.18.112.5')) as Array<{
      dev: string;
      prefsrc: string;
    }>;
    expect(route).toMatchObject({ dev: 'veth0', prefsrc: eth0Address });
    // From net1's address too (its table has them, as Spiderpool's setupHijackRoutes adds them).
    const net1Address = (await lab.addresses(netns, 'net1')).find((a) => a.family === 'inet')?.local;
    expect(await routeGet(netns, '198.18.112.5', 'from', net1Address ?? '')).toBe('veth0');
  } finally {
    await op.stop();
    await fixtures.objects.deleteClusterCustomObject({ ...serviceCidrs, name: serviceCidr });
  }
}, 120_000);
