// ADD, CHECK and DEL of the compiled plugin driven by Debian's macvlan (master: one end of a veth pair
// this test makes) and bridge plugins, inside network namespaces this test makes, for Pod objects in
// the API: the interface in the namespace carries the allocated address and the routes (default
// route via the pool gateway, pool routes, the pod's routes annotation; clean_gateway drops the
// default route), IPv6 and dual-stack work, two NICs of one pod come from `ipam.spidernet.io/ippools`
// across two networks, and DEL frees the address.
import type { V1Pod } from '@kubernetes/client-node';
import { netConf, type ProcessOutcome } from '../../harness/cni-plugin.js';
import { runCni } from '../../harness/netns.js';
import { useMacvlanBed } from '../../harness/plugin-bed.js';

const bed = useMacvlanBed('cni-e2e-alloc', 'e2e-node', 'e2e');

let podCount = 0;

async function pod(annotations: Record<string, string>): Promise<V1Pod> {
  return bed.fixtures.pod({
    namespace: bed.namespace,
    name: `e2e-${podCount++}`,
    nodeName: bed.node.name,
    annotations,
  });
}

const args = (p: V1Pod) => ({
  K8S_POD_NAMESPACE: p.metadata?.namespace ?? '',
  K8S_POD_NAME: p.metadata?.name ?? '',
  K8S_POD_UID: p.metadata?.uid ?? '',
  K8S_POD_INFRA_CONTAINER_ID: `infra-${p.metadata?.uid}`,
});

type Network = { kind: 'macvlan' } | { kind: 'bridge'; bridge: string };

function config(network: Network, name: string, ipam: Record<string, unknown> = {}, cniVersion = '1.0.0') {
  const top =
    network.kind === 'macvlan'
      ? { type: 'macvlan', master: bed.master, mode: 'bridge' }
      : { type: 'bridge', bridge: network.bridge };
  return netConf(bed.node, bed.testbed.kubeconfig, { name, cniVersion, top, ipam });
}

interface Attached {
  pod: V1Pod;
  netns: string;
  ifname: string;
  out: ProcessOutcome;
}

async function attach(
  p: V1Pod,
  network: Network,
  opts: {
    ifname?: string;
    netns?: string;
    name?: string;
    ipam?: Record<string, unknown>;
    cniVersion?: string;
  } = {},
): Promise<Attached> {
  const netns = opts.netns ?? (await bed.lab.netns());
  const ifname = opts.ifname ?? 'eth0';
  const out = await runCni({
    plugin: network.kind,
    command: 'ADD',
    netns: bed.lab.netnsPath(netns),
    ifname,
    containerId: `infra-${p.metadata?.uid}`,
    args: args(p),
    config: config(network, opts.name ?? `${network.kind}-net`, opts.ipam, opts.cniVersion),
  });
  return { pod: p, netns, ifname, out };
}

function detach(a: Attached, network: Network, opts: { name?: string; ipam?: Record<string, unknown> } = {}) {
  return runCni({
    plugin: network.kind,
    command: 'DEL',
    netns: bed.lab.netnsPath(a.netns),
    ifname: a.ifname,
    containerId: `infra-${a.pod.metadata?.uid}`,
    args: args(a.pod),
    config: config(network, opts.name ?? `${network.kind}-net`, opts.ipam),
  });
}

async function addressesIn(a: Attached): Promise<string[]> {
  return (await bed.lab.addresses(a.netns, a.ifname))
    .filter((x) => x.scope !== 'link')
    .map((x) => `${x.local}/${x.prefixlen}`);
}

async function routesIn(a: Attached, family: 4 | 6 = 4): Promise<string[]> {
  return (await bed.lab.routes(a.netns, family))
    .filter((r) => r.gateway)
    .map((r) => `${r.dst} via ${r.gateway}`)
    .sort();
}

const macvlan: Network = { kind: 'macvlan' };

test('macvlan: the interface carries the address, the default route via the pool gateway, pool and pod routes; DEL frees it', async () => {
  const pool = await bed.fixtures.pool({
    subnet: '198.18.40.0/24',
    ips: ['198.18.40.10-198.18.40.19'],
    gateway: '198.18.40.1',
    routes: [{ dst: '198.19.0.0/16', gw: '198.18.40.254' }],
  });
  const p = await pod({
    'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }),
    'ipam.spidernet.io/routes': JSON.stringify([{ dst: '198.19.200.0/24', gw: '198.18.40.253' }]),
  });
  const a = await attach(p, macvlan);
  expect(a.out.stderr).toBe('');
  expect(a.out.code).toBe(0);
  expect(await addressesIn(a)).toEqual(['198.18.40.10/24']);
  expect(await routesIn(a)).toEqual([
    '198.19.0.0/16 via 198.18.40.254',
    '198.19.200.0/24 via 198.18.40.253',
    'default via 198.18.40.1',
  ]);
  expect((await bed.fixtures.poolState(pool)).records.map((r) => [r.ip, r.podUid])).toEqual([
    ['198.18.40.10', p.metadata?.uid],
  ]);

  // CHECK compares the runtime's result with the endpoint and the pool (macvlan calls IPAM CHECK).
  const check = await runCni({
    plugin: 'macvlan',
    command: 'CHECK',
    netns: bed.lab.netnsPath(a.netns),
    ifname: 'eth0',
    containerId: `infra-${p.metadata?.uid}`,
    args: args(p),
    config: { ...config(macvlan, 'macvlan-net'), prevResult: a.out.json },
  });
  expect({ code: check.code, stdout: check.stdout }).toEqual({ code: 0, stdout: '' });

  await bed.fixtures.deletePod(bed.namespace, p.metadata?.name ?? '');
  const del = await detach(a, macvlan);
  expect({ code: del.code, stdout: del.stdout }).toEqual({ code: 0, stdout: '' });
  expect(await bed.lab.linkExists('eth0', a.netns)).toBe(false);
  expect((await bed.fixtures.poolState(pool)).allocatedIPCount).toBe(0);
  // The next pod gets the next address, not the one just released.
  const next = await attach(
    await pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }) }),
    macvlan,
  );
  expect(await addressesIn(next)).toEqual(['198.18.40.11/24']);
});

test('clean_gateway drops the default route but keeps the pool routes', async () => {
  const pool = await bed.fixtures.pool({
    subnet: '198.18.41.0/24',
    ips: ['198.18.41.10-198.18.41.19'],
    gateway: '198.18.41.1',
    routes: [{ dst: '198.19.0.0/16', gw: '198.18.41.254' }],
  });
  const p = await pod({});
  const a = await attach(p, macvlan, {
    name: 'macvlan-clean',
    ipam: { default_ipv4_ippool: [pool], clean_gateway: true },
    cniVersion: '0.3.1',
  });
  expect(a.out.code).toBe(0);
  // A 0.3.1 result (version on each IP); it still names the gateway, only the route is gone.
  expect(a.out.json).toMatchObject({ cniVersion: '0.3.1' });
  expect(a.out.json?.ips).toEqual([
    { version: '4', address: '198.18.41.10/24', gateway: '198.18.41.1', interface: 0 },
  ]);
  expect(await routesIn(a)).toEqual(['198.19.0.0/16 via 198.18.41.254']);
});

test('bridge: IPv6 and dual-stack', async () => {
  const bridge: Network = { kind: 'bridge', bridge: bed.lab.linkName('spbr') };
  bed.lab.adopt(bridge.bridge); // the bridge plugin creates it
  const v4 = await bed.fixtures.pool({
    subnet: '198.18.42.0/24',
    ips: ['198.18.42.10-198.18.42.19'],
    gateway: '198.18.42.1',
  });
  const v6 = await bed.fixtures.pool({
    subnet: 'fd00:42::/64',
    ips: ['fd00:42::10-fd00:42::1f'],
    gateway: 'fd00:42::1',
  });

  const only6 = await attach(
    await pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv6: [v6] }) }),
    bridge,
  );
  expect(only6.out.code).toBe(0);
  expect(await addressesIn(only6)).toEqual(['fd00:42::10/64']);
  expect(await routesIn(only6, 6)).toEqual(['default via fd00:42::1']);

  const dual = await attach(
    await pod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [v4], ipv6: [v6] }) }),
    bridge,
    { cniVersion: '0.4.0' },
  );
  expect(dual.out.json).toMatchObject({ cniVersion: '0.4.0' });
  expect(dual.out.code).toBe(0);
  expect((await addressesIn(dual)).sort()).toEqual(['198.18.42.10/24', 'fd00:42::11/64']);
  expect(await routesIn(dual, 4)).toEqual(['default via 198.18.42.1']);
  expect(await routesIn(dual, 6)).toEqual(['default via fd00:42::1']);
  const endpoint = await bed.fixtures.endpoint(bed.namespace, dual.pod.metadata?.name ?? '');
  expect(endpoint?.status?.current.ips).toEqual([
    expect.objectContaining({ interface: 'eth0', ipv4: '198.18.42.10/24', ipv6: 'fd00:42::11/64' }),
  ]);
});

test('two NICs of one pod from ipam.spidernet.io/ippools (named), on two networks', async () => {
  const bridge: Network = { kind: 'bridge', bridge: bed.lab.linkName('spbr') };
  bed.lab.adopt(bridge.bridge);
  const a = await bed.fixtures.pool({
    subnet: '198.18.43.0/24',
    ips: ['198.18.43.10-198.18.43.19'],
    gateway: '198.18.43.1',
  });
  const b = await bed.fixtures.pool({
    subnet: '198.18.44.0/24',
    ips: ['198.18.44.10-198.18.44.19'],
    gateway: '198.18.44.1',
  });
  const p = await pod({
    'ipam.spidernet.io/ippools': JSON.stringify([
      { interface: 'net1', ipv4: [a] },
      { interface: 'net2', ipv4: [b], cleangateway: true },
    ]),
  });
  const first = await attach(p, macvlan, { ifname: 'net1', name: 'net-a' });
  expect(first.out.code).toBe(0);
  // The first ADD allocated both NICs and stored them in the endpoint.
  const endpoint = await bed.fixtures.endpoint(bed.namespace, p.metadata?.name ?? '');
  expect(endpoint?.status?.current.ips.map((e) => [e.interface, e.ipv4])).toEqual([
    ['net1', '198.18.43.10/24'],
    ['net2', '198.18.44.10/24'],
  ]);
  const second = await attach(p, bridge, { ifname: 'net2', name: 'net-b', netns: first.netns });
  expect(second.out.code).toBe(0);
  expect(await addressesIn(first)).toEqual(['198.18.43.10/24']);
  expect(await addressesIn(second)).toEqual(['198.18.44.10/24']);
  // net2 asked for cleangateway: only net1 has a default route.
  expect(await routesIn(first)).toEqual(['default via 198.18.43.1']);
  expect((await bed.fixtures.poolState(b)).records.map((r) => [r.ip, r.nic])).toEqual([
    ['198.18.44.10', 'net2'],
  ]);
});
