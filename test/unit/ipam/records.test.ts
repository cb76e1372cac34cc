import fc from 'fast-check';
import { formatValue } from '../../../ipam/address/ip.js';
import { decodeRecords, encodeRecords, type PoolRecord } from '../../../ipam/records/codec.js';
import { ipamErrorOf } from './helpers.js';

describe('status.allocatedIPs', () => {
  it('decodes Spiderpool-written records (no nic) and sorts them by address', () => {
    const text = JSON.stringify({
      '10.6.0.10': { pod: 'ns/b', podUid: 'u2' },
      '10.6.0.5': { pod: 'ns/a', podUid: 'u1', unknownField: 1 },
    });
    const records = decodeRecords('p', text, 4);
    expect(records.map((r) => [r.ip, r.pod, r.podUid, r.nic])).toEqual([
      ['10.6.0.5', 'ns/a', 'u1', undefined],
      ['10.6.0.10', 'ns/b', 'u2', undefined],
    ]);
  });

  it('makes keys canonical', () => {
    const records = decodeRecords(
      'p',
      JSON.stringify({ 'FD00:0::1': { pod: 'ns/a', podUid: 'u', nic: 'net1' } }),
      6,
    );
    expect(records[0]).toMatchObject({ ip: 'fd00::1', nic: 'net1' });
  });

  it('encodes no records as absent, and an absent or null field as no records', () => {
    expect(encodeRecords([])).toBeUndefined();
    expect(decodeRecords('p', undefined, 4)).toEqual([]);
    expect(decodeRecords('p', 'null', 4)).toEqual([]);
  });

  it.each([
    ['{', /pool p6: status.allocatedIPs: not valid JSON/],
    ['[]', /pool p6: status.allocatedIPs: expected a JSON object/],
    [
      '{"10.0.0.1":{"pod":"a/b","podUid":"u"}}',
      /pool p6: status.allocatedIPs\["10.0.0.1"\]: "10.0.0.1" is not an IPv6/,
    ],
    [
      '{"fd00::1":{"pod":"a/b"}}',
      /pool p6: status.allocatedIPs\["fd00::1"\]: podUid: Expected required property/,
    ],
    [
      '{"fd00::1":{"pod":"a/b","podUid":"u","nic":5}}',
      /status.allocatedIPs\["fd00::1"\]: nic: Expected string/,
    ],
    ['{"fd00::1":"a/b"}', /status.allocatedIPs\["fd00::1"\]: Expected object/],
    [
      '{"fd00::1":{"pod":"a/b","podUid":"u"},"fd00:0::1":{"pod":"a/c","podUid":"v"}}',
      /two records for fd00::1/,
    ],
  ])('refuses %s naming the pool', (text, message) => {
    const error = ipamErrorOf(() => decodeRecords('p6', text, 6));
    expect(error.message).toMatch(message);
    expect(error.code).toBe('InvalidRecords');
    expect(error.pool).toBe('p6');
  });

  it('round-trips any set of records', () => {
    const record = fc.record({
      value: fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }),
      pod: fc.tuple(fc.stringMatching(/^[a-z0-9-]{1,8}$/), fc.stringMatching(/^[a-z0-9.-]{1,12}$/)),
      podUid: fc.uuid(),
      nic: fc.option(fc.constantFrom('eth0', 'net1', 'pod16477688c0e'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(record, { selector: (r) => r.value, maxLength: 30 }), (raw) => {
        const records: PoolRecord[] = raw.map((r) => {
          const out: PoolRecord = {
            ip: formatValue(4, r.value),
            value: r.value,
            pod: r.pod.join('/'),
            podUid: r.podUid,
          };
          if (r.nic !== undefined) out.nic = r.nic;
          return out;
        });
        const decoded = decodeRecords('p', encodeRecords(records), 4);
        const byValue = (a: PoolRecord, b: PoolRecord) => (a.value < b.value ? -1 : 1);
        expect(decoded).toEqual([...records].sort(byValue));
      }),
    );
  });
});
