// Node-side pieces of the verbs on real files and plain data: the attachment records, STATUS's
// judgement of the default pools, which prevResult addresses CHECK compares, and the error codes
// of allocation failures.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { defaultPoolProblems } from '../../../cni/allocation/default-pools.js';
import { asCniError } from '../../../cni/allocation/errors.js';
import { CniError, ErrorCode } from '../../../cni/protocol/errors.js';
import {
  type AttachmentRecord,
  attachmentFile,
  listAttachments,
  readAttachment,
  removeAttachment,
  writeAttachment,
} from '../../../cni/state/attachments.js';
import { addressesOfInterface } from '../../../cni/verbs/check.js';
import { IpamError } from '../../../ipam/errors.js';
import { pool } from '../ipam/helpers.js';

describe('attachment records', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'cni-state-')), 'net-a');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  const record = (containerId: string, ifname: string): AttachmentRecord => ({
    containerId,
    ifname,
    network: 'net-a',
    pod: { namespace: 'ns', name: 'p', uid: 'u' },
    state: 'adding',
    time: '2026-01-01T00:00:00.000Z',
  });

  test('written, read back, listed and removed; a missing folder or record is no error', () => {
    expect(listAttachments(dir)).toEqual({ records: [], unreadable: [] });
    expect(readAttachment(dir, 'c1', 'eth0')).toBeUndefined();
    writeAttachment(dir, record('c1', 'eth0'));
    // A container ID has no ':', so "a.b"+"c" and "a"+"b.c" are two different files.
    writeAttachment(dir, record('a.b', 'c'));
    writeAttachment(dir, record('a', 'b.c'));
    expect(readAttachment(dir, 'c1', 'eth0')).toEqual(record('c1', 'eth0'));
    expect(
      listAttachments(dir)
        .records.map((r) => `${r.containerId}+${r.ifname}`)
        .sort(),
    ).toEqual(['a+b.c', 'a.b+c', 'c1+eth0']);
    removeAttachment(dir, 'c1', 'eth0');
    removeAttachment(dir, 'c1', 'eth0');
    expect(readAttachment(dir, 'c1', 'eth0')).toBeUndefined();
  });

  test('a broken record is reported by name and the others still listed; temporary files are skipped', () => {
    writeAttachment(dir, record('c1', 'eth0'));
    writeFileSync(attachmentFile(dir, 'c2', 'eth0'), '{"containerId":"c2"}');
    writeFileSync(join(dir, '.c3:eth0.json.tmp-1'), 'half');
    const listing = listAttachments(dir);
    expect(listing.records.map((r) => r.containerId)).toEqual(['c1']);
    expect(listing.unreadable).toEqual([expect.stringMatching(/c2:eth0\.json: ifname: missing/)]);
    expect(() => readAttachment(dir, 'c2', 'eth0')).toThrow(/attachment record .*c2:eth0\.json/);
  });

  test('an unreadable folder is an error, not an empty list', () => {
    mkdirSync(join(dir, '..'), { recursive: true });
    writeFileSync(dir, 'not a folder');
    expect(() => listAttachments(dir)).toThrow(/ENOTDIR/);
  });

  test('a state folder that cannot be written is an I/O error object naming ipam.state_dir, not a bug', () => {
    mkdirSync(join(dir, '..'), { recursive: true });
    writeFileSync(dir, 'not a folder');
    for (const use of [
      () => writeAttachment(dir, record('c1', 'eth0')),
      () => listAttachments(dir),
      () => removeAttachment(dir, 'c1', 'eth0'),
    ]) {
      let thrown: unknown;
      try {
        use();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(CniError);
      expect((thrown as CniError).code).toBe(ErrorCode.ioFailure);
      expect((thrown as CniError).message).toMatch(/^ipam\.state_dir: .*net-a: (ENOTDIR|EEXIST)/);
    }
  });
});

describe('defaultPoolProblems', () => {
  const base = {
    reservedIPs: [],
    defaultIPv4Pools: [] as string[],
    defaultIPv6Pools: [] as string[],
    nodeName: 'n1',
    enableIPv4: true,
    enableIPv6: true,
  };
  const full = pool(
    'full',
    { subnet: '10.0.0.0/24', ips: ['10.0.0.1'] },
    {
      allocatedIPs: '{"10.0.0.1":{"pod":"ns/p","podUid":"u"}}',
      allocatedIPCount: 1,
    },
  );
  const free = pool('free', { subnet: '10.1.0.0/24', ips: ['10.1.0.1-10.1.0.9'] });
  const elsewhere = pool('elsewhere', { subnet: '10.2.0.0/24', ips: ['10.2.0.1'], nodeName: ['n2'] });
  const off = pool('off', { subnet: '10.3.0.0/24', ips: ['10.3.0.1'], disable: true });

  test('the configured default pools: fine while one is usable, a problem naming each when none is', () => {
    expect(defaultPoolProblems({ ...base, pools: [full, free], defaultIPv4Pools: ['full', 'free'] })).toEqual(
      [],
    );
    expect(
      defaultPoolProblems({
        ...base,
        pools: [full, free, elsewhere, off],
        defaultIPv4Pools: ['full', 'elsewhere', 'off', 'gone'],
      }),
    ).toEqual([
      'no usable IPv4 pool among default_ipv4_ippool: full exhausted (1 of 1 allocated); elsewhere nodeName does not include n1; off disabled; gone not found',
    ]);
    expect(defaultPoolProblems({ ...base, pools: [free], defaultIPv4Pools: ['x-*'] })).toEqual([
      'default_ipv4_ippool: no IPv4 pool matches ["x-*"]',
    ]);
  });

  test('a reserved IP can exhaust a pool; a disabled family is not judged', () => {
    const reserved = [{ metadata: { name: 'r' }, spec: { ips: ['10.1.0.1-10.1.0.9'] } }];
    expect(
      defaultPoolProblems({ ...base, pools: [free], reservedIPs: reserved, defaultIPv4Pools: ['free'] }),
    ).toEqual(['no usable IPv4 pool among default_ipv4_ippool: free exhausted (0 of 0 allocated)']);
    expect(
      defaultPoolProblems({ ...base, enableIPv4: false, pools: [full], defaultIPv4Pools: ['full'] }),
    ).toEqual([]);
  });

  test('without configured defaults the spec.default pools are judged; with none there is nothing to judge', () => {
    expect(defaultPoolProblems({ ...base, pools: [full, free] })).toEqual([]);
    const fullDefault = { ...full, spec: { ...full.spec, default: true } };
    expect(defaultPoolProblems({ ...base, pools: [fullDefault, free] })).toEqual([
      'no usable IPv4 pool among pools with spec.default: full exhausted (1 of 1 allocated)',
    ]);
  });
});

test("CHECK compares the prevResult's addresses of its own interface", () => {
  const prev = {
    interfaces: [
      { name: 'net1', sandbox: '/var/run/netns/x' },
      { name: 'eth0', sandbox: '/var/run/netns/x' },
    ],
    ips: [
      { address: '10.0.0.5/24', interface: 0 },
      { address: 'fd00::5/64', interface: 0 },
      { address: '10.9.0.5/24', interface: 1 },
    ],
  };
  expect(addressesOfInterface(prev, 'net1')).toEqual(['10.0.0.5/24', 'fd00::5/64']);
  expect(addressesOfInterface({ ips: [{ address: '10.0.0.5/24' }] }, 'net1')).toEqual(['10.0.0.5/24']);
});

describe('asCniError', () => {
  test.each([
    ['an annotation error', new IpamError('InvalidInput', 'bad', { field: 'ipam.spidernet.io/ippool' }), 7],
    ['no pool left', new IpamError('NoCandidatePool', 'none'), 103],
    ['an API refusal', new ApiException(403, 'forbidden', '{"message":"no"}', {}), 105],
    ['an unavailable API server', new ApiException(503, 'down', '', {}), 11],
    [
      'a conflict that outlasted its retries',
      new ApiException(409, 'conflict', '{"reason":"Conflict"}', {}),
      11,
    ],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 11],
    ['a bug', new TypeError('x is undefined'), 100],
  ])('%s', (_what, err, code) => {
    expect(asCniError(err, 'reading pod ns/p').code).toBe(code);
  });

  test('API failures say which call failed', () => {
    expect(
      asCniError(
        new ApiException(403, 'forbidden', '{"message":"pods is forbidden"}', {}),
        'reading pod ns/p',
      ).message,
    ).toBe('reading pod ns/p: pods is forbidden (HTTP 403)');
  });
});
