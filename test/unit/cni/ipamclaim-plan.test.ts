// The plugin's decisions for an attachment keyed to an IPAMClaim, on plain objects: the claim is
// the holder (addresses reused by every pod that references it), a live-migration target shares
// them, a claim being deleted or not for this network serves nothing, and a DEL never frees them.
import type { V1Pod } from '@kubernetes/client-node';
import type { IPAMClaim, SpiderEndpoint } from '../../../api/index.js';
import { type AddInput, planAdd, wantsOf } from '../../../cni/allocation/add-plan.js';
import { planRelease } from '../../../cni/allocation/release-plan.js';
import type { ReleaseRequest } from '../../../cni/allocation/requests.js';
import { ErrorCode } from '../../../cni/protocol/errors.js';
import { pool } from '../ipam/helpers.js';
import { addRequest, cniFailure, switches } from './helpers.js';

const claimSwitches = { ...switches, enableIPv6: false, enableIPAMClaim: true };
const networks = JSON.stringify([
  { name: 'tenant', interface: 'net1', 'ipam-claim-reference': 'vm1.tenant' },
]);

function launcher(uid: string): V1Pod {
  return {
    metadata: {
      namespace: 'ns',
      name: `virt-launcher-vm1-${uid}`,
      uid,
      annotations: {
        'k8s.v1.cni.cncf.io/networks': networks,
        'ipam.spidernet.io/ippools': JSON.stringify([
          { interface: 'eth0', ipv4: ['v4a'] },
          { interface: 'net1', ipv4: ['v4b'] },
        ]),
      },
      ownerReferences: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          name: 'vm1',
          uid: 'vmi',
          controller: true,
        },
      ],
    },
    spec: { containers: [] },
    status: { phase: 'Pending' },
  };
}

const claim = (meta: Partial<IPAMClaim['metadata']> = {}): IPAMClaim => ({
  metadata: { namespace: 'ns', name: 'vm1.tenant', ...meta },
  spec: { network: 'net', interface: '' },
});

const v4a = pool('v4a', { subnet: '198.18.1.0/24', ips: ['198.18.1.10-198.18.1.20'] });
const v4b = pool('v4b', { subnet: '198.18.2.0/24', ips: ['198.18.2.10-198.18.2.20'] });

const stored = { interface: 'net1', ipv4: '198.18.2.12/24', ipv4Pool: 'v4b', cleanGateway: false };
const claimEndpoint: SpiderEndpoint = {
  metadata: { namespace: 'ns', name: 'vm1.tenant', resourceVersion: '3' },
  status: {
    current: { uid: 'old-pod', node: 'node0', ips: [stored] },
    ownerControllerType: 'IPAMClaim',
    ownerControllerName: 'vm1.tenant',
  },
};

const input = (uid: string, over: Partial<AddInput> = {}): AddInput => ({
  request: addRequest({
    ifname: 'net1',
    pod: { namespace: 'ns', name: `virt-launcher-vm1-${uid}`, uid },
    switches: claimSwitches,
  }),
  nodeName: 'node1',
  multus: { multusNamespace: 'kube-system' },
  pod: launcher(uid),
  pools: [v4a, v4b],
  claim: claim(),
  ...over,
});

test('the first pod allocates for the claim, and only the claimed interface', () => {
  const plan = planAdd(input('u1'));
  expect(plan).toMatchObject({
    kind: 'allocate',
    source: 'allocated',
    identity: { key: 'ns/vm1.tenant', kind: 'ipamclaim', static: true, podUid: 'u1' },
  });
  expect(plan.kind === 'allocate' && plan.nics.map((n) => n.nic)).toEqual(['net1']);
});

test("the next pod referencing the claim is served the claim's addresses from its endpoint", () => {
  const plan = planAdd(input('u2', { endpoint: claimEndpoint }));
  expect(plan).toMatchObject({
    kind: 'allocate',
    source: 'endpoint',
    identity: { key: 'ns/vm1.tenant', podUid: 'u2' },
  });
  expect(plan.kind === 'allocate' && plan.nics.map((n) => n.stored)).toEqual([stored]);
});

test('a live-migration target shares the addresses and takes nothing over; before the source has them it retries', () => {
  const target = planAdd(input('u3', { endpoint: claimEndpoint, activeMigration: true }));
  expect(target).toMatchObject({ kind: 'migration-source', identity: { key: 'ns/vm1.tenant' } });
  expect(target.kind === 'migration-source' && target.network.ips.map((ip) => ip.address)).toEqual([
    '198.18.2.12/24',
  ]);
  const early = cniFailure(() => planAdd(input('u3', { activeMigration: true })));
  expect(early.code).toBe(ErrorCode.tryAgainLater);
});

test('a claim being deleted serves no pod; one for another network is a configuration error naming the field', () => {
  const deleting = cniFailure(() =>
    planAdd(input('u4', { claim: claim({ deletionTimestamp: new Date() }) })),
  );
  expect(deleting.code).toBe(ErrorCode.podNotServed);
  expect(deleting.message).toMatch(/IPAMClaim ns\/vm1\.tenant: the IPAMClaim is being deleted/);
  const other = { ...claim(), spec: { network: 'blue', interface: '' } };
  const wrong = cniFailure(() => planAdd(input('u4', { claim: other })));
  expect(wrong.code).toBe(ErrorCode.invalidNetworkConfig);
  expect(wrong.message).toMatch(/spec\.network is "blue"/);
});

test('spec.ipRequests: the want asks its pool for that address; outside the pools or held by another it is refused naming the field', () => {
  const asking = { ...claim(), spec: { network: 'net', interface: '', ipRequests: ['198.18.2.15/24'] } };
  const plan = planAdd(input('u5', { claim: asking }));
  expect(plan.kind === 'allocate' && plan.nics).toEqual([
    { nic: 'net1', cleanGateway: false, families: [{ family: 4, pools: ['v4b'], ip: '198.18.2.15' }] },
  ]);
  expect(plan.kind === 'allocate' && wantsOf(0, plan)).toEqual([
    expect.objectContaining({ nic: 'net1', pools: ['v4b'], ip: '198.18.2.15', owner: 'ns/vm1.tenant' }),
  ]);
  // The address of another pool (eth0's) is not the attachment's.
  const elsewhere = { ...asking, spec: { ...asking.spec, ipRequests: ['198.18.1.15/24'] } };
  const invalid = cniFailure(() => planAdd(input('u5', { claim: elsewhere })));
  expect(invalid.code).toBe(ErrorCode.invalidNetworkConfig);
  expect(invalid.message).toContain(
    'IPAMClaim ns/vm1.tenant: spec.ipRequests: "198.18.1.15/24" is not an address the attachment\'s pools (v4b) hand out',
  );
  const taken = pool('v4b', v4b.spec, {
    allocatedIPs: JSON.stringify({ '198.18.2.15': { pod: 'ns/web', podUid: 'w', nic: 'eth0' } }),
  });
  const held = cniFailure(() => planAdd(input('u5', { claim: asking, pools: [v4a, taken] })));
  expect(held.code).toBe(ErrorCode.addressConflict);
  expect(held.message).toContain('spec.ipRequests: 198.18.2.15 is held by ns/web in pool v4b');
});

test('a claim another live pod holds is refused (108) unless this pod is a migration target; a holder that is going is no obstacle', () => {
  const holder = launcher('old-pod');
  const inUse = cniFailure(() =>
    planAdd(
      input('u6', { endpoint: claimEndpoint, claimHolder: { ...holder, status: { phase: 'Running' } } }),
    ),
  );
  expect(inUse.code).toBe(ErrorCode.claimInUse);
  expect(inUse.message).toBe(
    'IPAMClaim ns/vm1.tenant is held by pod ns/virt-launcher-vm1-old-pod, which is alive; pod ns/virt-launcher-vm1-u6 gets its addresses once that pod is gone',
  );
  const going = { ...holder, metadata: { ...holder.metadata, deletionTimestamp: new Date() } };
  expect(planAdd(input('u6', { endpoint: claimEndpoint, claimHolder: going }))).toMatchObject({
    kind: 'allocate',
    source: 'endpoint',
  });
  const target = planAdd(
    input('u6', { endpoint: claimEndpoint, claimHolder: holder, activeMigration: true }),
  );
  expect(target.kind).toBe('migration-source');
  // ownerPod names a pod the endpoint no longer records as the holder: not in use by it.
  const stale = launcher('other');
  expect(planAdd(input('u6', { endpoint: claimEndpoint, claimHolder: stale })).kind).toBe('allocate');
});

test("a DEL keeps a claim's addresses; an address conflict still gives them back", () => {
  const subject = {
    podUid: 'u1',
    namespace: 'ns',
    podName: 'virt-launcher-vm1-u1',
    name: 'vm1.tenant',
    kind: 'kubevirt-vm' as const,
    podPresent: false,
  };
  const request = (reason: ReleaseRequest['reason']): ReleaseRequest => ({
    verb: 'RELEASE',
    reason,
    pod: { namespace: 'ns', name: subject.podName, uid: 'u1' },
    identity: { key: 'ns/vm1.tenant', static: true },
    switches: claimSwitches,
  });
  expect(planRelease(request('DEL'), subject, { endpoint: claimEndpoint })).toMatchObject({
    kind: 'keep',
    because: 'identity-valid',
  });
  expect(planRelease(request('conflict'), subject, { endpoint: claimEndpoint })).toMatchObject({
    kind: 'release',
    owner: 'ns/vm1.tenant',
  });
});
