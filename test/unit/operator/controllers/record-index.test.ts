import type { SpiderIPPool } from '../../../../api/index.js';
import { RecordIndex } from '../../../../operator/controllers/record-index.js';

function pool(name: string, rv: string, records: Record<string, object>): SpiderIPPool {
  return {
    metadata: { name, resourceVersion: rv },
    spec: { subnet: '198.18.0.0/24' },
    status: { allocatedIPs: JSON.stringify(records) },
  };
}

test('records are found by identity and by holder pod UID, across pools', () => {
  const index = new RecordIndex();
  index.sync([
    pool('a', '1', {
      '198.18.0.5': { pod: 'ns/vm1', podUid: 'p1' },
      '198.18.0.6': { pod: 'ns/web', podUid: 'p2' },
    }),
    pool('b', '1', { '198.18.0.7': { pod: 'ns/vm1', podUid: 'p1', nic: 'net1' } }),
  ]);
  expect(index.byOwner('ns/vm1').map((r) => `${r.pool} ${r.ip} ${r.nic ?? ''}`)).toEqual([
    'a 198.18.0.5 ',
    'b 198.18.0.7 net1',
  ]);
  expect(index.byPodUid('p2').map((r) => r.pod)).toEqual(['ns/web']);
  expect(index.owners().sort()).toEqual(['ns/vm1', 'ns/web']);
});

test('a new pool version replaces its records; a pool gone takes its records with it', () => {
  const index = new RecordIndex();
  index.sync([
    pool('a', '1', { '198.18.0.5': { pod: 'ns/x', podUid: 'p1' } }),
    pool('b', '1', { '198.18.0.9': { pod: 'ns/y', podUid: 'p9' } }),
  ]);
  index.sync([pool('a', '2', { '198.18.0.6': { pod: 'ns/x', podUid: 'p3' } })]);
  expect(index.byOwner('ns/x').map((r) => r.podUid)).toEqual(['p3']);
  expect(index.byPodUid('p1')).toEqual([]);
  expect(index.byOwner('ns/y')).toEqual([]);
});

test('an unchanged resourceVersion is not decoded again', () => {
  const index = new RecordIndex();
  const first = pool('a', '1', { '198.18.0.5': { pod: 'ns/x', podUid: 'p1' } });
  index.sync([first]);
  // Same version, different content: the index trusts the version (as a cache must).
  index.sync([pool('a', '1', {})]);
  expect(index.byOwner('ns/x')).toHaveLength(1);
});

test('a pool whose records cannot be read is reported and contributes nothing', () => {
  const index = new RecordIndex();
  const broken: SpiderIPPool = {
    metadata: { name: 'bad', resourceVersion: '1' },
    spec: { subnet: '198.18.0.0/24' },
    status: { allocatedIPs: '{nope' },
  };
  index.sync([broken]);
  expect(index.unreadable()).toEqual([
    { pool: 'bad', error: expect.stringMatching(/^pool bad: status\.allocatedIPs: not valid JSON/) },
  ]);
  expect(index.owners()).toEqual([]);
});
