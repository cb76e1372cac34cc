// IPAMClaim as a holder of addresses, on plain objects: the reference read from the network
// selection element of the attachment, the claim's identity, validity and status, and the GC rules
// for records keyed to a claim.
import type { V1Pod } from '@kubernetes/client-node';
import type { IPAMClaim, SpiderEndpoint, SpiderIPPool } from '../../../api/index.js';
import { endpointVerdict, holderVerdict, type OwnerFacts } from '../../../ipam/gc/verdict.js';
import { claimStatusAfterFailure } from '../../../ipam/identity/claim-condition.js';
import { claimRequestedAddresses } from '../../../ipam/identity/claim-requests.js';
import {
  claimIdentity,
  claimMismatch,
  claimReferenceOf,
  claimStatusAfter,
  claimValidity,
} from '../../../ipam/identity/ipamclaim.js';
import { identityKindFromObjects } from '../../../ipam/identity/validity.js';
import { parseNetworks } from '../../../ipam/multus/networks.js';
import { vmiRef } from './helpers.js';

const multus = { multusNamespace: 'kube-system' };

function launcher(uid: string, networks?: unknown, status: V1Pod['status'] = { phase: 'Running' }): V1Pod {
  return {
    metadata: {
      namespace: 'ns',
      name: `virt-launcher-vm1-${uid}`,
      uid,
      ownerReferences: [vmiRef],
      ...(networks ? { annotations: { 'k8s.v1.cni.cncf.io/networks': JSON.stringify(networks) } } : {}),
    },
    spec: { containers: [], restartPolicy: 'Never' },
    status,
  };
}

const claim = (
  extra: Partial<IPAMClaim['metadata']> = {},
  spec: Partial<IPAMClaim['spec']> = {},
): IPAMClaim => ({
  metadata: { namespace: 'ns', name: 'vm1.tenant', ...extra },
  spec: { network: 'tenant', interface: '', ...spec },
});

describe('the reference in the network selection element', () => {
  const networks = [
    { name: 'other', interface: 'net1' },
    { name: 'tenant', namespace: 'ns', interface: 'pod16367aacb67', 'ipam-claim-reference': 'vm1.tenant' },
  ];

  test('is parsed from the JSON form and found for the element attached as that interface', () => {
    expect(parseNetworks(JSON.stringify(networks), 'ns')[1]?.ipamClaimReference).toBe('vm1.tenant');
    expect(claimReferenceOf(launcher('u1', networks), 'pod16367aacb67', multus)).toBe('vm1.tenant');
    expect(claimReferenceOf(launcher('u1', networks), 'net1', multus)).toBeUndefined();
  });

  test('an element without an interface is found at its position (net<N>)', () => {
    const positional = [{ name: 'a' }, { name: 'tenant', 'ipam-claim-reference': 'c2' }];
    expect(claimReferenceOf(launcher('u1', positional), 'net2', multus)).toBe('c2');
  });

  test('pods whose annotations never mention it are not parsed', () => {
    const pod = launcher('u1');
    pod.metadata = { ...pod.metadata, annotations: { 'k8s.v1.cni.cncf.io/networks': '[not json' } };
    expect(claimReferenceOf(pod, 'net1', multus)).toBeUndefined();
  });

  test('a reference that is not a non-empty string is refused naming the field', () => {
    const bad = JSON.stringify([{ name: 'tenant', 'ipam-claim-reference': 7 }]);
    expect(() => parseNetworks(bad, 'ns')).toThrow(
      /k8s\.v1\.cni\.cncf\.io\/networks\[0\]\.ipam-claim-reference.*expected a non-empty string/,
    );
  });
});

describe('the claim', () => {
  test('is a static identity keyed by its name in the pod namespace', () => {
    const id = claimIdentity(launcher('u1'), 'vm1.tenant');
    expect(id).toMatchObject({
      key: 'ns/vm1.tenant',
      name: 'vm1.tenant',
      kind: 'ipamclaim',
      static: true,
      ownerControllerType: 'IPAMClaim',
      podUid: 'u1',
      endpointOwnedByPod: false,
    });
  });

  test('is valid while it exists and is not being deleted', () => {
    expect(claimValidity(claim()).valid).toBe(true);
    expect(claimValidity(claim({ deletionTimestamp: new Date() }))).toEqual({
      valid: false,
      reason: 'the IPAMClaim is being deleted',
    });
    expect(claimValidity(undefined).valid).toBe(false);
  });

  test('must be for the network configuration and interface of the attachment', () => {
    expect(claimMismatch(claim(), 'tenant', 'net1')).toBeUndefined();
    expect(claimMismatch(claim({}, { interface: 'net1' }), 'tenant', 'net1')).toBeUndefined();
    expect(claimMismatch(claim(), 'blue', 'net1')).toMatch(/spec\.network is "tenant".*named "blue"/);
    expect(claimMismatch(claim({}, { interface: 'net2' }), 'tenant', 'net1')).toMatch(
      /spec\.interface is "net2".*"net1"/,
    );
    expect(claimMismatch(claim({}, { ipRequests: ['198.18.0.5/24'] }), 'tenant', 'net1')).toBeUndefined();
  });

  test('status lists the CIDRs, the pod they went to and IPsAllocated True; unchanged when it says so already', () => {
    const at = new Date('2026-01-01T10:00:00.123Z');
    const status = claimStatusAfter(claim({ generation: 1 }), ['198.18.0.5/24', 'fd00::5/64'], 'pod-a', at);
    expect(status).toEqual({
      ips: ['198.18.0.5/24', 'fd00::5/64'],
      ownerPod: 'pod-a',
      conditions: [
        {
          type: 'IPsAllocated',
          status: 'True',
          reason: 'SuccessfulAllocation',
          message: 'allocated 198.18.0.5/24, fd00::5/64',
          lastTransitionTime: '2026-01-01T10:00:00Z',
          observedGeneration: 1,
        },
      ],
    });
    const written = { ...claim({ generation: 1 }), status: status as NonNullable<IPAMClaim['status']> };
    const later = new Date('2026-01-01T11:00:00Z');
    expect(claimStatusAfter(written, ['198.18.0.5/24', 'fd00::5/64'], 'pod-a', later)).toBeUndefined();
    const moved = claimStatusAfter(written, ['198.18.0.5/24', 'fd00::5/64'], 'pod-b', later);
    expect(moved?.ownerPod).toBe('pod-b');
    // Still True: the transition time stays.
    expect(moved?.conditions?.[0]?.lastTransitionTime).toBe('2026-01-01T10:00:00Z');
  });

  test('a failed ADD makes IPsAllocated False with the reason, keeping the addresses; the transition time moves only with the status', () => {
    const t1 = new Date('2026-01-01T10:00:00Z');
    const t2 = new Date('2026-01-01T10:05:00Z');
    const t3 = new Date('2026-01-01T10:09:00Z');
    const fresh = claimStatusAfterFailure(
      claim({ generation: 1 }),
      'PoolExhausted',
      'every pool is exhausted',
      t1,
    );
    expect(fresh).toEqual({
      ips: [],
      ownerPod: '',
      conditions: [
        {
          type: 'IPsAllocated',
          status: 'False',
          reason: 'PoolExhausted',
          message: 'every pool is exhausted',
          lastTransitionTime: '2026-01-01T10:00:00Z',
          observedGeneration: 1,
        },
      ],
    });
    const failed = { ...claim({ generation: 1 }), status: fresh as NonNullable<IPAMClaim['status']> };
    expect(claimStatusAfterFailure(failed, 'PoolExhausted', 'every pool is exhausted', t2)).toBeUndefined();
    const other = claimStatusAfterFailure(failed, 'NoPoolSelected', 'no pool is usable', t2);
    expect(other?.conditions?.[0]).toMatchObject({
      reason: 'NoPoolSelected',
      lastTransitionTime: '2026-01-01T10:00:00Z',
    });
    const fixed = claimStatusAfter(failed, ['198.18.0.5/24'], 'pod-a', t3);
    expect(fixed?.conditions).toHaveLength(1);
    expect(fixed?.conditions?.[0]).toMatchObject({
      status: 'True',
      lastTransitionTime: '2026-01-01T10:09:00Z',
    });
    const held = { ...claim({ generation: 1 }), status: fixed as NonNullable<IPAMClaim['status']> };
    expect(claimStatusAfterFailure(held, 'AllocationFailed', 'the API server failed', t3)).toMatchObject({
      ips: ['198.18.0.5/24'],
      ownerPod: 'pod-a',
    });
  });

  test('a changed generation is observed again; other condition types are kept', () => {
    const at = new Date('2026-01-01T10:00:00Z');
    const withOther: IPAMClaim = {
      ...claim({ generation: 1 }),
      status: {
        ips: [],
        ownerPod: '',
        conditions: [
          {
            type: 'Other',
            status: 'True',
            reason: 'R',
            message: '',
            lastTransitionTime: '2025-01-01T00:00:00Z',
          },
        ],
      },
    };
    const first = claimStatusAfterFailure(withOther, 'PoolExhausted', 'full', at);
    expect(first?.conditions?.map((c) => c.type)).toEqual(['Other', 'IPsAllocated']);
    const bumped = {
      ...withOther,
      metadata: { ...withOther.metadata, generation: 2 },
      status: first as NonNullable<IPAMClaim['status']>,
    };
    expect(
      claimStatusAfterFailure(bumped, 'PoolExhausted', 'full', at)?.conditions?.[1]?.observedGeneration,
    ).toBe(2);
  });
});

describe('spec.ipRequests', () => {
  const tenant = (allocatedIPs?: Record<string, unknown>): SpiderIPPool => ({
    metadata: { name: 'tenant-v4' },
    spec: { subnet: '198.18.30.0/24', ips: ['198.18.30.10-198.18.30.20'] },
    ...(allocatedIPs ? { status: { allocatedIPs: JSON.stringify(allocatedIPs) } } : {}),
  });
  const v6: SpiderIPPool = {
    metadata: { name: 'tenant-v6' },
    spec: { subnet: 'fd00:30::/64', ips: ['fd00:30::10-fd00:30::20'] },
  };
  const families = (v4: SpiderIPPool) => [
    { family: 4 as const, pools: [v4] },
    { family: 6 as const, pools: [v6] },
  ];
  const asking = (...ipRequests: string[]) => claim({ namespace: 'ns' }, { ipRequests });

  test('each requested address is served from the pool of its family that hands it out', () => {
    expect(
      claimRequestedAddresses(
        asking('198.18.30.12/24', 'fd00:30::15/64'),
        families(tenant()),
        'ns/vm1.tenant',
      ),
    ).toEqual({
      ok: true,
      addresses: [
        { family: 4, ip: '198.18.30.12', pool: 'tenant-v4' },
        { family: 6, ip: 'fd00:30::15', pool: 'tenant-v6' },
      ],
    });
    // The claim's own record (a retry, its next pod) is no obstacle.
    const own = tenant({ '198.18.30.12': { pod: 'ns/vm1.tenant', podUid: 'u1', nic: 'net1' } });
    expect(claimRequestedAddresses(asking('198.18.30.12/24'), families(own), 'ns/vm1.tenant').ok).toBe(true);
  });

  test('an address outside the pools, of another prefix, or held by another is refused naming the field and value', () => {
    const outcome = (c: IPAMClaim, v4 = tenant()) =>
      claimRequestedAddresses(c, families(v4), 'ns/vm1.tenant');
    expect(outcome(asking('198.18.30.99/24'))).toEqual({
      ok: false,
      kind: 'invalid',
      message:
        'IPAMClaim ns/vm1.tenant: spec.ipRequests: "198.18.30.99/24" is not an address the attachment\'s pools (tenant-v4) hand out',
    });
    expect(outcome(asking('198.18.30.12/16'))).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('"198.18.30.12/16": pool tenant-v4 has prefix length 24'),
    });
    expect(outcome(asking('198.18.30.12'))).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('spec.ipRequests: "198.18.30.12" is not a CIDR'),
    });
    expect(
      claimRequestedAddresses(asking('fd00:30::15/64'), [{ family: 4, pools: [tenant()] }], 'ns/x'),
    ).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('the attachment has no IPv6 pool'),
    });
    const held = tenant({ '198.18.30.12': { pod: 'ns/other', podUid: 'u9', nic: 'eth0' } });
    expect(outcome(asking('198.18.30.12/24'), held)).toEqual({
      ok: false,
      kind: 'held',
      message: 'IPAMClaim ns/vm1.tenant: spec.ipRequests: 198.18.30.12 is held by ns/other in pool tenant-v4',
    });
  });
});

describe('GC of records keyed to a claim', () => {
  const switches = { enableKubevirtStaticIP: true, enableStatefulSet: true };
  const ctx = { switches, nowMs: Date.parse('2026-01-01T00:00:00Z') };
  const owner = { namespace: 'ns', name: 'vm1.tenant' };
  const endpoint: SpiderEndpoint = {
    metadata: { namespace: 'ns', name: 'vm1.tenant', uid: 'ep' },
    status: {
      current: {
        uid: 'u1',
        node: 'node-1',
        ips: [{ interface: 'net1', ipv4: '198.18.0.5/24', ipv4Pool: 'p' }],
      },
      ownerControllerType: 'IPAMClaim',
      ownerControllerName: 'vm1.tenant',
    },
  } as SpiderEndpoint;
  const facts = (pods: V1Pod[], more: Omit<OwnerFacts, 'podByUid'> = {}): OwnerFacts => ({
    podByUid: (uid) => pods.find((p) => p.metadata?.uid === uid),
    endpoint,
    ...more,
  });

  test('the endpoint says a claim holds them, whatever the switches', () => {
    expect(identityKindFromObjects('vm1.tenant', { endpoint }, switches)).toBe('ipamclaim');
    expect(
      identityKindFromObjects(
        'vm1.tenant',
        { claim: claim() },
        { ...switches, enableKubevirtStaticIP: false },
      ),
    ).toBe('ipamclaim');
  });

  test('a live holder keeps them, the claim gone or not', () => {
    expect(holderVerdict(owner, 'u1', facts([launcher('u1')]), ctx).release).toBe(false);
  });

  test('a holder gone keeps them while the claim exists', () => {
    const v = holderVerdict(owner, 'u1', facts([], { claim: claim() }), ctx);
    expect(v).toEqual({ release: false, reason: 'the IPAMClaim keeps its addresses: the IPAMClaim exists' });
  });

  test("a finished launcher pod keeps them while the claim exists: the VM's own rule does not apply", () => {
    const done = launcher('u1', undefined, { phase: 'Succeeded' });
    expect(holderVerdict(owner, 'u1', facts([done], { claim: claim() }), ctx).release).toBe(false);
  });

  test('the claim gone and the holder gone or finished: released (confirmed by fresh reads), endpoint deleted', () => {
    expect(holderVerdict(owner, 'u1', facts([]), ctx)).toEqual({
      release: true,
      reason: 'the IPAMClaim is gone',
      gcReason: 'ipamclaim-gone',
      confirm: true,
    });
    const done = launcher('u1', undefined, { phase: 'Succeeded' });
    expect(holderVerdict(owner, 'u1', facts([done]), ctx)).toMatchObject({
      release: true,
      gcReason: 'ipamclaim-gone',
    });
    expect(endpointVerdict(owner, facts([done]), ctx)).toMatchObject({
      delete: true,
      reason: 'the IPAMClaim is gone',
    });
    expect(endpointVerdict(owner, facts([launcher('u1')]), ctx)).toEqual({ delete: false });
  });
});
