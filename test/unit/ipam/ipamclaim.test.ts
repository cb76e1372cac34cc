// IPAMClaim as a holder of addresses, on plain objects: the reference read from the network
// selection element of the attachment, the claim's identity, validity and status, and the GC rules
// for records keyed to a claim.
import type { V1Pod } from '@kubernetes/client-node';
import type { IPAMClaim, SpiderEndpoint } from '../../../api/index.js';
import { endpointVerdict, holderVerdict, type OwnerFacts } from '../../../ipam/gc/verdict.js';
import {
  claimIdentity,
  claimMismatch,
  claimReferenceOf,
  claimStatusAfter,
  claimValidity,
} from '../../../ipam/identity/ipamclaim.js';
import { identityKindFromObjects } from '../../../ipam/identity/validity.js';
import { parseNetworks } from '../../../ipam/multus/networks.js';

const multus = { multusNamespace: 'kube-system' };
const vmiRef = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  name: 'vm1',
  uid: 'vmi-uid',
  controller: true,
};

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

  test('must be for the network configuration and interface of the attachment, without ipRequests', () => {
    expect(claimMismatch(claim(), 'tenant', 'net1')).toBeUndefined();
    expect(claimMismatch(claim({}, { interface: 'net1' }), 'tenant', 'net1')).toBeUndefined();
    expect(claimMismatch(claim(), 'blue', 'net1')).toMatch(/spec\.network is "tenant".*named "blue"/);
    expect(claimMismatch(claim({}, { interface: 'net2' }), 'tenant', 'net1')).toMatch(
      /spec\.interface is "net2".*"net1"/,
    );
    expect(claimMismatch(claim({}, { ipRequests: ['198.18.0.5/24'] }), 'tenant', 'net1')).toMatch(
      /spec\.ipRequests .*198\.18\.0\.5\/24.* not supported/,
    );
  });

  test('status lists the CIDRs and the pod they went to; unchanged when it says so already', () => {
    const status = claimStatusAfter(claim(), ['198.18.0.5/24', 'fd00::5/64'], 'pod-a');
    expect(status).toEqual({ ips: ['198.18.0.5/24', 'fd00::5/64'], ownerPod: 'pod-a' });
    const written = { ...claim(), status: status as NonNullable<IPAMClaim['status']> };
    expect(claimStatusAfter(written, ['198.18.0.5/24', 'fd00::5/64'], 'pod-a')).toBeUndefined();
    expect(claimStatusAfter(written, ['198.18.0.5/24', 'fd00::5/64'], 'pod-b')?.ownerPod).toBe('pod-b');
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
