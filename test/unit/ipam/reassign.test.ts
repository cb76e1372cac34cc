import { reassign } from '../../../ipam/allocation/reassign.js';
import { decodeRecords } from '../../../ipam/records/codec.js';
import { ipamErrorOf, pool } from './helpers.js';

const records = {
  '198.18.0.5': { pod: 'ns/vm1', podUid: 'src', nic: 'eth0' },
  '198.18.0.6': { pod: 'ns/vm1', podUid: 'src', nic: 'net1' },
  '198.18.0.7': { pod: 'ns/vm1', podUid: 'old', nic: 'net2' },
  '198.18.0.8': { pod: 'ns/other', podUid: 'src', nic: 'eth0' },
};
const p = () =>
  pool(
    'p',
    { subnet: '198.18.0.0/24', ips: ['198.18.0.1-198.18.0.20'] },
    {
      allocatedIPs: JSON.stringify(records),
      allocatedIPCount: 4,
      totalIPCount: 20,
      lastAllocatedIP: '198.18.0.8',
    },
  );

test("moves every record of the owner to the new pod UID, and nothing of another owner's", () => {
  const batch = reassign(p(), { owner: 'ns/vm1', toPodUid: 'tgt' });
  expect(batch.changed).toBe(true);
  expect(batch.moved.map((r) => r.ip)).toEqual(['198.18.0.5', '198.18.0.6', '198.18.0.7']);
  const after = decodeRecords('p', batch.status.allocatedIPs, 4);
  expect(after.map((r) => `${r.ip} ${r.pod} ${r.podUid} ${r.nic}`)).toEqual([
    '198.18.0.5 ns/vm1 tgt eth0',
    '198.18.0.6 ns/vm1 tgt net1',
    '198.18.0.7 ns/vm1 tgt net2',
    '198.18.0.8 ns/other src eth0',
  ]);
  // Nothing allocated or freed: same count, same cursor.
  expect(batch.status.allocatedIPCount).toBe(4);
  expect(batch.status.lastAllocatedIP).toBe('198.18.0.8');
});

test('only the named previous holders move when given', () => {
  const batch = reassign(p(), { owner: 'ns/vm1', toPodUid: 'src', fromPodUids: ['old'] });
  expect(batch.moved.map((r) => r.ip)).toEqual(['198.18.0.7']);
});

test('nothing to move: no write needed', () => {
  const batch = reassign(p(), { owner: 'ns/none', toPodUid: 'x' });
  expect(batch.moved).toEqual([]);
  expect(batch.changed).toBe(false);
});

test('bad requests name the field', () => {
  expect(ipamErrorOf(() => reassign(p(), { owner: 'vm1', toPodUid: 'x' })).message).toBe(
    'request.owner: expected "<namespace>/<name>", got "vm1"',
  );
  expect(ipamErrorOf(() => reassign(p(), { owner: 'ns/vm1', toPodUid: '' })).field).toBe('request.toPodUid');
});
