// The coordinator's host-to-pod reachability in underlay mode (the veth pair), podRPFilter,
// hostRuleTable, vethMTU, vethLinkAddress, the static neighbour entries on both ends, the hijack
// routes and the marks that send replies back through veth0, with real plugins in namespaces this
// test makes. A "node" namespace plays the host: the CNI plugins run inside it (`ip netns exec`), so
// the veth's host end, the node's rules, table and neighbour entries are made there and nowhere else.
// It holds the node address 198.18.53.1, the macvlan master (whose far end, in a peer namespace, is
// 198.18.54.1), the bridge of net1, and 198.18.56.1 towards a "client" namespace (198.18.56.2 and
// 198.18.56.200) that the node forwards for, as it would for a remote host's traffic to the pod.
// The pod's addresses come from Debian's `static` IPAM (the spiderpool IPAM talks to the API server
// at 127.0.0.1, which a fresh namespace cannot reach; two-nics.test.ts covers it).
// Checked: the pair and its MTU, veth0's address, the node's `to <pod address> lookup
// <hostRuleTable>` rules and routes, the neighbour entries, the pod's route to the node through
// veth0, a hijack CIDR through veth0, rp_filter, TCP round trips (refused = the far end answered)
// from the node to each NIC's address, from the pod to the client through the hijack route and
// from the client to the pod (whose reply goes back through veth0 only with the marks), CHECK naming
// a missing node rule, neighbour entry and iptables rule, DEL removing every rule, route, neighbour
// entry, iptables rule and link it made.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { pluginBinary } from '../../harness/cni-plugin.js';
import { NetworkLab, runCni } from '../../harness/netns.js';

const exec = promisify(execFile);
const ip = async (...args: string[]) => (await exec('ip', args)).stdout;

const lab = new NetworkLab();
let node: string;
let master: string;
let bridge: string;
let stateDir: string;
let client: string;

beforeAll(async () => {
  node = await lab.netns();
  await ip('-n', node, 'link', 'set', 'lo', 'up');
  await lab.addAddress(node, 'lo', '198.18.53.1/32');
  // The client, behind the node (which forwards for it, in its own namespace only).
  client = await lab.netns();
  const toClient = await lab.vethPair({ aNetns: node, bNetns: client });
  await lab.addAddress(node, toClient.a, '198.18.56.1/24', true);
  await lab.addAddress(client, toClient.b, '198.18.56.2/24', true);
  await lab.addAddress(client, toClient.b, '198.18.56.200/24', true);
  await ip('-n', client, 'route', 'add', 'default', 'via', '198.18.56.1');
  await exec('ip', ['netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  const peer = await lab.netns();
  const pair = await lab.vethPair({ aNetns: node, bNetns: peer });
  master = pair.a;
  await lab.addAddress(peer, pair.b, '198.18.54.1/24', true);
  bridge = lab.linkName('spbr');
  stateDir = (await exec('mktemp', ['-d'])).stdout.trim();
}, 60_000);

afterAll(async () => {
  await lab.cleanup();
  await exec('rm', ['-rf', stateDir]);
});

interface Call {
  command: 'ADD' | 'DEL' | 'CHECK';
  plugin: string;
  pod: string;
  containerId: string;
  ifname: string;
  config: Record<string, unknown>;
}

/** One CNI call with the plugin running in the node namespace, as a runtime on that node would. */
function cni(call: Call) {
  return runCni({
    plugin: call.plugin,
    command: call.command,
    containerId: call.containerId,
    netns: lab.netnsPath(call.pod),
    ifname: call.ifname,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: call.pod },
    config: call.config,
    nodeNetns: node,
  });
}

/** eth0 through macvlan (the main plugin alone). */
const addEth0 = (pod: string, containerId: string, config: Record<string, unknown>) =>
  cni({ command: 'ADD', plugin: 'macvlan', pod, containerId, ifname: 'eth0', config });

const coordinatorConf = {
  cniVersion: '1.0.0',
  type: 'coordinator',
  mode: 'underlay',
  hostRuleTable: 600,
  vethMTU: 1400,
  podRPFilter: 2,
  // 198.18.56.2 is inside, 198.18.56.200 outside.
  hijackCIDR: ['198.18.56.0/25'],
  vethLinkAddress: '198.18.57.1',
};

const nics = {
  eth0: () => ({
    cniVersion: '1.0.0',
    name: 'macvlan-ens192',
    type: 'macvlan',
    master,
    mode: 'bridge',
    ipam: {
      type: 'static',
      addresses: [{ address: '198.18.54.10/24', gateway: '198.18.54.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
    },
  }),
  net1: () => ({
    cniVersion: '1.0.0',
    name: 'bridge-net1',
    type: 'bridge',
    bridge,
    ipam: { type: 'static', addresses: [{ address: '198.18.55.10/24' }] },
  }),
};

/** The main plugin, then the coordinator with its result; the coordinator's config. */
async function attach(pod: string, containerId: string, ifname: 'eth0' | 'net1') {
  const conf = nics[ifname]();
  const main = await cni({ command: 'ADD', plugin: conf.type, pod, containerId, ifname, config: conf });
  expect(main.stdout).toMatch(/"ips"/);
  const coordinator = { ...coordinatorConf, name: conf.name, state_dir: stateDir, prevResult: main.json };
  const out = await runCoordinator('ADD', pod, containerId, ifname, coordinator);
  expect(out.stdout).not.toMatch(/"code"/);
  expect(out.code).toBe(0);
  return coordinator;
}

function runCoordinator(
  command: Call['command'],
  pod: string,
  containerId: string,
  ifname: string,
  config: Record<string, unknown>,
) {
  return cni({ command, plugin: pluginBinary(), pod, containerId, ifname, config });
}

/**
 * A TCP connection from namespace `from` to `target` (this machine has no ping): "ECONNREFUSED"
 * means the far end's reset came back, "timeout" that it went elsewhere.
 */
async function tcpFrom(from: string, target: string, localAddress?: string): Promise<string> {
  const local = localAddress ? `, localAddress: '${localAddress}'` : '';
  const script = `
    const s = require('node:net').connect({ host: '${target}', port: 9${local} });
    s.setTimeout(2000, () => { process.stdout.write('timeout'); process.exit(0); });
    s.on('error', (e) => { process.stdout.write(e.code); process.exit(0); });
    s.on('connect', () => { process.stdout.write('connected'); process.exit(0); });`;
  return (await exec('ip', ['netns', 'exec', from, process.execPath, '-e', script])).stdout;
}
const fromNode = (target: string) => tcpFrom(node, target);

interface Neighbour {
  dst: string;
  lladdr?: string;
  state?: string[];
}
const neighbours = async (netns: string, dev: string) =>
  (JSON.parse(await ip('-n', netns, '-j', 'neigh', 'show', 'dev', dev)) as Neighbour[])
    .map((n) => `${n.dst} ${n.lladdr} ${n.state?.join(',')}`)
    .sort();
const macOf = async (netns: string, dev: string) =>
  (JSON.parse(await ip('-n', netns, '-j', 'link', 'show', dev)) as Array<{ address: string }>)[0]?.address;
const mangleRules = async (netns: string) =>
  (await exec('ip', ['netns', 'exec', netns, 'iptables', '-w', '-t', 'mangle', '-S'])).stdout
    .split('\n')
    .filter((l) => l.startsWith('-A'));
const markRule = (netns: string) =>
  ip('-n', netns, 'rule', 'show').then((out) => out.split('\n').filter((l) => l.includes('fwmark')));

const nodeRules = async () =>
  (JSON.parse(await ip('-n', node, '-4', '-j', 'rule', 'show')) as Array<{ dst?: string; table?: string }>)
    .filter((r) => r.dst && r.dst !== 'all')
    .map((r) => `to ${r.dst} lookup ${r.table}`)
    .sort();

const routeDev = async (pod: string, ...args: string[]) =>
  (JSON.parse(await ip('-n', pod, '-j', 'route', 'get', ...args)) as Array<{ dev: string }>)[0]?.dev;

test('the node reaches both NICs of an underlay pod through veth0; CHECK and DEL', async () => {
  const pod = await lab.netns();
  const containerId = randomBytes(32).toString('hex');
  const hostVeth = `veth${containerId.slice(0, 11)}`;
  const eth0Conf = nics.eth0();
  const main = await addEth0(pod, containerId, eth0Conf);
  expect(main.code).toBe(0);
  // The node has no route to the pod through the macvlan's parent link.
  expect(await fromNode('198.18.54.10')).not.toBe('ECONNREFUSED');
  const eth0 = { ...coordinatorConf, name: eth0Conf.name, state_dir: stateDir, prevResult: main.json };
  const added = await runCoordinator('ADD', pod, containerId, 'eth0', eth0);
  expect(added.stdout).not.toMatch(/"code"/);
  expect(JSON.parse(added.stdout).ips).toEqual(main.json?.ips);

  // The pair, with vethMTU on both ends.
  const hostEnd = JSON.parse(await ip('-n', node, '-j', 'link', 'show', hostVeth)) as Array<{ mtu: number }>;
  const podEnd = JSON.parse(await ip('-n', pod, '-j', 'link', 'show', 'veth0')) as Array<{ mtu: number }>;
  expect([hostEnd[0]?.mtu, podEnd[0]?.mtu]).toEqual([1400, 1400]);
  // The node: a rule to the pod's address into hostRuleTable, a route there through the pair.
  expect(await nodeRules()).toEqual(['to 198.18.54.10 lookup 600']);
  expect((await ip('-n', node, 'route', 'show', 'table', '600')).trim()).toBe(
    `198.18.54.10 dev ${hostVeth} scope link`,
  );
  // The pod: the node's address through veth0, the default route still on eth0, rp_filter 2.
  expect(await routeDev(pod, '198.18.53.1')).toBe('veth0');
  expect(await routeDev(pod, '198.19.60.5')).toBe('eth0');
  const rpFilter = async (iface: string) =>
    (
      await exec('ip', ['netns', 'exec', pod, 'cat', `/proc/sys/net/ipv4/conf/${iface}/rp_filter`])
    ).stdout.trim();
  expect([await rpFilter('all'), await rpFilter('eth0'), await rpFilter('veth0')]).toEqual(['2', '2', '2']);
  expect(await fromNode('198.18.54.10')).toBe('ECONNREFUSED');

  // vethLinkAddress on veth0.
  expect(await ip('-n', pod, '-4', '-o', 'addr', 'show', 'dev', 'veth0')).toContain('inet 198.18.57.1/32');
  // Static neighbour entries: the pod's address on the node's end, the node's addresses in the pod.
  const podMac = await macOf(pod, 'veth0');
  const nodeMac = await macOf(node, hostVeth);
  expect(await neighbours(node, hostVeth)).toEqual([`198.18.54.10 ${podMac} PERMANENT`]);
  expect(await neighbours(pod, 'veth0')).toEqual([
    `198.18.53.1 ${nodeMac} PERMANENT`,
    `198.18.56.1 ${nodeMac} PERMANENT`,
  ]);
  // The hijack CIDR goes through veth0 via the node, with eth0's address as source; the rest of
  // the client's subnet by eth0's default route.
  const [hijack] = JSON.parse(await ip('-n', pod, '-j', 'route', 'get', '198.18.56.2')) as Array<{
    dev: string;
    gateway: string;
    prefsrc: string;
  }>;
  expect(hijack).toMatchObject({ dev: 'veth0', gateway: '198.18.53.1', prefsrc: '198.18.54.10' });
  expect(await routeDev(pod, '198.18.56.200')).toBe('eth0');
  expect(await tcpFrom(pod, '198.18.56.2')).toBe('ECONNREFUSED');
  // Replies to a connection that came in through veth0 go back through it, though main sends
  // 198.18.56.200 by eth0: the marks, `fwmark 0x1 lookup 100` and table 100's default via the node.
  expect(await mangleRules(pod)).toEqual([
    '-A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff',
    '-A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff',
    '-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff',
  ]);
  expect(await markRule(pod)).toEqual(['1000:\tfrom all fwmark 0x1 lookup 100']);
  expect((await ip('-n', pod, 'route', 'show', 'table', '100')).trim()).toBe(
    'default via 198.18.53.1 dev veth0 src 198.18.54.10',
  );
  expect(await tcpFrom(client, '198.18.54.10', '198.18.56.200')).toBe('ECONNREFUSED');

  // net1: the node reaches its address through the same pair; replies from it take net1's table.
  const net1 = await attach(pod, containerId, 'net1');
  expect(await nodeRules()).toEqual(['to 198.18.54.10 lookup 600', 'to 198.18.55.10 lookup 600']);
  expect(await routeDev(pod, '198.18.53.1', 'from', '198.18.55.10')).toBe('veth0');
  expect((await ip('-n', pod, 'route', 'show', 'table', '101')).trim()).toContain('198.18.53.1 dev veth0');
  // Its own neighbour entry on the node's end; its table has the hijack route too.
  expect(await neighbours(node, hostVeth)).toEqual([
    `198.18.54.10 ${podMac} PERMANENT`,
    `198.18.55.10 ${podMac} PERMANENT`,
  ]);
  expect(await routeDev(pod, '198.18.56.2', 'from', '198.18.55.10')).toBe('veth0');
  expect(await fromNode('198.18.55.10')).toBe('ECONNREFUSED');

  // CHECK passes, then names the node rule that went missing.
  expect((await runCoordinator('CHECK', pod, containerId, 'eth0', eth0)).code).toBe(0);
  await ip('-n', node, 'rule', 'del', 'to', '198.18.54.10/32', 'lookup', '600');
  const check = await runCoordinator('CHECK', pod, containerId, 'eth0', eth0);
  expect(check.code).not.toBe(0);
  expect(check.json).toMatchObject({
    code: 107,
    msg: expect.stringContaining('"to 198.18.54.10/32 lookup 600"'),
  });
  await ip('-n', node, 'rule', 'add', 'to', '198.18.54.10/32', 'lookup', '600');
  // ... the node's neighbour entry ...
  await ip('-n', node, 'neigh', 'del', '198.18.54.10', 'dev', hostVeth);
  expect((await runCoordinator('CHECK', pod, containerId, 'eth0', eth0)).json).toMatchObject({
    code: 107,
    msg: expect.stringContaining(`node neighbour entry "198.18.54.10 dev ${hostVeth}"`),
  });
  await ip(
    '-n',
    node,
    'neigh',
    'add',
    '198.18.54.10',
    'lladdr',
    podMac ?? '',
    'dev',
    hostVeth,
    'nud',
    'permanent',
  );
  // ... and the mark rule, without which the client's connection gets no answer back.
  const [setMark] = (await mangleRules(pod)).map((l) => l.split(' ').slice(1));
  await exec('ip', ['netns', 'exec', pod, 'iptables', '-w', '-t', 'mangle', '-D', ...(setMark ?? [])]);
  expect(await tcpFrom(client, '198.18.54.10', '198.18.56.200')).toBe('timeout');
  expect((await runCoordinator('CHECK', pod, containerId, 'eth0', eth0)).json).toMatchObject({
    code: 107,
    msg: expect.stringContaining('iptables rule "-t mangle -A PREROUTING -i veth0'),
  });
  await exec('ip', ['netns', 'exec', pod, 'iptables', '-w', '-t', 'mangle', '-I', ...(setMark ?? [])]);
  expect((await runCoordinator('CHECK', pod, containerId, 'eth0', eth0)).code).toBe(0);

  // DEL in the runtime's order (net1, then eth0) leaves nothing of the coordinator's on the node.
  for (const [ifname, conf] of [
    ['net1', net1],
    ['eth0', eth0],
  ] as const) {
    const { prevResult: _, ...rest } = conf;
    expect((await runCoordinator('DEL', pod, containerId, ifname, rest)).code).toBe(0);
    // net1's DEL takes its neighbour entry off the node's end of the pair, which eth0's removes.
    if (ifname === 'net1')
      expect(await neighbours(node, hostVeth)).toEqual([`198.18.54.10 ${podMac} PERMANENT`]);
  }
  expect(await nodeRules()).toEqual([]);
  expect((await ip('-n', node, 'neigh', 'show')).trim()).not.toMatch(/198\.18\.5[45]\.10/);
  // The pod keeps its namespace here; nothing of the coordinator's is left in it.
  expect(await mangleRules(pod)).toEqual([]);
  expect(await markRule(pod)).toEqual([]);
  expect((await ip('-n', pod, 'route', 'show', 'table', '100')).trim()).toBe('');
  expect(await ip('-n', pod, 'route', 'show', 'table', 'all')).not.toMatch(/veth0/);
  expect((await ip('-n', pod, 'neigh', 'show', 'nud', 'permanent')).trim()).toBe('');
  expect((await ip('-n', node, 'route', 'show', 'table', '600')).trim()).toBe('');
  expect(await ip('-n', node, 'link', 'show', hostVeth).catch((e: Error) => e.message)).toMatch(
    /does not exist/,
  );
  expect((await runCoordinator('DEL', pod, containerId, 'eth0', eth0)).code).toBe(0);
}, 90_000);

test('a later NIC whose pod has no veth0 (no coordinator on the first NIC) is refused in CNI form', async () => {
  const pod = await lab.netns();
  const containerId = randomBytes(32).toString('hex');
  const eth0 = nics.eth0();
  expect(
    (await cni({ command: 'ADD', plugin: 'macvlan', pod, containerId, ifname: 'eth0', config: eth0 })).code,
  ).toBe(0);
  const conf = nics.net1();
  const main = await cni({
    command: 'ADD',
    plugin: 'bridge',
    pod,
    containerId,
    ifname: 'net1',
    config: conf,
  });
  expect(main.code).toBe(0);
  const out = await runCoordinator('ADD', pod, containerId, 'net1', {
    ...coordinatorConf,
    name: conf.name,
    state_dir: stateDir,
    prevResult: main.json,
  });
  expect(out.code).not.toBe(0);
  expect(out.json).toMatchObject({ code: 7, msg: expect.stringMatching(/^mode: underlay needs veth0/) });
  // What it recorded before refusing is undone by DEL.
  expect(
    (
      await runCoordinator('DEL', pod, containerId, 'net1', {
        ...coordinatorConf,
        name: conf.name,
        state_dir: stateDir,
      })
    ).code,
  ).toBe(0);
  expect(await nodeRules()).toEqual([]);
}, 60_000);

test('a second sandbox with the same address (a pod made again, a migration target) keeps the node’s rule when the first is deleted', async () => {
  const sandboxes: Array<{ pod: string; containerId: string; conf: Record<string, unknown> }> = [];
  for (let i = 0; i < 2; i++) {
    const pod = await lab.netns();
    const containerId = randomBytes(32).toString('hex');
    sandboxes.push({ pod, containerId, conf: await attach(pod, containerId, 'eth0') });
  }
  const [first, second] = sandboxes as [(typeof sandboxes)[0], (typeof sandboxes)[0]];
  const secondVeth = `veth${second.containerId.slice(0, 11)}`;
  expect(await nodeRules()).toEqual(['to 198.18.54.10 lookup 600']);
  expect((await ip('-n', node, 'route', 'show', 'table', '600')).trim()).toBe(
    `198.18.54.10 dev ${secondVeth} scope link`,
  );
  const { prevResult: _, ...conf } = first.conf;
  expect((await runCoordinator('DEL', first.pod, first.containerId, 'eth0', conf)).code).toBe(0);
  expect(await nodeRules()).toEqual(['to 198.18.54.10 lookup 600']);
  expect(await fromNode('198.18.54.10')).toBe('ECONNREFUSED');
  expect((await runCoordinator('DEL', second.pod, second.containerId, 'eth0', conf)).code).toBe(0);
  expect(await nodeRules()).toEqual([]);
  expect((await ip('-n', node, 'route', 'show', 'table', '600')).trim()).toBe('');
}, 60_000);

test('dual stack: IPv6 gets its node rule, neighbour entries, hijack route and ip6tables marks; DEL removes them', async () => {
  // Added here, last: the IPv4-only pods above see no IPv6 node address.
  await lab.addAddress(node, 'lo', 'fd00:53::1/128', true);
  const pod = await lab.netns();
  const containerId = randomBytes(32).toString('hex');
  const hostVeth = `veth${containerId.slice(0, 11)}`;
  const conf = {
    ...nics.eth0(),
    ipam: {
      type: 'static',
      addresses: [
        { address: '198.18.54.20/24', gateway: '198.18.54.1' },
        { address: 'fd00:54::20/64', gateway: 'fd00:54::1' },
      ],
    },
  };
  const main = await addEth0(pod, containerId, conf);
  expect(main.code).toBe(0);
  const coordinator = {
    ...coordinatorConf,
    hijackCIDR: ['198.18.56.0/25', 'fd00:56::/64'],
    name: conf.name,
    state_dir: stateDir,
    prevResult: main.json,
  };
  const added = await runCoordinator('ADD', pod, containerId, 'eth0', coordinator);
  expect(added.stdout).not.toMatch(/"code"/);

  expect((await ip('-n', node, '-6', 'route', 'show', 'table', '600')).trim()).toBe(
    `fd00:54::20 dev ${hostVeth} metric 1024 pref medium`,
  );
  const podMac = await macOf(pod, 'veth0');
  expect((await neighbours(node, hostVeth)).filter((n) => n.startsWith('fd00'))).toEqual([
    `fd00:54::20 ${podMac} PERMANENT`,
  ]);
  expect((await neighbours(pod, 'veth0')).filter((n) => n.startsWith('fd00'))).toEqual([
    `fd00:53::1 ${await macOf(node, hostVeth)} PERMANENT`,
  ]);
  expect(await routeDev(pod, 'fd00:56::2')).toBe('veth0');
  const ip6Mangle = async () =>
    (await exec('ip', ['netns', 'exec', pod, 'ip6tables', '-w', '-t', 'mangle', '-S'])).stdout
      .split('\n')
      .filter((l) => l.startsWith('-A'));
  expect(await ip6Mangle()).toHaveLength(3);
  expect((await ip('-n', pod, '-6', 'rule', 'show')).trim()).toContain(
    '1000:\tfrom all fwmark 0x1 lookup 100',
  );
  expect((await ip('-n', pod, '-6', 'route', 'show', 'table', '100')).trim()).toMatch(
    /^default via fd00:53::1 dev veth0/,
  );
  // The node reaches the pod's IPv6 address through the pair.
  expect(await fromNode('fd00:54::20')).toBe('ECONNREFUSED');
  expect((await runCoordinator('CHECK', pod, containerId, 'eth0', coordinator)).code).toBe(0);

  const { prevResult: _, ...rest } = coordinator;
  expect((await runCoordinator('DEL', pod, containerId, 'eth0', rest)).code).toBe(0);
  expect(await ip6Mangle()).toEqual([]);
  expect(await mangleRules(pod)).toEqual([]);
  expect(await ip('-n', pod, '-6', 'rule', 'show')).not.toMatch(/fwmark/);
  expect((await ip('-n', node, '-6', 'rule', 'show')).trim()).not.toMatch(/fd00:54::20/);
  expect((await ip('-n', node, '-6', 'route', 'show', 'table', '600')).trim()).toBe('');
}, 60_000);
