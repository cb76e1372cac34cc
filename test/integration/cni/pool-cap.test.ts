// The record cap per pool (conf.yml ippoolMaxAllocatedIPs, Spiderpool's
// SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS) as the compiled plugin applies it from its node configuration:
// a cap below the pool's size is enforced, and a cap raised above the 5,000 default lets a pool's
// records go beyond 5,000. The large pool is filled by one status write, not by 5,000 ADDs.
import { randomUUID } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { formatValue, parseIP } from '../../../ipam/address/ip.js';
import { encodeRecords, type PoolRecord } from '../../../ipam/records/codec.js';
import { callPlugin, cniEnv, netConf, type ProcessOutcome, type TestNode } from '../../harness/cni-plugin.js';
import { usePluginBed } from '../../harness/plugin-bed.js';

const bed = usePluginBed('cni-cap', 'cap');

function add(node: TestNode, pod: V1Pod): Promise<ProcessOutcome> {
  const ref = { namespace: bed.namespace, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
  return callPlugin(cniEnv('ADD', ref), netConf(node, bed.testbed.kubeconfig));
}

function podIn(pool: string, name: string, node: TestNode): Promise<V1Pod> {
  return bed.fixtures.pod({
    namespace: bed.namespace,
    name,
    nodeName: node.name,
    annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }) },
  });
}

const capError = (pool: string, records: number, cap: number) => ({
  code: 102,
  msg: expect.stringContaining(
    `pool ${pool} holds ${records} records, the cap of ${cap} set by ippoolMaxAllocatedIPs in conf.yml`,
  ),
});

test('a cap of 3 stops a pool of 10 addresses at 3 records, and the error names the pool, the cap and the setting', async () => {
  const node = bed.testbed.node('cap-3', { ippoolMaxAllocatedIPs: 3 });
  const pool = await bed.fixtures.pool({ subnet: '198.18.40.0/24', ips: ['198.18.40.1-198.18.40.10'] });
  const pods = await Promise.all([0, 1, 2, 3].map((i) => podIn(pool, `small-${i}`, node)));
  for (const pod of pods.slice(0, 3)) expect((await add(node, pod)).code).toBe(0);
  const fourth = await add(node, pods[3] as V1Pod);
  expect(fourth.code).toBe(1);
  expect(fourth.json).toMatchObject(capError(pool, 3, 3));
  expect((await bed.fixtures.poolState(pool)).records).toHaveLength(3);
});

test('a pool holding 5,000 records takes no more under the default cap, and one more once the cap is raised', async () => {
  // 5,002 addresses, the first 5,000 already allocated to pods of another namespace.
  const first = parseIP('198.18.96.1', 4).value;
  const pool = await bed.fixtures.pool({ subnet: '198.18.96.0/19', ips: ['198.18.96.1-198.18.115.138'] });
  const held: PoolRecord[] = Array.from({ length: 5000 }, (_, i) => ({
    ip: formatValue(4, first + BigInt(i)),
    value: first + BigInt(i),
    pod: `elsewhere/web-${i}`,
    podUid: randomUUID(),
    nic: 'eth0',
  }));
  const current = await bed.fixtures.spiderpool.getPool(pool);
  await bed.fixtures.spiderpool.replacePoolStatus({
    ...current,
    status: { ...current.status, allocatedIPs: encodeRecords(held), allocatedIPCount: held.length },
  });

  const byDefault = bed.testbed.node('cap-default');
  const refused = await add(byDefault, await podIn(pool, 'big-0', byDefault));
  expect(refused.code).toBe(1);
  expect(refused.json).toMatchObject(capError(pool, 5000, 5000));

  const raised = bed.testbed.node('cap-5001', { ippoolMaxAllocatedIPs: 5001 });
  const pod = await podIn(pool, 'big-1', raised);
  const granted = await add(raised, pod);
  expect(granted.code).toBe(0);
  const state = await bed.fixtures.poolState(pool);
  expect(state.records).toHaveLength(5001);
  expect(state.allocatedIPCount).toBe(5001);
  expect(state.records.find((r) => r.podUid === pod.metadata?.uid)?.ip).toBe('198.18.115.137');

  // The raised cap is a cap too: the 5,002nd record is refused naming 5001.
  const over = await add(raised, await podIn(pool, 'big-2', raised));
  expect(over.json).toMatchObject(capError(pool, 5001, 5001));
});
