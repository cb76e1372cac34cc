import type { SpiderIPPool } from '../../../api/index.js';
import { parseIP } from '../../../ipam/address/ip.js';
import { type AllocationOutcome, allocate } from '../../../ipam/allocation/allocate.js';
import { allocationRequestFor, releaseRequestFor } from '../../../ipam/allocation/for-identity.js';
import { release } from '../../../ipam/allocation/release.js';
import { identityOf } from '../../../ipam/identity/identity.js';
import { decodeRecords } from '../../../ipam/records/codec.js';
import { ipamErrorOf, pool } from './helpers.js';

const base = () =>
  pool('vlan40-v4', {
    subnet: '198.18.40.0/24',
    ips: ['198.18.40.1-198.18.40.10'],
    excludeIPs: ['198.18.40.3'],
    gateway: '198.18.40.1',
  });

/** The pool with a status written back, as the next read would see it. */
function withStatus(p: SpiderIPPool, status: SpiderIPPool['status']): SpiderIPPool {
  return { ...p, status };
}

const ipOf = (o: AllocationOutcome | undefined) => (o && 'ip' in o ? o.ip : `<${o?.kind}>`);

describe('allocate', () => {
  it('hands out addresses after the cursor with the pool prefix, skipping gateway and excludes', () => {
    const p = base();
    const batch = allocate(p, [
      { owner: 'ns/a', podUid: 'ua', nic: 'eth0' },
      { owner: 'ns/b', podUid: 'ub', nic: 'eth0' },
    ]);
    expect(batch.outcomes).toEqual([
      {
        kind: 'allocated',
        pool: 'vlan40-v4',
        family: 4,
        ip: '198.18.40.2',
        address: '198.18.40.2/24',
        prefix: 24,
      },
      {
        kind: 'allocated',
        pool: 'vlan40-v4',
        family: 4,
        ip: '198.18.40.4',
        address: '198.18.40.4/24',
        prefix: 24,
      },
    ]);
    expect(batch.changed).toBe(true);
    expect(batch.status).toMatchObject({
      allocatedIPCount: 2,
      totalIPCount: 9,
      lastAllocatedIP: '198.18.40.4',
    });
    expect(JSON.parse(batch.status.allocatedIPs ?? '')).toEqual({
      '198.18.40.2': { pod: 'ns/a', podUid: 'ua', nic: 'eth0' },
      '198.18.40.4': { pod: 'ns/b', podUid: 'ub', nic: 'eth0' },
    });
  });

  it('returns the same address to a retried request and writes nothing', () => {
    const first = allocate(base(), [{ owner: 'ns/a', podUid: 'ua', nic: 'eth0' }]);
    const again = allocate(withStatus(base(), first.status), [
      { owner: 'ns/a', podUid: 'ua', nic: 'eth0' },
      { owner: 'ns/a', podUid: 'ua', nic: 'eth0' },
    ]);
    expect(again.outcomes.map((o) => [o.kind, ipOf(o)])).toEqual([
      ['reused', '198.18.40.2'],
      ['reused', '198.18.40.2'],
    ]);
    expect(again.changed).toBe(false);
    expect(again.status).toEqual(first.status);
  });

  it('gives two NICs of one pod two addresses of the same pool', () => {
    const batch = allocate(base(), [
      { owner: 'ns/a', podUid: 'ua', nic: 'eth0' },
      { owner: 'ns/a', podUid: 'ua', nic: 'net1' },
    ]);
    expect(batch.outcomes.map(ipOf)).toEqual(['198.18.40.2', '198.18.40.4']);
  });

  it('lets the first NIC adopt a record Spiderpool wrote without a NIC', () => {
    const p = withStatus(base(), {
      allocatedIPs: JSON.stringify({ '198.18.40.7': { pod: 'ns/a', podUid: 'ua' } }),
      allocatedIPCount: 1,
    });
    const batch = allocate(p, [
      { owner: 'ns/a', podUid: 'ua', nic: 'net1' },
      { owner: 'ns/a', podUid: 'ua', nic: 'net2' },
    ]);
    expect(batch.outcomes.map((o) => [o.kind, ipOf(o)])).toEqual([
      ['reused', '198.18.40.7'],
      // No cursor yet (Spiderpool does not write one): the walk starts at the lowest free address.
      ['allocated', '198.18.40.2'],
    ]);
    expect(decodeRecords('p', batch.status.allocatedIPs, 4).find((r) => r.ip === '198.18.40.7')?.nic).toBe(
      'net1',
    );
  });

  it('moves a static identity to its new pod with takeOver, and allocates anew without it', () => {
    const first = allocate(base(), [{ owner: 'vm/db', podUid: 'old', nic: 'eth0' }]);
    const moved = allocate(withStatus(base(), first.status), [
      { owner: 'vm/db', podUid: 'new', nic: 'eth0', takeOver: true },
    ]);
    expect(moved.outcomes[0]).toMatchObject({ kind: 'takenOver', ip: '198.18.40.2', previousPodUid: 'old' });
    expect(decodeRecords('p', moved.status.allocatedIPs, 4)).toMatchObject([
      { ip: '198.18.40.2', podUid: 'new' },
    ]);
    const stateless = allocate(withStatus(base(), first.status), [
      { owner: 'vm/db', podUid: 'new', nic: 'eth0' },
    ]);
    expect(stateless.outcomes[0]).toMatchObject({ kind: 'allocated', ip: '198.18.40.4' });
  });

  it('hands out a requested address only, free and in the pool, and never twice in one batch', () => {
    const batch = allocate(base(), [
      { owner: 'ns/a', podUid: 'ua', nic: 'eth0' },
      { owner: 'ns/claim', podUid: 'uc', nic: 'net1', ip: '198.18.40.5' },
      { owner: 'ns/b', podUid: 'ub', nic: 'eth0' },
      { owner: 'ns/other', podUid: 'uo', nic: 'net1', ip: '198.18.40.5' },
      { owner: 'ns/far', podUid: 'uf', nic: 'net1', ip: '198.18.40.3' },
    ]);
    expect(batch.outcomes.map(ipOf)).toEqual([
      '198.18.40.2',
      '198.18.40.5',
      '198.18.40.4',
      '<exhausted>',
      '<exhausted>',
    ]);
    expect(batch.outcomes[3]).toMatchObject({
      reason: 'requested address 198.18.40.5 is held by ns/claim in pool vlan40-v4',
    });
    // Excluded: not an address the pool hands out.
    expect(batch.outcomes[4]).toMatchObject({
      reason: 'requested address 198.18.40.3 is not one pool vlan40-v4 hands out',
    });
    // The walker goes on past the requested address.
    const next = allocate(withStatus(base(), batch.status), [{ owner: 'ns/c', podUid: 'uc2', nic: 'eth0' }]);
    expect(next.outcomes.map(ipOf)).toEqual(['198.18.40.6']);
  });

  it('reports exhaustion naming the pool, for the one request too many', () => {
    const requests = Array.from({ length: 9 }, (_, i) => ({
      owner: `ns/p${i}`,
      podUid: `u${i}`,
      nic: 'eth0',
    }));
    const batch = allocate(base(), requests);
    const ips = batch.outcomes.slice(0, 8).map(ipOf);
    expect(new Set(ips).size).toBe(8);
    expect(ips.every((ip) => /^198\.18\.40\.\d+$/.test(ip))).toBe(true);
    expect(batch.outcomes[8]).toEqual({
      kind: 'exhausted',
      pool: 'vlan40-v4',
      family: 4,
      reason: 'pool vlan40-v4 has no free IPv4 address (8 allocated)',
    });
    expect(batch.status.allocatedIPCount).toBe(8);
  });

  it('keeps to the record cap per pool', () => {
    const batch = allocate(
      base(),
      [
        { owner: 'ns/a', podUid: 'ua', nic: 'eth0' },
        { owner: 'ns/b', podUid: 'ub', nic: 'eth0' },
      ],
      { maxAllocatedIPs: 1 },
    );
    expect(batch.outcomes[1]).toMatchObject({
      kind: 'exhausted',
      reason: expect.stringMatching(/holds 1 records, the cap of 1 set by ippoolMaxAllocatedIPs in conf.yml/),
    });
  });

  it('refuses new allocations from disabled or terminating pools but still returns held addresses', () => {
    const first = allocate(base(), [{ owner: 'ns/a', podUid: 'ua', nic: 'eth0' }]);
    const disabled = withStatus({ ...base(), spec: { ...base().spec, disable: true } }, first.status);
    const batch = allocate(disabled, [
      { owner: 'ns/a', podUid: 'ua', nic: 'eth0' },
      { owner: 'ns/b', podUid: 'ub', nic: 'eth0' },
    ]);
    expect(batch.outcomes.map((o) => o.kind)).toEqual(['reused', 'unusable']);
    const terminating = withStatus(
      { ...base(), metadata: { name: 'vlan40-v4', deletionTimestamp: new Date() } },
      undefined,
    );
    expect(allocate(terminating, [{ owner: 'ns/b', podUid: 'ub', nic: 'eth0' }]).outcomes[0]).toMatchObject({
      kind: 'unusable',
      reason: 'pool vlan40-v4 is terminating',
    });
  });

  it('never hands out reserved addresses', () => {
    const reserved = [{ start: parseIP('198.18.40.2').value, end: parseIP('198.18.40.8').value }];
    const batch = allocate(
      base(),
      [1, 2, 3].map((i) => ({ owner: `ns/p${i}`, podUid: `u${i}`, nic: 'eth0' })),
      { reserved },
    );
    expect(batch.outcomes.map(ipOf)).toEqual(['198.18.40.9', '198.18.40.10', '<exhausted>']);
  });

  it('refuses malformed requests naming the field', () => {
    expect(
      ipamErrorOf(() => allocate(base(), [{ owner: 'nonamespace', podUid: 'u', nic: 'eth0' }])).message,
    ).toBe('requests[0].owner: expected "<namespace>/<name>", got "nonamespace"');
    expect(ipamErrorOf(() => allocate(base(), [{ owner: 'a/b', podUid: '', nic: 'eth0' }])).field).toBe(
      'requests[0].podUid',
    );
  });

  it('refuses a pool whose spec cannot be parsed, naming it', () => {
    const broken = pool('broken', { subnet: '198.18.0.0/24', ips: ['nonsense'] });
    expect(ipamErrorOf(() => allocate(broken, [{ owner: 'a/b', podUid: 'u', nic: 'eth0' }])).message).toMatch(
      /^pool broken: spec.ips\[0\]/,
    );
  });
});

describe('release', () => {
  const held = () => {
    const batch = allocate(base(), [
      { owner: 'ns/a', podUid: 'ua', nic: 'eth0' },
      { owner: 'ns/a', podUid: 'ua', nic: 'net1' },
      { owner: 'vm/db', podUid: 'launcher-2', nic: 'eth0' },
    ]);
    return withStatus(base(), batch.status);
  };

  it('releases only what the same pod UID holds, and is idempotent', () => {
    const stale = release(held(), [{ owner: 'vm/db', podUid: 'launcher-1' }]);
    expect(stale.released).toEqual([[]]);
    expect(stale.changed).toBe(false);
    const mine = release(held(), [{ owner: 'ns/a', podUid: 'ua' }]);
    expect(mine.released[0]?.map((r) => r.ip)).toEqual(['198.18.40.2', '198.18.40.4']);
    expect(mine.status.allocatedIPCount).toBe(1);
    const again = release(withStatus(base(), mine.status), [{ owner: 'ns/a', podUid: 'ua' }]);
    expect(again.released).toEqual([[]]);
  });

  it('narrows to one NIC or one address', () => {
    expect(
      release(held(), [{ owner: 'ns/a', podUid: 'ua', nic: 'net1' }]).released[0]?.map((r) => r.ip),
    ).toEqual(['198.18.40.4']);
    expect(
      release(held(), [{ owner: 'ns/a', podUid: 'ua', ip: '198.18.40.2' }]).released[0]?.map((r) => r.nic),
    ).toEqual(['eth0']);
  });

  it('releases a gone identity by owner when forced', () => {
    const batch = release(held(), [{ owner: 'vm/db', force: true }]);
    expect(batch.released[0]?.map((r) => r.podUid)).toEqual(['launcher-2']);
  });

  it('removes the field when the last record goes', () => {
    const batch = release(held(), [
      { owner: 'ns/a', podUid: 'ua' },
      { owner: 'vm/db', force: true },
    ]);
    expect(batch.status.allocatedIPs).toBeUndefined();
    expect(batch.status.allocatedIPCount).toBe(0);
  });

  it('works on disabled pools and on pools whose spec no longer parses', () => {
    const p = held();
    const broken = { ...p, spec: { ...p.spec, ips: ['nonsense'], disable: true } };
    const batch = release(broken, [{ owner: 'ns/a', podUid: 'ua' }]);
    expect(batch.released[0]).toHaveLength(2);
    expect(batch.status.allocatedIPCount).toBe(1);
  });

  it('does not hand a just-released address out next', () => {
    const p = held(); // .2 .4 .5 held, cursor at .5
    const freed = release(p, [{ owner: 'vm/db', podUid: 'launcher-2' }]); // frees .5
    const next = allocate(withStatus(base(), freed.status), [{ owner: 'ns/c', podUid: 'uc', nic: 'eth0' }]);
    expect(ipOf(next.outcomes[0])).toBe('198.18.40.6');
    // Wrap-around case: the cursor sits just before the released address.
    const full = allocate(
      base(),
      Array.from({ length: 8 }, (_, i) => ({ owner: `ns/p${i}`, podUid: `u${i}`, nic: 'eth0' })),
    );
    const freeTwo = release(withStatus(base(), full.status), [
      { owner: 'ns/p0', podUid: 'u0' },
      { owner: 'ns/p4', podUid: 'u4' },
    ]);
    const reuse = allocate(withStatus(base(), freeTwo.status), [
      { owner: 'ns/x', podUid: 'ux', nic: 'eth0' },
    ]);
    // p0 held .2 and p4 held .7; .7 went last, so .2 comes back first.
    expect(ipOf(reuse.outcomes[0])).toBe('198.18.40.2');
    const freeOneMore = release(withStatus(base(), reuse.status), [{ owner: 'ns/p1', podUid: 'u1' }]); // .4
    const reuse2 = allocate(withStatus(base(), freeOneMore.status), [
      { owner: 'ns/y', podUid: 'uy', nic: 'eth0' },
    ]);
    expect(ipOf(reuse2.outcomes[0])).toBe('198.18.40.7');
  });

  it('refuses a release without a pod UID unless forced', () => {
    expect(ipamErrorOf(() => release(held(), [{ owner: 'ns/a' }])).field).toBe('requests[0].podUid');
  });
});

describe('requests for an identity', () => {
  const switches = { enableKubevirtStaticIP: true, enableStatefulSet: true };
  const launcher = (uid: string) =>
    identityOf(
      {
        metadata: {
          name: `virt-launcher-vm1-${uid}`,
          namespace: 'vms',
          uid,
          ownerReferences: [
            {
              apiVersion: 'kubevirt.io/v1',
              kind: 'VirtualMachineInstance',
              name: 'vm1',
              uid: 'x',
              controller: true,
            },
          ],
        },
      },
      switches,
    );

  it('keeps a VM on its address across launcher pods, and releases only the current holder', () => {
    const first = allocate(base(), [allocationRequestFor(launcher('aaaaa'), 'eth0')]);
    const second = allocate(withStatus(base(), first.status), [
      allocationRequestFor(launcher('bbbbb'), 'eth0'),
    ]);
    expect(second.outcomes[0]).toMatchObject({
      kind: 'takenOver',
      ip: '198.18.40.2',
      previousPodUid: 'aaaaa',
    });
    const stale = release(withStatus(base(), second.status), [releaseRequestFor(launcher('aaaaa'))]);
    expect(stale.released).toEqual([[]]);
    const gone = release(withStatus(base(), second.status), [
      releaseRequestFor(launcher('ccccc'), { force: true }),
    ]);
    expect(gone.released[0]?.map((r) => r.ip)).toEqual(['198.18.40.2']);
  });

  it('gives a stateless pod recreated under the same name a new address', () => {
    const pod = (uid: string) => identityOf({ metadata: { name: 'web', namespace: 'ns', uid } }, switches);
    const first = allocate(base(), [allocationRequestFor(pod('u1'), 'eth0')]);
    const second = allocate(withStatus(base(), first.status), [allocationRequestFor(pod('u2'), 'eth0')]);
    expect(second.outcomes[0]).toMatchObject({ kind: 'allocated', ip: '198.18.40.4' });
    expect(releaseRequestFor(pod('u1'), { nic: 'eth0' })).toEqual({
      owner: 'ns/web',
      podUid: 'u1',
      nic: 'eth0',
    });
  });
});
