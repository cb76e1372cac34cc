import type { V1Pod } from '@kubernetes/client-node';
import {
  buildNicNetworks,
  endpointEntry,
  type NicNetwork,
  nicNetworkFromEndpoint,
} from '../../../ipam/network/nic-network.js';
import { podRoutes } from '../../../ipam/network/routes.js';
import { ipamErrorOf, pool } from './helpers.js';

const v4 = pool('vlan40-v4', {
  subnet: '198.18.40.0/24',
  gateway: '198.18.40.1',
  routes: [{ dst: '198.19.0.0/16', gw: '198.18.40.254' }],
});
const v6 = pool('vlan40-v6', { subnet: 'fd00:40::/64', gateway: 'FD00:40::1' });
const net1 = pool('vlan30-v4', { subnet: '198.18.30.0/24' });

const podWithRoutes = (routes: unknown): V1Pod => ({
  metadata: { name: 'p', annotations: { 'ipam.spidernet.io/routes': JSON.stringify(routes) } },
});

describe('buildNicNetworks', () => {
  it('gives addresses with the pool prefix, default routes per family, then pool routes, then pod routes', () => {
    const routes = podRoutes(
      podWithRoutes([
        { dst: '10.9.0.0/16', gw: '198.18.30.7' },
        { dst: '10.8.0.1/16', gw: '198.18.40.9' },
        { dst: '10.7.0.0/16', gw: '203.0.113.1' },
      ]),
    );
    const { nics, unmatchedRoutes } = buildNicNetworks(
      [
        {
          nic: 'eth0',
          cleanGateway: false,
          addresses: [
            { pool: v4, ip: '198.18.40.5' },
            { pool: v6, ip: 'fd00:40::5' },
          ],
        },
        { nic: 'net1', cleanGateway: false, addresses: [{ pool: net1, ip: '198.18.30.5' }] },
      ],
      routes,
    );
    expect(nics).toEqual([
      {
        nic: 'eth0',
        cleanGateway: false,
        ips: [
          {
            family: 4,
            address: '198.18.40.5/24',
            ip: '198.18.40.5',
            prefix: 24,
            gateway: '198.18.40.1',
            pool: 'vlan40-v4',
          },
          {
            family: 6,
            address: 'fd00:40::5/64',
            ip: 'fd00:40::5',
            prefix: 64,
            gateway: 'fd00:40::1',
            pool: 'vlan40-v6',
          },
        ],
        routes: [
          { dst: '0.0.0.0/0', gw: '198.18.40.1' },
          { dst: '::/0', gw: 'fd00:40::1' },
          { dst: '198.19.0.0/16', gw: '198.18.40.254' },
          { dst: '10.8.0.0/16', gw: '198.18.40.9' },
        ],
      },
      {
        nic: 'net1',
        cleanGateway: false,
        ips: [{ family: 4, address: '198.18.30.5/24', ip: '198.18.30.5', prefix: 24, pool: 'vlan30-v4' }],
        routes: [{ dst: '10.9.0.0/16', gw: '198.18.30.7' }],
      },
    ]);
    expect(unmatchedRoutes.map((r) => r.dst)).toEqual(['10.7.0.0/16']);
  });

  it('drops the default routes with cleanGateway but keeps the gateway of each address', () => {
    const { nics } = buildNicNetworks([
      { nic: 'eth0', cleanGateway: true, addresses: [{ pool: v4, ip: '198.18.40.5' }] },
    ]);
    expect(nics[0]?.routes).toEqual([{ dst: '198.19.0.0/16', gw: '198.18.40.254' }]);
    expect(nics[0]?.ips[0]?.gateway).toBe('198.18.40.1');
  });

  it('names the pool of a malformed gateway or route', () => {
    const bad = pool('bad', { subnet: '198.18.40.0/24', routes: [{ dst: '198.19.0.0/16', gw: 'fd00::1' }] });
    expect(
      ipamErrorOf(() =>
        buildNicNetworks([
          { nic: 'eth0', cleanGateway: false, addresses: [{ pool: bad, ip: '198.18.40.5' }] },
        ]),
      ).message,
    ).toBe('pool bad: spec.routes[0].gw: "fd00::1" is not an IPv4 address');
  });

  it('names the annotation entry of a malformed pod route', () => {
    expect(ipamErrorOf(() => podRoutes(podWithRoutes([{ dst: 'x', gw: '1.1.1.1' }]))).message).toMatch(
      /^ipam.spidernet.io\/routes\[0\].dst: "x" is not a CIDR/,
    );
    expect(ipamErrorOf(() => podRoutes(podWithRoutes([{ dst: '10.0.0.0/8' }]))).message).toBe(
      'ipam.spidernet.io/routes[0].gw: expected a string',
    );
    expect(podRoutes({ metadata: {} })).toEqual([]);
  });
});

describe('SpiderEndpoint entries', () => {
  const [eth0, data] = buildNicNetworks([
    {
      nic: 'eth0',
      cleanGateway: false,
      addresses: [
        { pool: v4, ip: '198.18.40.5' },
        { pool: v6, ip: 'fd00:40::5' },
      ],
    },
    { nic: 'net1', cleanGateway: true, addresses: [{ pool: net1, ip: '198.18.30.5' }] },
  ]).nics as [NicNetwork, NicNetwork];

  it('writes IPAllocationDetail as Spiderpool does', () => {
    expect(endpointEntry(eth0)).toEqual({
      interface: 'eth0',
      vlan: 0,
      ipv4: '198.18.40.5/24',
      ipv4Pool: 'vlan40-v4',
      ipv4Gateway: '198.18.40.1',
      ipv6: 'fd00:40::5/64',
      ipv6Pool: 'vlan40-v6',
      ipv6Gateway: 'fd00:40::1',
      cleanGateway: false,
      routes: [
        { dst: '0.0.0.0/0', gw: '198.18.40.1' },
        { dst: '::/0', gw: 'fd00:40::1' },
        { dst: '198.19.0.0/16', gw: '198.18.40.254' },
      ],
    });
    // No gateway: no cleanGateway, no routes.
    expect(endpointEntry(data)).toEqual({
      interface: 'net1',
      vlan: 0,
      ipv4: '198.18.30.5/24',
      ipv4Pool: 'vlan30-v4',
    });
  });

  it('reads an entry back into the same settings', () => {
    expect(nicNetworkFromEndpoint(endpointEntry(eth0))).toEqual(eth0);
    // Without a gateway cleanGateway is not stored (and changes nothing).
    expect(nicNetworkFromEndpoint(endpointEntry(data))).toEqual({
      ...data,
      cleanGateway: false,
    });
  });

  it('restores the default route of an entry Spiderpool wrote without it', () => {
    const read = nicNetworkFromEndpoint({
      interface: 'eth0',
      ipv4: '10.6.0.5/16',
      ipv4Gateway: '10.6.0.1',
      cleanGateway: false,
    });
    expect(read.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.6.0.1' }]);
  });
});
