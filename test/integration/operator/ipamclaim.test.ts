// IPAMClaim (k8s.cni.cncf.io/v1alpha1) on the real control plane: the CRD as the cdk8s app emits it
// with ipam.enableIPAMClaim=true, its RBAC rules granted to the plugin's and operator's service
// accounts, the compiled plugin's ADD and DEL for launcher pods whose network selection element
// carries `ipam-claim-reference` (as kubevirt-ipam-controller's webhook writes it), and the operator
// (conf.yml enableIPAMClaim) freeing a deleted claim's addresses. docs/ipamclaim.md is the design.
import { CustomObjectsApi, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { ipamClaimCrd } from '../../../api/crds.js';
import {
  type IPAMClaim,
  ipamClaimGroup,
  ipamClaimKind,
  ipamClaimVersion,
  kubevirtApiVersion,
} from '../../../api/index.js';
import { installDefaults, objectNames } from '../../../api/install/names.js';
import { ipamClaimCniRules, ipamClaimOperatorRules } from '../../../cdk8s/charts/rbac.js';
import { isNotFound } from '../../../kube/errors.js';
import { uniqueName } from '../../harness/clients.js';
import { applyCrds } from '../../harness/crds.js';
import { eventually } from '../../harness/wait.js';
import type { PluginSwitches } from './fixtures/compiled-plugin.js';
import { ctlRun } from './fixtures/ctl-run.js';
import { bare, endpointDeleted, releaseLogged, useOperatorWorld } from './fixtures/ipam-world.js';
import {
  createVMI as createVMIIn,
  createVM as createVMIn,
  type KubeVirtObject,
  kubevirtResource,
  launcherPod,
} from './fixtures/kubevirt-objects.js';
import { grant } from './fixtures/rbac-grant.js';

let objects: CustomObjectsApi;

/** The network configuration's name the compiled-plugin fixture uses: the claims' spec.network. */
const network = 'spiderpool-test';
const claimsOn = { enableIPAMClaim: true } as PluginSwitches;

const bed = useOperatorWorld({
  world: { kubevirt: true },
  prepare: async (world) => {
    await applyCrds(world.cluster.kc, [ipamClaimCrd]);
    const rbac = world.cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await grant(rbac, installDefaults.cniServiceAccount, ipamClaimCniRules());
    await grant(rbac, installDefaults.operatorServiceAccount, ipamClaimOperatorRules());
  },
  namespace: 'claim',
  pool: { subnet: '198.18.30.0/24', ips: ['198.18.30.10-198.18.30.250'] },
  operator: {
    identity: 'ipamclaim-op',
    conf: { enableIPAMClaim: true, gc: { intervalSeconds: 3600 } },
    args: ['--log-level=debug'],
  },
});

beforeAll(() => {
  objects = bed.world.cluster.kc.makeApiClient(CustomObjectsApi);
});

const claimResource = () => ({
  group: ipamClaimGroup,
  version: ipamClaimVersion,
  plural: ipamClaimKind.plural,
  namespace: bed.ns,
});

/** An IPAMClaim as kubevirt-ipam-controller creates it: `<vm>.<network>`, no spec.interface. */
async function createClaim(name: string, ipRequests?: string[]): Promise<IPAMClaim> {
  return (await objects.createNamespacedCustomObject({
    ...claimResource(),
    body: {
      apiVersion: `${ipamClaimGroup}/${ipamClaimVersion}`,
      kind: ipamClaimKind.kind,
      metadata: { name },
      spec: { network, interface: '', ...(ipRequests ? { ipRequests } : {}) },
    },
  })) as IPAMClaim;
}

async function readClaim(name: string): Promise<IPAMClaim | undefined> {
  try {
    return (await objects.getNamespacedCustomObject({ ...claimResource(), name })) as IPAMClaim;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

let launchers = 0;

/**
 * A virt-launcher pod whose secondary network's selection element references `claim`, as
 * kubevirt-ipam-controller's mutating webhook writes it (a migration target carries KubeVirt's marks).
 */
async function launcher(vmi: KubeVirtObject, claim: string, migration?: KubeVirtObject): Promise<V1Pod> {
  const element = { name: 'tenant', namespace: bed.ns, interface: 'net1', 'ipam-claim-reference': claim };
  return bed.world.fixtures.core.createNamespacedPod({
    namespace: bed.ns,
    body: launcherPod(vmi, {
      name: `virt-launcher-${vmi.metadata.name}-${launchers++}`,
      node: migration ? 'node-b' : 'node-a',
      migration,
      annotations: { 'k8s.v1.cni.cncf.io/networks': JSON.stringify([element]) },
    }),
  });
}

/** The end of a successful migration as KubeVirt writes it: the VMI's migrationState, the VMIM's phase. */
async function finishMigration(
  vmi: KubeVirtObject,
  vmim: KubeVirtObject,
  pods: { sourcePod: string; targetPod: string },
) {
  const resource = (kind: 'vmi' | 'vmim', name: string) => ({ ...kubevirtResource(kind, bed.ns), name });
  const migrationState = {
    ...pods,
    migrationUid: vmim.metadata.uid,
    sourceNode: 'node-a',
    targetNode: 'node-b',
    completed: true,
  };
  const fresh = (await objects.getNamespacedCustomObject(
    resource('vmi', vmi.metadata.name),
  )) as KubeVirtObject;
  await objects.replaceNamespacedCustomObject({
    ...resource('vmi', vmi.metadata.name),
    body: { ...fresh, status: { ...(fresh.status ?? {}), migrationState } },
  });
  const m = (await objects.getNamespacedCustomObject(resource('vmim', vmim.metadata.name))) as KubeVirtObject;
  await objects.replaceNamespacedCustomObjectStatus({
    ...resource('vmim', vmim.metadata.name),
    body: { ...m, status: { phase: 'Succeeded', migrationState } },
  });
}

async function setPodPhase(pod: V1Pod, phase: string): Promise<void> {
  const current = await bed.world.fixtures.core.readNamespacedPod({ name: nameOf(pod), namespace: bed.ns });
  await bed.world.fixtures.core.replaceNamespacedPodStatus({
    name: nameOf(pod),
    namespace: bed.ns,
    body: { ...current, status: { ...current.status, phase } },
  });
}

const add = async (pod: V1Pod) =>
  bare(await bed.world.plugin.add(pod, bed.pool, { nic: 'net1', switches: claimsOn }));

async function holders(): Promise<Map<string, { pod: string; podUid: string }>> {
  const state = await bed.world.fixtures.poolState(bed.pool);
  return new Map(state.records.map((r) => [r.ip, { pod: r.pod, podUid: r.podUid }]));
}

const uidOf = (pod: V1Pod) => pod.metadata?.uid as string;
const nameOf = (pod: V1Pod) => pod.metadata?.name as string;

/** A VM with its VMI and a claim for its secondary network. */
async function vmWithClaim(ipRequests?: string[]) {
  const name = uniqueName('vm');
  const vm = await createVMIn(objects, bed.ns, name);
  const vmi = await createVMIIn(objects, bed.ns, name, vm);
  const claim = `${name}.tenant`;
  await createClaim(claim, ipRequests);
  return { name, vm, vmi, claim };
}

test('launcher pods referencing one claim keep its address across pod recreation and a migration; deleting the claim frees it once', async () => {
  const { vmi, claim } = await vmWithClaim();
  const first = await launcher(vmi, claim);
  const ip = await add(first);
  // The records and the endpoint are the claim's, not the VM's or the pod's.
  expect((await holders()).get(ip)).toEqual({ pod: `${bed.ns}/${claim}`, podUid: uidOf(first) });
  const endpoint = await bed.world.fixtures.endpoint(bed.ns, claim);
  expect(endpoint?.status).toMatchObject({ ownerControllerType: 'IPAMClaim', ownerControllerName: claim });
  expect(await bed.world.fixtures.endpoint(bed.ns, vmi.metadata.name)).toBeUndefined();
  // The claim's status says so, as upstream's CRD has it (CIDR strings, the pod's name).
  expect((await readClaim(claim))?.status).toMatchObject({ ips: [`${ip}/24`], ownerPod: nameOf(first) });

  // The pod goes (KubeVirt deletes it), the runtime's DEL follows: the claim keeps the address.
  await bed.world.fixtures.deletePod(bed.ns, nameOf(first));
  await bed.world.plugin.del(first, bed.pool, { nic: 'net1', switches: claimsOn });
  await bed.op.waitForLog(
    'the operator judged the claim after the pod went and kept it',
    (l) =>
      l.msg === 'addresses kept' &&
      l.object === `${bed.ns}/${claim}` &&
      l.podUid === uidOf(first) &&
      String(l.reason).startsWith('the IPAMClaim keeps its addresses'),
  );
  expect((await holders()).get(ip)).toEqual({ pod: `${bed.ns}/${claim}`, podUid: uidOf(first) });

  // The next launcher pod gets the same address and becomes its holder.
  const second = await launcher(vmi, claim);
  expect(await add(second)).toBe(ip);
  expect((await holders()).get(ip)?.podUid).toBe(uidOf(second));
  expect((await readClaim(claim))?.status).toMatchObject({ ips: [`${ip}/24`], ownerPod: nameOf(second) });

  // A live-migration target is given the address while the source runs, and takes nothing over.
  const vmim = (await objects.createNamespacedCustomObject({
    ...kubevirtResource('vmim', bed.ns),
    body: {
      apiVersion: kubevirtApiVersion,
      kind: 'VirtualMachineInstanceMigration',
      metadata: { name: uniqueName('mig') },
      spec: { vmiName: vmi.metadata.name },
    },
  })) as KubeVirtObject;
  const target = await launcher(vmi, claim, vmim);
  expect(await add(target)).toBe(ip);
  expect((await holders()).get(ip)?.podUid).toBe(uidOf(second));
  expect((await readClaim(claim))?.status?.ownerPod).toBe(nameOf(second));

  // The migration succeeds (as virt-handler and virt-controller write it): the operator makes the
  // target the holder, in the records and in the claim's status.
  await finishMigration(vmi, vmim, { sourcePod: nameOf(second), targetPod: nameOf(target) });
  await eventually(
    'the target holds the address',
    async () => (await holders()).get(ip)?.podUid === uidOf(target),
    {
      timeoutMs: 15_000,
    },
  );
  await eventually(
    "the claim's status names the target",
    async () => (await readClaim(claim))?.status?.ownerPod === nameOf(target),
  );
  expect((await readClaim(claim))?.status?.ips).toEqual([`${ip}/24`]);
  await setPodPhase(second, 'Succeeded');

  // The claim deleted while its holder runs: the address stays with the live pod.
  const deleted = Date.now();
  await objects.deleteNamespacedCustomObject({ ...claimResource(), name: claim });
  await bed.op.waitForLog(
    'the operator judged the deleted claim and kept the address for its live holder',
    (l) =>
      l.msg === 'addresses kept' &&
      l.object === `${bed.ns}/${claim}` &&
      Date.parse(l.time) >= deleted &&
      String(l.reason).includes('is alive'),
  );
  expect((await holders()).get(ip)?.podUid).toBe(uidOf(target));

  // The pods go: the address and the claim's endpoint are freed, by one release.
  await bed.world.fixtures.deletePod(bed.ns, nameOf(target));
  await bed.world.fixtures.deletePod(bed.ns, nameOf(second));
  await eventually('the address freed', async () => !(await holders()).has(ip), { timeoutMs: 15_000 });
  await endpointDeleted(bed, claim);
  const release = await releaseLogged(bed, claim);
  expect(release.reason).toBe('ipamclaim-gone');
  // The runtime's DEL of the last holder comes after the operator's release: nothing more is freed.
  await bed.world.plugin.del(second, bed.pool, { nic: 'net1', switches: claimsOn });
  expect(
    bed.op.find((l) => l.msg === 'addresses released' && l.object === `${bed.ns}/${claim}`),
  ).toHaveLength(1);
}, 120_000);

const allocated = async (claim: string) =>
  (await readClaim(claim))?.status?.conditions?.find((c) => c.type === 'IPsAllocated');

test("the claim's IPsAllocated condition: True once allocated, False with the reason while its pool is full, True again once it has room", async () => {
  const small = await bed.world.fixtures.pool({ subnet: '198.18.31.0/24', ips: ['198.18.31.10'] });
  // A plain pod takes the pool's only address.
  const other = await bed.world.fixtures.pod({ namespace: bed.ns, nodeName: 'node-a' });
  await bed.world.plugin.add(other, small);
  const { vmi, claim } = await vmWithClaim();
  const pod = await launcher(vmi, claim);
  const full = await bed.world.plugin
    .add(pod, small, { nic: 'net1', switches: claimsOn })
    .catch((e: Error) => e);
  expect(String(full)).toMatch(/"code":\s*102/);
  const failed = await allocated(claim);
  expect(failed).toMatchObject({ status: 'False', reason: 'PoolExhausted', observedGeneration: 1 });
  expect(failed?.message).toContain(
    `pod ${bed.ns}/${nameOf(pod)}, net1: IPv4 for net1: every pool is exhausted`,
  );
  expect((await readClaim(claim))?.status).toMatchObject({ ips: [], ownerPod: '' });

  // The pool gets room (the plain pod goes): the runtime's retry succeeds and the condition turns True.
  await bed.world.fixtures.deletePod(bed.ns, nameOf(other));
  await bed.world.plugin.del(other, small);
  const ip = bare(await bed.world.plugin.add(pod, small, { nic: 'net1', switches: claimsOn }));
  expect(ip).toBe('198.18.31.10');
  const ok = await allocated(claim);
  expect(ok).toMatchObject({ status: 'True', reason: 'SuccessfulAllocation', message: `allocated ${ip}/24` });
  expect(Date.parse(ok?.lastTransitionTime ?? '')).toBeGreaterThanOrEqual(
    Date.parse(failed?.lastTransitionTime ?? ''),
  );
  expect((await readClaim(claim))?.status).toMatchObject({ ips: [`${ip}/24`], ownerPod: nameOf(pod) });

  // The next launcher pod: the holder changes, the condition stays True since its transition.
  await bed.world.fixtures.deletePod(bed.ns, nameOf(pod));
  const next = await launcher(vmi, claim);
  expect(bare(await bed.world.plugin.add(next, small, { nic: 'net1', switches: claimsOn }))).toBe(ip);
  expect((await readClaim(claim))?.status?.ownerPod).toBe(nameOf(next));
  expect(await allocated(claim)).toEqual(ok);
}, 60_000);

test('spec.ipRequests: a claim gets the address it asks for; one another claim holds is refused (104) with IPAddressConflict, one outside the pool (7) naming the field', async () => {
  const first = await vmWithClaim(['198.18.30.200/24']);
  const pod = await launcher(first.vmi, first.claim);
  expect(await add(pod)).toBe('198.18.30.200');
  expect((await holders()).get('198.18.30.200')).toEqual({
    pod: `${bed.ns}/${first.claim}`,
    podUid: uidOf(pod),
  });
  expect((await readClaim(first.claim))?.status).toMatchObject({ ips: ['198.18.30.200/24'] });

  const second = await vmWithClaim(['198.18.30.200/24']);
  const rival = await launcher(second.vmi, second.claim);
  const refused = await add(rival).catch((e: Error) => e);
  expect(String(refused)).toMatch(/"code":\s*104/);
  expect(String(refused)).toContain(
    `IPAMClaim ${bed.ns}/${second.claim}: spec.ipRequests: 198.18.30.200 is held by ${bed.ns}/${first.claim} in pool ${bed.pool}`,
  );
  expect(await allocated(second.claim)).toMatchObject({ status: 'False', reason: 'IPAddressConflict' });

  const third = await vmWithClaim(['198.18.99.5/24']);
  const outside = await add(await launcher(third.vmi, third.claim)).catch((e: Error) => e);
  expect(String(outside)).toMatch(/"code":\s*7/);
  expect(String(outside)).toContain(
    `spec.ipRequests: \\"198.18.99.5/24\\" is not an address the attachment's pools (${bed.pool}) hand out`,
  );
  expect(await allocated(third.claim)).toMatchObject({ status: 'False', reason: 'InvalidConfiguration' });
  // Neither refusal left a record behind.
  expect([...(await holders()).keys()].filter((ip) => ip === '198.18.99.5')).toEqual([]);
  expect((await holders()).get('198.18.30.200')?.podUid).toBe(uidOf(pod));
}, 60_000);

test('a claim a live pod holds is not taken by another pod (108); once the holder goes, the next pod gets the address', async () => {
  const { vmi, claim } = await vmWithClaim();
  const first = await launcher(vmi, claim);
  const ip = await add(first);
  const rival = await launcher(vmi, claim);
  const refused = await add(rival).catch((e: Error) => e);
  expect(String(refused)).toMatch(/"code":\s*108/);
  expect(String(refused)).toContain(
    `IPAMClaim ${bed.ns}/${claim} is held by pod ${bed.ns}/${nameOf(first)}, which is alive; pod ${bed.ns}/${nameOf(rival)} gets its addresses once that pod is gone`,
  );
  expect((await holders()).get(ip)?.podUid).toBe(uidOf(first));
  // The claim's addresses are still allocated, to its holder: the condition stays True.
  expect(await allocated(claim)).toMatchObject({ status: 'True', reason: 'SuccessfulAllocation' });

  await bed.world.fixtures.deletePod(bed.ns, nameOf(first));
  expect(await add(rival)).toBe(ip);
  expect((await readClaim(claim))?.status?.ownerPod).toBe(nameOf(rival));
}, 60_000);

test('a claim deleted while no pod holds its address frees it within seconds', async () => {
  const { vmi, claim } = await vmWithClaim();
  const pod = await launcher(vmi, claim);
  const ip = await add(pod);
  await bed.world.fixtures.deletePod(bed.ns, nameOf(pod));
  await objects.deleteNamespacedCustomObject({ ...claimResource(), name: claim });
  await eventually('the address freed', async () => !(await holders()).has(ip), { timeoutMs: 15_000 });
  await endpointDeleted(bed, claim);
}, 60_000);

test('a missing claim is "try again later" (11) naming it; a reference with the feature off is a configuration error naming the key', async () => {
  const { vmi } = await vmWithClaim();
  const missing = `${uniqueName('gone')}.tenant`;
  const pod = await launcher(vmi, missing);
  const notYet = await bed.world.plugin
    .add(pod, bed.pool, { nic: 'net1', switches: claimsOn })
    .catch((e: Error) => e);
  expect(String(notYet)).toMatch(/"code":\s*11/);
  expect(String(notYet)).toContain(`IPAMClaim ${bed.ns}/${missing} not found`);
  const off = await bed.world.plugin.add(pod, bed.pool, { nic: 'net1' }).catch((e: Error) => e);
  expect(String(off)).toMatch(/"code":\s*7/);
  expect(String(off)).toContain('ipam-claim-reference');
  expect(String(off)).toContain('enableIPAMClaim');
  // Neither left a record behind.
  expect([...(await holders()).values()].filter((h) => h.podUid === uidOf(pod))).toEqual([]);
}, 60_000);

test("the command line judges a claim's address by the claim: kept while it exists though no pod holds it, freed once it is gone", async () => {
  // The CLI reads conf.yml from the installation's ConfigMap, as it does on a cluster.
  await bed.world.fixtures.core.createNamespacedConfigMap({
    namespace: installDefaults.namespace,
    body: {
      metadata: { name: objectNames.configMap },
      data: { [objectNames.configKey]: 'enableIPAMClaim: true\n' },
    },
  });
  const ctl = (...args: string[]) => ctlRun(bed.world.cluster.cp.kubeconfigPath('operator'), ...args);
  const { vmi, claim } = await vmWithClaim();
  const pod = await launcher(vmi, claim);
  const ip = await add(pod);
  await bed.world.fixtures.deletePod(bed.ns, nameOf(pod));
  const held = await ctl('ip', ip, '-o', 'json');
  expect(held.code).toBe(0);
  const [holder] = (JSON.parse(held.stdout) as { holders: Array<Record<string, unknown>> }).holders;
  expect(holder).toMatchObject({
    identity: `${bed.ns}/${claim}`,
    kind: 'ipamclaim',
    podUid: uidOf(pod),
    verdict: { release: false, reason: 'the IPAMClaim keeps its addresses: the IPAMClaim exists' },
  });
  const refused = await ctl('release', ip);
  expect(refused.code).toBe(1);
  expect((await holders()).get(ip)?.pod).toBe(`${bed.ns}/${claim}`);
  await objects.deleteNamespacedCustomObject({ ...claimResource(), name: claim });
  await eventually('the address freed', async () => !(await holders()).has(ip), { timeoutMs: 15_000 });
}, 60_000);
