// A VM's fixed addresses through KubeVirt's own objects and controller: VMs applied with kubectl,
// `runStrategy` changes, restart requests, VirtualMachineInstanceMigrations, deleted pods, VMIs and
// VMs. virt-controller and kube-scheduler are real; the node agent plays kubelet, Multus's delegation
// and virt-handler, so every address comes from the compiled plugin called by Debian's macvlan or
// bridge plugin in a network namespace; the compiled operator runs as its service account. IP
// conflict detection is on in the plugin and the operator, so a migration target that were probed
// would find its address answered by the source (both nodes' pods share one L2 segment) and fail.
// After every test each pool's allocated count is back where it was.
import {
  CustomObjectsApi,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { isNotFound } from '../../../kube/errors.js';
import { controlPlane } from '../../harness/clients.js';
import { eventually } from '../../harness/wait.js';
import { apply, fixture } from '../../integration/install/kubectl.js';
import { create, kv, launcherPods, useKubeVirtWorld, vmManifest, waitVmi } from './fixtures.js';
import { ipsOf, runningInNewPod } from './running.js';

const w = () => bed.world;
const objects = () => w().fixtures.admin.makeApiClient(CustomObjectsApi);
const ns = () => w().namespace;
/** Pools whose allocated count must be back to its baseline after every test. */
const baseline = new Map<string, number>();

const bed = useKubeVirtWorld(
  'kv-life',
  { subnet: '198.18.90.0/24', ips: ['198.18.90.10-198.18.90.59'] },
  {
    nodeSettings: { enableIPConflictDetection: true },
    // VMs named hold-* wait in the middle of a migration until the test completes or fails it.
    migrations: (vmi) => (vmi.metadata.name?.startsWith('hold-') ? 'hold' : 'complete'),
  },
  {
    identity: 'kv-life-op',
    conf: { enableIPConflictDetection: true, gc: { intervalSeconds: 3600 } },
    // Its "addresses kept" verdicts are debug lines.
    args: ['--log-level=debug'],
  },
);

beforeAll(() => {
  baseline.set(w().pool, 0);
});

afterEach(async () => {
  // A test that failed half-way leaves its VM: it goes first, so the next test starts clean.
  for (const kind of ['vm', 'vmi'] as const) {
    const list = (await objects().listNamespacedCustomObject(kv(kind, ns()))) as {
      items: KubernetesObject[];
    };
    for (const o of list.items)
      await objects()
        .deleteNamespacedCustomObject({ ...kv(kind, ns()), name: o.metadata?.name ?? '' })
        .catch(() => undefined);
  }
  for (const [pool, count] of baseline) {
    const state = await eventually(`pool ${pool} back to ${count} allocated`, async () => {
      const s = await w().fixtures.poolState(pool);
      return s.records.length === count && s;
    });
    expect(state.allocatedIPCount ?? 0).toBe(count);
  }
}, 60_000);

// ---- what is observed ----

/** The VM's records in every pool of the test: address and holding pod UID, by address. */
async function records(name: string): Promise<Array<{ ip: string; podUid: string }>> {
  const all = await Promise.all([...baseline.keys()].map((pool) => w().fixtures.poolState(pool)));
  return all
    .flatMap((state) => state.records)
    .filter((r) => r.pod === `${ns()}/${name}`)
    .map((r) => ({ ip: r.ip, podUid: r.podUid }))
    .sort((a, b) => a.ip.localeCompare(b.ip));
}

/** The VMI running with a launcher pod Running that is not one of `old`: both, once so. */
const running = (name: string, old: V1Pod[] = []) => runningInNewPod(w().fixtures, ns(), name, old);

/** Exactly one holder: every record of the VM, and its endpoint, name `pod` (on its node). */
async function heldOnlyBy(name: string, pod: V1Pod, ips: string[]): Promise<void> {
  const uid = pod.metadata?.uid;
  await eventually(`${pod.metadata?.name} the only holder of ${ips}`, async () => {
    const recs = await records(name);
    const current = (await w().fixtures.endpoint(ns(), name))?.status?.current;
    return (
      recs.map((r) => r.ip).join() === [...ips].sort().join() &&
      recs.every((r) => r.podUid === uid) &&
      current !== undefined &&
      current.uid === uid &&
      current.node === pod.spec?.nodeName
    );
  });
}

async function startVm(name: string, extra: { binding?: Record<string, unknown> } = {}) {
  await create(w().fixtures.admin, vmManifest(ns(), name, { defaultNetwork: w().nad, ...extra }));
  const { vmi, pod } = await running(name);
  const ips = ipsOf(pod);
  expect(ips).toHaveLength(1);
  await heldOnlyBy(name, pod, ips);
  return { vmi, pod, ips };
}

const patchVm = (name: string, body: object) =>
  objects().patchNamespacedCustomObject(
    { ...kv('vm', ns()), name, body },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );

async function vmiGone(name: string): Promise<void> {
  await eventually(
    `VMI ${name} gone`,
    async () =>
      (await objects()
        .getNamespacedCustomObject({ ...kv('vmi', ns()), name })
        .then(() => false)
        .catch((err: unknown) => (isNotFound(err) ? true : Promise.reject(err)))) as boolean,
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

/** Deletes the VM and asserts that its addresses and SpiderEndpoint are free within 5 s. */
async function deleteVmFreedWithin5s(name: string): Promise<void> {
  const started = Date.now();
  await objects().deleteNamespacedCustomObject({ ...kv('vm', ns()), name });
  await eventually(
    `VM ${name}'s addresses and endpoint freed`,
    async () => (await records(name)).length === 0 && (await w().fixtures.endpoint(ns(), name)) === undefined,
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  expect(Date.now() - started).toBeLessThan(5000);
  await eventually(
    'its launcher pods gone',
    async () => (await w().fixtures.core.listNamespacedPod({ namespace: ns() })).items.length === 0,
    {
      timeoutMs: 120_000,
      intervalMs: 250,
    },
  );
}

// ---- restarts of every kind keep the addresses ----

test('launcher pod deleted: KubeVirt starts a new one, which gets the same address', async () => {
  const { pod, ips } = await startVm('vm-pod-del');
  await w().fixtures.core.deleteNamespacedPod({ namespace: ns(), name: pod.metadata?.name ?? '' });
  const next = await running('vm-pod-del', [pod]);
  expect(ipsOf(next.pod)).toEqual(ips);
  await heldOnlyBy('vm-pod-del', next.pod, ips);
  await deleteVmFreedWithin5s('vm-pod-del');
}, 300_000);

test('VMI deleted: the VM makes a new VMI (new UID) whose launcher pod gets the same address', async () => {
  const { vmi, pod, ips } = await startVm('vm-vmi-del');
  await objects().deleteNamespacedCustomObject({ ...kv('vmi', ns()), name: 'vm-vmi-del' });
  const next = await running('vm-vmi-del', [pod]);
  expect(next.vmi.metadata.uid).not.toBe(vmi.metadata.uid);
  expect(ipsOf(next.pod)).toEqual(ips);
  await heldOnlyBy('vm-vmi-del', next.pod, ips);
  await deleteVmFreedWithin5s('vm-vmi-del');
}, 300_000);

test('stop (runStrategy Halted) keeps the address and endpoint while stopped; start (Always) gets it back', async () => {
  const { pod, ips } = await startVm('vm-stop');
  await patchVm('vm-stop', { spec: { runStrategy: 'Halted' } });
  await vmiGone('vm-stop');
  expect((await records('vm-stop')).map((r) => r.ip)).toEqual(ips);
  expect((await w().fixtures.endpoint(ns(), 'vm-stop'))?.status?.current.ips).toHaveLength(1);
  await patchVm('vm-stop', { spec: { runStrategy: 'Always' } });
  const next = await running('vm-stop', [pod]);
  expect(ipsOf(next.pod)).toEqual(ips);
  await heldOnlyBy('vm-stop', next.pod, ips);
  await deleteVmFreedWithin5s('vm-stop');
}, 300_000);

test('restart (a Stop and a Start request, as virtctl restart writes them) keeps the address', async () => {
  const { vmi, pod, ips } = await startVm('vm-restart');
  await objects().patchNamespacedCustomObjectStatus(
    {
      ...kv('vm', ns()),
      name: 'vm-restart',
      body: {
        status: { stateChangeRequests: [{ action: 'Stop', uid: vmi.metadata.uid }, { action: 'Start' }] },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const next = await running('vm-restart', [pod]);
  expect(next.vmi.metadata.uid).not.toBe(vmi.metadata.uid);
  expect(ipsOf(next.pod)).toEqual(ips);
  await heldOnlyBy('vm-restart', next.pod, ips);
  await deleteVmFreedWithin5s('vm-restart');
}, 300_000);

// ---- live migration ----

async function migrate(vmiName: string): Promise<string> {
  const name = `mig-${vmiName}`;
  await objects().createNamespacedCustomObject({
    ...kv('vmim', ns()),
    body: {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstanceMigration',
      metadata: { name },
      spec: { vmiName },
    },
  });
  return name;
}

async function migrationPhase(name: string): Promise<string | undefined> {
  const m = (await objects()
    .getNamespacedCustomObject({ ...kv('vmim', ns()), name })
    .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)))) as
    | { status?: { phase?: string } }
    | undefined;
  return m?.status?.phase;
}

/** A held migration's target running on the other node next to the source: the target pod. */
async function targetRunning(name: string, source: V1Pod): Promise<V1Pod> {
  const { pod: target } = await running(name, [source]);
  expect(target.spec?.nodeName).not.toBe(source.spec?.nodeName);
  const pods = await launcherPods(
    w().fixtures,
    ns(),
    await waitVmi(w().fixtures.admin, ns(), name, 'exists', () => true),
  );
  expect(pods.find((p) => p.metadata?.uid === source.metadata?.uid)?.status?.phase).toBe('Running');
  return target;
}

test('migration: the target gets the source address while the source runs, unprobed; success hands over to it', async () => {
  const { pod: source, ips } = await startVm('hold-mig-ok');
  await migrate('hold-mig-ok');
  const target = await targetRunning('hold-mig-ok', source);
  expect(ipsOf(target)).toEqual(ips);
  // The target shares; the source still holds (the plugin wrote nothing for the target).
  await heldOnlyBy('hold-mig-ok', source, ips);
  w().agent.completeMigration(ns(), 'hold-mig-ok');
  await eventually(
    'migration succeeded',
    async () => (await migrationPhase('mig-hold-mig-ok')) === 'Succeeded',
    {
      timeoutMs: 120_000,
    },
  );
  await heldOnlyBy('hold-mig-ok', target, ips);
  await deleteVmFreedWithin5s('hold-mig-ok');
}, 300_000);

test('migration failed: the source stays the only holder; no record names the failed target', async () => {
  const { pod: source, ips } = await startVm('hold-mig-fail');
  await migrate('hold-mig-fail');
  const target = await targetRunning('hold-mig-fail', source);
  expect(ipsOf(target)).toEqual(ips);
  w().agent.failMigration(ns(), 'hold-mig-fail');
  await eventually('migration failed', async () => (await migrationPhase('mig-hold-mig-fail')) === 'Failed', {
    timeoutMs: 120_000,
  });
  await heldOnlyBy('hold-mig-fail', source, ips);
  expect((await records('hold-mig-fail')).some((r) => r.podUid === target.metadata?.uid)).toBe(false);
  await deleteVmFreedWithin5s('hold-mig-fail');
}, 300_000);

test('migration aborted (VMIM deleted in flight): the source stays the only holder', async () => {
  const { pod: source, ips } = await startVm('hold-mig-abort');
  await migrate('hold-mig-abort');
  const target = await targetRunning('hold-mig-abort', source);
  expect(ipsOf(target)).toEqual(ips);
  await objects().deleteNamespacedCustomObject({ ...kv('vmim', ns()), name: 'mig-hold-mig-abort' });
  await waitVmi(w().fixtures.admin, ns(), 'hold-mig-abort', 'to record the abort', (v) =>
    Boolean(v.status?.migrationState?.abortStatus === 'Succeeded'),
  );
  await eventually('the target launcher ended', async () => {
    const vmi = await waitVmi(w().fixtures.admin, ns(), 'hold-mig-abort', 'exists', () => true);
    const t = (await launcherPods(w().fixtures, ns(), vmi)).find(
      (p) => p.metadata?.uid === target.metadata?.uid,
    );
    return !t || t.status?.phase === 'Failed';
  });
  await heldOnlyBy('hold-mig-abort', source, ips);
  await deleteVmFreedWithin5s('hold-mig-abort');
}, 300_000);

// ---- release ----

test('a stopped VM deleted frees its address and endpoint within 5 s', async () => {
  await startVm('vm-del-stopped');
  await patchVm('vm-del-stopped', { spec: { runStrategy: 'Halted' } });
  await vmiGone('vm-del-stopped');
  expect(await records('vm-del-stopped')).toHaveLength(1);
  await deleteVmFreedWithin5s('vm-del-stopped');
}, 300_000);

test('a standalone VMI keeps its address while it exists (its launcher pod gone) and frees it when deleted', async () => {
  const template = vmManifest(ns(), 'vmi-alone', { defaultNetwork: w().nad }) as KubernetesObject & {
    spec: { template: { metadata: object; spec: object } };
  };
  await create(w().fixtures.admin, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'vmi-alone', namespace: ns(), ...template.spec.template.metadata },
    spec: template.spec.template.spec,
  } as KubernetesObject);
  const { pod } = await running('vmi-alone');
  const ips = ipsOf(pod);
  await heldOnlyBy('vmi-alone', pod, ips);
  await w().fixtures.core.deleteNamespacedPod({ namespace: ns(), name: pod.metadata?.name ?? '' });
  await waitVmi(
    w().fixtures.admin,
    ns(),
    'vmi-alone',
    'to fail without its pod',
    (v) => v.status?.phase === 'Failed',
  );
  await eventually(
    'the launcher pod gone',
    async () => (await w().fixtures.core.listNamespacedPod({ namespace: ns() })).items.length === 0,
  );
  // The operator judged the identity after the pod went and kept it: the VMI exists.
  await eventually('the operator kept the addresses', () =>
    bed.operator?.lines().some((l) => l.msg === 'addresses kept' && l.object === `${ns()}/vmi-alone`),
  );
  expect((await records('vmi-alone')).map((r) => r.ip)).toEqual(ips);
  const started = Date.now();
  await objects().deleteNamespacedCustomObject({ ...kv('vmi', ns()), name: 'vmi-alone' });
  await eventually('freed', async () => (await records('vmi-alone')).length === 0, { intervalMs: 50 });
  expect(Date.now() - started).toBeLessThan(5000);
  await vmiGone('vmi-alone');
}, 300_000);

// ---- the seed's manifests, applied unchanged ----

async function nad(name: string, config: object): Promise<void> {
  await w()
    .fixtures.admin.makeApiClient(KubernetesObjectApi)
    .create({
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name, namespace: 'kube-system' },
      spec: { config: JSON.stringify({ cniVersion: '1.0.0', ...config }) },
    } as KubernetesObject);
}

/** A pool with the fixed name a manifest uses, checked after the test and then deleted. */
async function namedPool(name: string, subnet: string, ips: string[]): Promise<void> {
  await w().fixtures.spiderpool.createPool({ metadata: { name }, spec: { subnet, ips } });
  baseline.set(name, 0);
  namedPools.push(name);
}

const namedPools: string[] = [];

afterAll(async () => {
  for (const name of namedPools)
    await objects()
      .deleteClusterCustomObject({
        group: 'spiderpool.spidernet.io',
        version: 'v2beta1',
        plural: 'spiderippools',
        name,
      })
      .catch(() => undefined);
});

test("the seed's vm-cirros (passt + macvlan through default-network) applies unchanged and keeps its address", async () => {
  const master = await w().agent.uplink();
  await nad('macvlan-ens192', {
    type: 'macvlan',
    master,
    mode: 'bridge',
    ipam: { type: 'spiderpool', default_ipv4_ippool: [w().pool] },
  });
  try {
    await apply(controlPlane().adminKubeconfig, [fixture('seed-vm.yaml')], ['-n', ns()]);
    const { pod } = await running('vm-cirros');
    const ips = ipsOf(pod);
    expect(ips).toHaveLength(1);
    await heldOnlyBy('vm-cirros', pod, ips);
    await w().fixtures.core.deleteNamespacedPod({ namespace: ns(), name: pod.metadata?.name ?? '' });
    expect(ipsOf((await running('vm-cirros', [pod])).pod)).toEqual(ips);
    await deleteVmFreedWithin5s('vm-cirros');
  } finally {
    await w()
      .fixtures.admin.makeApiClient(KubernetesObjectApi)
      .delete({
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind: 'NetworkAttachmentDefinition',
        metadata: { name: 'macvlan-ens192', namespace: 'kube-system' },
      } as KubernetesObject);
  }
}, 300_000);

// The seed defines vm-centos's networks with OVS (ovs-cni); this kernel has no Open vSwitch module, so
// its two NetworkAttachmentDefinitions use the bridge plugin, which calls the IPAM plugin the same way.
test("the seed's vm-centos (bridge binding, two Multus networks, an IPv4 and an IPv6 pool per NIC): its endpoint records both NICs", async () => {
  const pools = ['vlan100-v4', 'vlan100-v6', 'vlan200-v4', 'vlan200-v6'];
  await namedPool('vlan100-v4', '198.18.100.0/24', ['198.18.100.10-198.18.100.19']);
  await namedPool('vlan100-v6', 'fd00:100::/64', ['fd00:100::10-fd00:100::19']);
  await namedPool('vlan200-v4', '198.18.101.0/24', ['198.18.101.10-198.18.101.19']);
  await namedPool('vlan200-v6', 'fd00:101::/64', ['fd00:101::10-fd00:101::19']);
  const bridge = async (n: string) => ({
    type: 'bridge',
    // Made by the bridge plugin in the node's namespace.
    bridge: w().lab.linkName('spbr'),
    ipam: { type: 'spiderpool' },
    name: n,
  });
  await nad('ovs-vlan100', await bridge('ovs-vlan100'));
  await nad('ovs-vlan200', await bridge('ovs-vlan200'));
  try {
    await apply(controlPlane().adminKubeconfig, [fixture('vm-centos.yaml')], ['-n', ns()]);
    const { pod } = await running('vm-centos');
    const ep = await eventually('the endpoint with both NICs', async () => {
      const e = await w().fixtures.endpoint(ns(), 'vm-centos');
      return e?.status?.current.ips.length === 2 && e;
    });
    const status = JSON.parse(
      pod.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
    ) as Array<{ interface: string; ips: string[] }>;
    const byNic = new Map(ep.status?.current.ips.map((e) => [e.interface, e]));
    expect([...byNic.keys()].sort()).toEqual(status.map((s) => s.interface).sort());
    expect(byNic.get('eth0')).toMatchObject({ ipv4Pool: 'vlan100-v4', ipv6Pool: 'vlan100-v6' });
    const second = [...byNic.values()].find((e) => e.interface !== 'eth0');
    expect(second?.interface).toMatch(/^pod[0-9a-f]{11}$/);
    expect(second).toMatchObject({ ipv4Pool: 'vlan200-v4', ipv6Pool: 'vlan200-v6' });
    for (const s of status) {
      const e = byNic.get(s.interface);
      expect(s.ips.sort()).toEqual([e?.ipv4?.split('/')[0], e?.ipv6?.split('/')[0]].sort());
    }
    expect((await records('vm-centos')).length).toBe(4);
    await deleteVmFreedWithin5s('vm-centos');
    for (const p of pools) expect((await w().fixtures.poolState(p)).records).toEqual([]);
  } finally {
    for (const n of ['ovs-vlan100', 'ovs-vlan200'])
      await w()
        .fixtures.admin.makeApiClient(KubernetesObjectApi)
        .delete({
          apiVersion: 'k8s.cni.cncf.io/v1',
          kind: 'NetworkAttachmentDefinition',
          metadata: { name: n, namespace: 'kube-system' },
        } as KubernetesObject);
  }
}, 300_000);
