// The coordinator meta plugin with real plugins in network namespaces this test makes: a Pod (an
// object on the test control plane) gets eth0 through macvlan and net1 through bridge, each with
// the spiderpool IPAM and then `coordinator` chained as a runtime runs a conflist (prevResult
// passed on). Two pools, 198.18.50.0/24 behind peer namespace A and 198.18.51.0/24 behind peer
// namespace B (which also holds 198.19.60.5, an address of another subnet). Checked: exactly one
// default route, on the chosen NIC; `ip route get` to each NIC's subnet and from net1's address
// leaves by that NIC; a round trip from 198.19.60.5 to net1's address (a TCP reset, as no ping is
// installed) comes back only once the coordinator's rule sends replies back by net1; CHECK reports
// a missing rule; DEL removes the rules and the table.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { netConf, type ProcessOutcome, pluginBinary, type TestNode } from '../../harness/cni-plugin.js';
import { NetworkLab, runCni } from '../../harness/netns.js';
import { type ClusterFixtures, PluginTestbed } from '../../harness/spiderpool-api.js';

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

beforeAll(async () => {
  testbed = await PluginTestbed.start('coordinator-e2e');
  fixtures = testbed.fixtures;
  node = testbed.node('coordinator-node');
  namespace = await fixtures.namespace('coordinator');
  // Peer A: the other end of macvlan's master, the gateway of pool A.
  const peerA = await lab.netns();
  const a = await lab.vethPair({ bNetns: peerA });
  macvlanMaster = a.a;
  await lab.addAddress(peerA, a.b, '198.18.50.1/24', true);
  // Peer B: on the bridge of net1, the gateway of pool B, and the holder of 198.19.60.5.
  peerB = await lab.netns();
  bridge = await lab.bridge();
  const b = await lab.vethPair({ bNetns: peerB });
  await ip('link', 'set', b.a, 'master', bridge);
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

/** Every coordinator ADD, so afterAll can DEL what it made on this machine (the veth's node end, rules). */
const added: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const undo of added.reverse()) await undo();
  await lab.cleanup();
  await testbed?.close();
});

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
  if (command === 'ADD') added.push(() => coordinator('DEL', p, netns, nic));
  return runCni({
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
  const main = await runCni({
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
  const main = await runCni({
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
  const out = await runCni({
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
