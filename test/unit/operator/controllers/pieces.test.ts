import { setTimeout as sleep } from 'node:timers/promises';
import { allocationMessage } from '../../../../operator/controllers/endpoints.js';
import { parseOwnerKey } from '../../../../operator/controllers/identity-gc.js';
import { KeyedLock } from '../../../../operator/controllers/keyed-lock.js';
import { poolCounts } from '../../../../operator/controllers/pools.js';
import { subnetTotal } from '../../../../operator/controllers/subnets.js';

test('tasks of one key run one after another, of different keys side by side, failures do not wedge', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const task =
    (name: string, ms: number, fail = false) =>
    async () => {
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
    };
  await Promise.all([
    lock.run('a', task('a1', 30, true)).catch(() => undefined),
    lock.run('a', task('a2', 1)),
    lock.run('b', task('b1', 5)),
  ]);
  expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
  expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
  await sleep(1);
  expect(lock.size).toBe(0);
});

test('the allocation Event message lists every address with its pool and NIC', () => {
  expect(
    allocationMessage([
      { interface: 'eth0', ipv4: '198.18.0.5/24', ipv4Pool: 'a', ipv6: 'fd00::5/64', ipv6Pool: 'a6' },
      { interface: 'net1', ipv4: '198.18.1.5/24', ipv4Pool: 'b' },
    ]),
  ).toBe(
    'Allocated 198.18.0.5/24 from pool a for eth0; fd00::5/64 from pool a6 for eth0; 198.18.1.5/24 from pool b for net1',
  );
  expect(allocationMessage([{ interface: 'eth0' }])).toBeUndefined();
});

test('identity keys split at the first slash', () => {
  expect(parseOwnerKey('ns/name')).toEqual({ namespace: 'ns', name: 'name' });
  expect(parseOwnerKey('nons')).toBeUndefined();
  expect(parseOwnerKey('/x')).toBeUndefined();
  expect(parseOwnerKey('ns/')).toBeUndefined();
});

test('pool counters come from the spec and the records; a broken spec leaves the total unknown', () => {
  const records = JSON.stringify({ '198.18.0.5': { pod: 'ns/a', podUid: 'u' } });
  expect(
    poolCounts({
      metadata: { name: 'p' },
      spec: { subnet: '198.18.0.0/24', ips: ['198.18.0.1-198.18.0.10'], excludeIPs: ['198.18.0.2'] },
      status: { allocatedIPs: records },
    }),
  ).toEqual({ total: 9, allocated: 1 });
  expect(
    poolCounts({
      metadata: { name: 'p' },
      spec: { subnet: '198.18.0.0/24', ips: ['10.0.0.1-x'] },
      status: { allocatedIPs: records },
    }),
  ).toEqual({ total: undefined, allocated: 1 });
  expect(
    subnetTotal({ metadata: { name: 's' }, spec: { subnet: 'fd00::/120', ips: ['fd00::1-fd00::ff'] } }),
  ).toBe(255);
});
