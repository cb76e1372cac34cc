// The `spiderpool` command line (operator/ctl/) on the real control plane: pools, endpoints and
// records written by the compiled CNI plugin, pods and a KubeVirt VM shaped as their controllers make
// them, and no operator running, so nothing mends the books behind the commands' backs. The commands
// run in-process through runCtl (the code the executable runs), as the operator's service account
// (the synthesized RBAC is all they need); the last test runs
// them through the built executable under both of its names.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { group, kinds, version } from '../../../api/index.js';
import { buildExecutable, linkKubectlPlugin, operatorEntry } from '../../../build/executables.js';
import { uniqueName } from '../../harness/clients.js';
import { eventually } from '../../harness/wait.js';
import { type CtlRun, ctlRun } from './fixtures/ctl-run.js';
import { bare, createBoundPod, poolHolders, startWorld, type World } from './fixtures/ipam-world.js';
import { controllerRef, createVM, createVMI, kubevirtResource } from './fixtures/kubevirt-objects.js';

let world: World;
let objects: CustomObjectsApi;
let kubeconfig: string;
let ns: string;
let poolA: string;
let poolB: string;
let subnet: string;
let live: V1Pod;
let liveIp: string;
let vmName: string;
let vmIp: string;
let launcherPod: V1Pod;

function ctl(...args: string[]): Promise<CtlRun> {
  return ctlRun(kubeconfig, ...args);
}

/** A VM, its VMI and a launcher pod as KubeVirt makes them; the plugin gives the VM its address. */
async function runningVM(name: string, pool: string): Promise<{ pod: V1Pod; ip: string }> {
  const vmi = await createVMI(objects, ns, name, await createVM(objects, ns, name));
  const pod = await world.fixtures.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: {
        name: `virt-launcher-${name}-abcde`,
        labels: { 'kubevirt.io': 'virt-launcher', 'kubevirt.io/created-by': vmi.metadata.uid },
        annotations: { 'kubevirt.io/domain': name },
        ownerReferences: [controllerRef('VirtualMachineInstance', vmi)],
      },
      spec: {
        nodeName: 'node-2',
        restartPolicy: 'Never',
        containers: [{ name: 'compute', image: 'registry.invalid/virt-launcher' }],
      },
    },
  });
  return { pod, ip: bare(await world.plugin.add(pod, pool)) };
}

/** Removes an endpoint's finalizer and deletes it: what is left when the operator never ran. */
async function dropEndpoint(name: string): Promise<void> {
  const ref = { group, version, plural: kinds.endpoint.plural, namespace: ns, name };
  await objects
    .patchNamespacedCustomObject(
      { ...ref, body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )
    .catch(() => undefined);
  await objects.deleteNamespacedCustomObject(ref).catch(() => undefined);
  await eventually(
    `endpoint ${name} gone`,
    async () => (await world.fixtures.endpoint(ns, name)) === undefined,
  );
}

beforeAll(async () => {
  world = await startWorld({ kubevirt: true });
  objects = world.cluster.kc.makeApiClient(CustomObjectsApi);
  kubeconfig = world.cluster.cp.kubeconfigPath('operator');
  ns = await world.fixtures.namespace('ctl');
  poolA = await world.fixtures.pool(
    { subnet: '198.18.40.0/24', ips: ['198.18.40.10-198.18.40.19'] },
    'ctl-a',
  );
  poolB = await world.fixtures.pool(
    { subnet: '198.18.41.0/24', ips: ['198.18.41.10-198.18.41.29'] },
    'ctl-b',
  );
  subnet = await world.fixtures.subnet(
    { subnet: '198.18.40.0/24', ips: ['198.18.40.10-198.18.40.59'] },
    'ctl-subnet',
  );
  live = await createBoundPod(world, ns, uniqueName('live'));
  liveIp = bare(await world.plugin.add(live, poolA));
  const other = await createBoundPod(world, ns, uniqueName('other'));
  await world.plugin.add(other, poolB);
  vmName = uniqueName('vm');
  ({ pod: launcherPod, ip: vmIp } = await runningVM(vmName, poolA));
}, 180_000);

afterAll(async () => {
  await objects
    ?.deleteClusterCustomObject({ group, version, plural: kinds.subnet.plural, name: subnet })
    .catch(() => undefined);
  await world?.stop();
});

test('pools -o json: allocated, total and free per pool as the plugin filled them, and the subnet over its pool', async () => {
  const run = await ctl('pools', '-o', 'json');
  expect(run).toMatchObject({ code: 0, stderr: '' });
  const report = JSON.parse(run.stdout) as {
    pools: Array<Record<string, unknown>>;
    subnets: Array<Record<string, unknown>>;
  };
  expect(report.pools.find((p) => p.name === poolA)).toEqual({
    name: poolA,
    family: 4,
    subnet: '198.18.40.0/24',
    allocated: 2,
    total: '10',
    free: '8',
    usage: 0.2,
    disabled: false,
  });
  expect(report.pools.find((p) => p.name === poolB)).toMatchObject({ allocated: 1, total: '20', free: '19' });
  expect(report.subnets.find((s) => s.name === subnet)).toEqual({
    name: subnet,
    subnet: '198.18.40.0/24',
    pools: [poolA],
    allocated: 2,
    total: '50',
    usage: 0.04,
  });
  const table = await ctl('pools');
  expect(table.stdout).toMatch(
    new RegExp(`^${poolA}\\s+198\\.18\\.40\\.0/24\\s+2\\s+10\\s+8\\s+20\\.0%\\s+█{4}░{16}$`, 'm'),
  );
});

test('ip -o json names the holder: a pod with its endpoint and node, a VM through its launcher pod', async () => {
  const pod = await ctl('ip', liveIp, '-o', 'json');
  expect(pod.code).toBe(0);
  const endpoint = await world.fixtures.endpoint(ns, live.metadata?.name ?? '');
  const [held] = (JSON.parse(pod.stdout) as { holders: Array<Record<string, unknown>> }).holders;
  expect(held).toMatchObject({
    address: liveIp,
    pool: poolA,
    nic: 'eth0',
    identity: `${ns}/${live.metadata?.name}`,
    kind: 'stateless',
    podUid: live.metadata?.uid,
    pod: { namespace: ns, name: live.metadata?.name, node: 'node-1' },
    endpoint: { namespace: ns, name: live.metadata?.name, node: 'node-1' },
    node: 'node-1',
    since: new Date(endpoint?.metadata.creationTimestamp ?? 0).toISOString(),
    verdict: { release: false, reason: `pod ${ns}/${live.metadata?.name} is alive` },
  });

  const vm = await ctl('ip', vmIp, '-o', 'json');
  expect(vm.code).toBe(0);
  const [vmHeld] = (JSON.parse(vm.stdout) as { holders: Array<Record<string, unknown>> }).holders;
  expect(vmHeld).toMatchObject({
    identity: `${ns}/${vmName}`,
    kind: 'kubevirt-vm',
    podUid: launcherPod.metadata?.uid,
    pod: { name: launcherPod.metadata?.name, node: 'node-2' },
    vm: { namespace: ns, name: vmName, vm: 'present', vmi: 'present' },
    endpoint: { name: vmName, owner: `VirtualMachineInstance/${vmName}` },
    node: 'node-2',
    verdict: { release: false },
  });

  const free = await ctl('ip', '198.18.40.19', '-o', 'json');
  expect(free.code).toBe(1);
  expect(JSON.parse(free.stdout)).toEqual({ address: '198.18.40.19', holders: [] });
  const bad = await ctl('ip', '198.18.40.300');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe('spiderpool: address "198.18.40.300" is not an IPv4 or IPv6 address\n');
});

test('check finds a leak made on purpose; release frees it; check then says consistent', async () => {
  const consistent = await ctl('check');
  expect(consistent.stdout).toMatch(/records of \d+ identities checked: consistent/);
  expect(consistent.code).toBe(0);

  // The leak: a pod whose pod and endpoint are gone while no operator ran; its record stays.
  const gone = await createBoundPod(world, ns, uniqueName('gone'));
  const goneIp = bare(await world.plugin.add(gone, poolA));
  await world.fixtures.deletePod(ns, gone.metadata?.name ?? '');
  await dropEndpoint(gone.metadata?.name ?? '');
  expect((await poolHolders(world, poolA)).get(goneIp)).toBe(gone.metadata?.uid);

  const leaked = await ctl('check', '-o', 'json');
  expect(leaked.code).toBe(1);
  const report = JSON.parse(leaked.stdout) as {
    consistent: boolean;
    findings: Array<Record<string, unknown>>;
  };
  expect(report.consistent).toBe(false);
  expect(report.findings).toEqual([
    {
      kind: 'reclaim',
      pool: poolA,
      ip: goneIp,
      owner: `${ns}/${gone.metadata?.name}`,
      podUid: gone.metadata?.uid,
      nic: 'eth0',
      gcReason: 'pod-gone',
      reason: `pod ${ns}/${gone.metadata?.name} with UID ${gone.metadata?.uid} is gone`,
    },
  ]);
  const table = await ctl('check');
  expect(table.code).toBe(1);
  expect(table.stdout).toContain(`reclaim   ${goneIp}`);

  const released = await ctl('release', goneIp);
  expect(released.stderr).toBe('');
  expect(released.stdout).toBe(
    `released ${goneIp} from pool ${poolA} (held by ${ns}/${gone.metadata?.name}, pod UID ${gone.metadata?.uid}: ` +
      `pod ${ns}/${gone.metadata?.name} with UID ${gone.metadata?.uid} is gone)\n`,
  );
  expect(released.code).toBe(0);
  expect((await poolHolders(world, poolA)).has(goneIp)).toBe(false);
  expect((await ctl('check')).code).toBe(0);
  const again = await ctl('release', goneIp);
  expect(again).toMatchObject({
    code: 1,
    stderr: `${goneIp} is not allocated in any SpiderIPPool; nothing to release\n`,
  });
}, 60_000);

test("release refuses a live pod's address, also with --force, and names the holder", async () => {
  for (const args of [[], ['--force']]) {
    const run = await ctl('release', liveIp, ...args);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `refused: ${liveIp} in pool ${poolA} is held by pod ${ns}/${live.metadata?.name} (UID ${live.metadata?.uid}), ` +
        `which is alive; a live holder's address is never released, also not with --force\n`,
    );
  }
  const vm = await ctl('release', vmIp, '--force');
  expect(vm.code).toBe(1);
  expect(vm.stderr).toContain(
    `is held by pod ${ns}/${launcherPod.metadata?.name} (UID ${launcherPod.metadata?.uid}) of ${ns}/${vmName}, which is alive`,
  );
  const holders = await poolHolders(world, poolA);
  expect(holders.get(liveIp)).toBe(live.metadata?.uid);
  expect(holders.get(vmIp)).toBe(launcherPod.metadata?.uid);
});

test('a stopped VM keeps its address: release refuses it as not leaked, --force releases it', async () => {
  // virt-controller's part when a VM stops: the VMI goes, and its launcher pod with it; the VM stays.
  await objects.deleteNamespacedCustomObject({ ...kubevirtResource('vmi', ns), name: vmName });
  await world.fixtures.deletePod(ns, launcherPod.metadata?.name ?? '');
  await eventually('the launcher pod gone', async () =>
    (await world.fixtures.core.listNamespacedPod({ namespace: ns })).items.every(
      (p) => p.metadata?.uid !== launcherPod.metadata?.uid,
    ),
  );
  expect((await ctl('check')).code).toBe(0);

  const refused = await ctl('release', vmIp);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe(
    `refused: ${vmIp} in pool ${poolA} is not leaked: the VM keeps its addresses: the VMI is gone but the VM exists ` +
      `(held by ${ns}/${vmName}); no live pod holds it, so --force would release it\n`,
  );
  expect((await poolHolders(world, poolA)).get(vmIp)).toBe(launcherPod.metadata?.uid);

  const forced = await ctl('release', vmIp, '--force');
  expect(forced.stderr).toBe('');
  expect(forced.stdout).toMatch(new RegExp(`^released ${vmIp.replaceAll('.', '\\.')} from pool ${poolA} `));
  expect(forced.code).toBe(0);
  expect((await poolHolders(world, poolA)).has(vmIp)).toBe(false);
  // The VM's endpoint stays (the VM exists); with no live holder it only names the pool to allocate from.
  expect((await world.fixtures.endpoint(ns, vmName))?.status?.current.ips[0]?.ipv4Pool).toBe(poolA);
  expect((await ctl('check')).code).toBe(0);
}, 60_000);

test('the built executable runs the commands, also as the kubectl plugin kubectl-spiderpool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spiderpool-ctl-'));
  try {
    const executable = join(dir, 'spiderpool-operator');
    buildExecutable(operatorEntry, executable);
    const plugin = linkKubectlPlugin(executable);
    const pools = spawnSync(executable, ['pools', '-o', 'json', '--kubeconfig', kubeconfig], {
      encoding: 'utf8',
    });
    expect(pools.stderr).toBe('');
    expect(pools.status).toBe(0);
    const report = JSON.parse(pools.stdout) as { pools: Array<{ name: string; allocated: number }> };
    expect(report.pools.find((p) => p.name === poolB)?.allocated).toBe(1);
    // kubectl passes its plugin every argument after `spiderpool`, global flags first.
    const check = spawnSync(plugin, ['--kubeconfig', kubeconfig, 'check'], { encoding: 'utf8' });
    expect(check.stdout).toMatch(/checked: consistent\n$/);
    expect(check.status).toBe(0);
    const help = spawnSync(plugin, ['--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: kubectl spiderpool \[options\] \[command\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
