// `npm run demo`: a VM keeps its addresses through everything KubeVirt does to it, shown on the test
// bed's two real nodes with the user's installation (the image imported, the synthesized manifests
// applied with kubectl): KubeVirt's own virt-controller, launcher pods started by kubelet, their
// networks made by the CNI chain containerd calls (the Multus stand-in delegating to Debian's plugins
// and the installed spiderpool), the node agent as virt-handler only, and the operator Deployment,
// which renders the networks, SpiderMultusConfig objects as Spiderpool users write them, into
// NetworkAttachmentDefinitions with the coordinator chained. The seed's story, step by step, with the
// VM's launcher pods printed the way `kubectl get pod -o wide` prints them. Needs root (nodes are
// network and mount namespaces) and the Debian packages .ci/run installs.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  apiVersion,
  kinds,
  kubevirtGroup,
  kubevirtKinds,
  kubevirtVersion,
  type MultusConfigSpec,
} from '../api/index.js';
import { repoRoot } from '../build/executables.js';
import { isAlreadyExists, isNotFound } from '../kube/errors.js';
import { RestClient } from '../kube/rest.js';
import { SpiderpoolApi } from '../kube/spiderpool.js';
import { nadGroup, nadPlural, nadVersion } from '../multus/ownership.js';
import { vmManifest } from '../test/harness/kubevirt-vm.js';
import { podSandboxPid } from '../test/harness/nodes/nodes.js';
import { eventually } from '../test/harness/wait.js';
import { NodesStage } from './nodes-stage.js';

if (typeof process.getuid === 'function' && process.getuid() !== 0) {
  console.error(
    'npm run demo needs root: its nodes are network and mount namespaces running containerd and kubelet (try: sudo npm run demo)',
  );
  process.exit(1);
}

const exec = promisify(execFile);
const started = Date.now();
const ns = 'default';
const stage = new NodesStage();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(7);
const say = (line: string) => console.log(`${elapsed()}  ${line}`);
let stepNo = 0;
const step = (title: string) => console.log(`\n${elapsed()}  == ${++stepNo}. ${title}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    console.log(`\n${signal}: cleaning up`);
    void stage.close().then(() => process.exit(130));
  });

const kv = (kind: keyof typeof kubevirtKinds) => ({
  group: kubevirtGroup,
  version: kubevirtVersion,
  plural: kubevirtKinds[kind].plural,
  namespace: ns,
});

function objects(): CustomObjectsApi {
  return stage.admin.makeApiClient(CustomObjectsApi);
}

async function create(manifest: KubernetesObject): Promise<void> {
  await KubernetesObjectApi.makeApiClient(stage.admin).create({
    ...manifest,
    metadata: { namespace: ns, ...manifest.metadata },
  });
}

/** A VM whose containerDisk volumes are pulled only when the node does not have the image. */
function pullIfNotPresent(vm: KubernetesObject): KubernetesObject {
  const spec = (vm as { spec?: { template?: { spec?: { volumes?: Array<Record<string, unknown>> } } } }).spec;
  for (const volume of spec?.template?.spec?.volumes ?? []) {
    const disk = volume.containerDisk as Record<string, unknown> | undefined;
    if (disk) disk.imagePullPolicy = 'IfNotPresent';
  }
  return vm;
}

function manifestsOf(file: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(join(repoRoot, file), 'utf8')).map(
    (d) => d.toJS() as KubernetesObject,
  );
}

/**
 * A network as Spiderpool users write it: a SpiderMultusConfig in kube-system, which the operator
 * renders into the NetworkAttachmentDefinition of the same name. Waits for that NAD; its plugins.
 */
async function network(name: string, spec: MultusConfigSpec): Promise<string[]> {
  await create({
    apiVersion,
    kind: kinds.multusConfig.kind,
    metadata: { name, namespace: 'kube-system' },
    spec,
  } as KubernetesObject);
  const nad = (await eventually(
    `the operator to render NetworkAttachmentDefinition kube-system/${name}`,
    () =>
      objects()
        .getNamespacedCustomObject({
          group: nadGroup,
          version: nadVersion,
          plural: nadPlural,
          namespace: 'kube-system',
          name,
        })
        .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e))),
    { timeoutMs: 60_000, intervalMs: 250 },
  )) as { spec?: { config?: string } };
  const config = JSON.parse(nad.spec?.config ?? '{}') as { plugins?: Array<{ type: string }> };
  return (config.plugins ?? []).map((p) => p.type);
}

/** A bridge network with the coordinator chained (what the seed's OVS networks become here). */
const bridgeNetwork = (name: string, bridge: string, ipv4Pool?: string): MultusConfigSpec => ({
  cniType: 'custom',
  customCNI: JSON.stringify({
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge',
        bridge,
        ipam: { type: 'spiderpool', ...(ipv4Pool ? { default_ipv4_ippool: [ipv4Pool] } : {}) },
      },
      { type: 'coordinator', mode: 'underlay' },
    ],
  }),
});

/** Runs this machine's `ip` in a launcher pod's network namespace (through its sandbox's pid); stdout. */
async function ipInPod(pod: V1Pod, ...args: string[]): Promise<string> {
  const node = stage.controlPlane.nodes.find((n) => n.name === pod.spec?.nodeName);
  if (!node) throw new Error(`pod ${pod.metadata?.name} is on no node of the test bed`);
  const pid = await podSandboxPid(node, pod.metadata?.uid ?? '');
  return (await exec('nsenter', [`--target=${pid}`, '--net', '--', 'ip', ...args])).stdout;
}

/** The launcher pod's policy rules and their tables, and the node's route to the pod's address. */
async function routing(pod: V1Pod): Promise<string[]> {
  const lines: string[] = [];
  for (const family of ['-4', '-6']) {
    const rules = (
      JSON.parse(await ipInPod(pod, family, '-j', 'rule', 'show')) as Array<{ src?: string; table?: string }>
    )
      .filter((r) => r.src && r.src !== 'all')
      .map((r) => [r.src, r.table] as const);
    for (const [src, table] of rules) {
      lines.push(`ip rule: from ${src} lookup ${table}`);
      const routes = await ipInPod(pod, family, 'route', 'show', 'table', String(table));
      lines.push(
        ...routes
          .split('\n')
          .filter(Boolean)
          .map((l) => `  table ${table}: ${l.trim()}`),
      );
    }
  }
  const address = pod.status?.podIP;
  const node = stage.controlPlane.nodes.find((n) => n.name === pod.spec?.nodeName);
  if (address && node) {
    const [route] = JSON.parse(
      (await exec('ip', ['-n', node.netns, '-j', 'route', 'get', address])).stdout,
    ) as Array<{ dev?: string }>;
    lines.push(
      `${node.name} (${node.address}) reaches ${address} through ${route?.dev} (the node's end of the pod's veth0 pair)`,
    );
  }
  return lines;
}

async function launcherPods(vm: string): Promise<V1Pod[]> {
  const pods = await stage.admin
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace: ns, labelSelector: `vm.kubevirt.io/name=${vm}` });
  return pods.items.sort(
    (a, b) =>
      Date.parse(String(a.metadata?.creationTimestamp)) - Date.parse(String(b.metadata?.creationTimestamp)),
  );
}

function age(pod: V1Pod): string {
  const s = Math.max(
    0,
    Math.round((Date.now() - Date.parse(String(pod.metadata?.creationTimestamp))) / 1000),
  );
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/** The VM's launcher pods as `kubectl get pod -o wide` shows them. */
async function show(vm: string): Promise<void> {
  const rows = [['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']];
  for (const p of await launcherPods(vm)) {
    // As kubectl counts: the containers and the sidecars (init containers that keep running).
    const sidecars = new Set(
      (p.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name),
    );
    const statuses = [
      ...(p.status?.containerStatuses ?? []),
      ...(p.status?.initContainerStatuses ?? []).filter((c) => sidecars.has(c.name)),
    ];
    const ready = `${statuses.filter((c) => c.ready).length}/${(p.spec?.containers.length ?? 0) + sidecars.size}`;
    const status = p.metadata?.deletionTimestamp
      ? 'Terminating'
      : p.status?.phase === 'Succeeded'
        ? 'Completed'
        : (p.status?.phase ?? 'Pending');
    rows.push([
      p.metadata?.name ?? '',
      ready,
      status,
      '0',
      age(p),
      p.status?.podIP ?? '<none>',
      p.spec?.nodeName ?? '<none>',
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows)
    console.log(
      `           ${r
        .map((c, i) => c.padEnd((widths[i] ?? 0) + 3))
        .join('')
        .trimEnd()}`,
    );
}

/** Waits until the VM runs in a launcher pod with addresses that is none of `old`; that pod. */
async function running(vm: string, old: V1Pod[] = []): Promise<V1Pod> {
  const gone = new Set(old.map((p) => p.metadata?.uid));
  return eventually(
    `${vm} running`,
    async () => {
      const vmi = (await objects()
        .getNamespacedCustomObject({ ...kv('vmi'), name: vm })
        .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)))) as
        | { status?: { phase?: string } }
        | undefined;
      if (vmi?.status?.phase !== 'Running') return undefined;
      return (await launcherPods(vm)).find(
        (p) =>
          p.status?.phase === 'Running' &&
          !gone.has(p.metadata?.uid) &&
          p.status.podIP &&
          !p.metadata?.deletionTimestamp,
      );
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );
}

async function vmiGone(vm: string): Promise<void> {
  await eventually(
    `VMI ${vm} gone`,
    async () =>
      objects()
        .getNamespacedCustomObject({ ...kv('vmi'), name: vm })
        .then(() => false)
        .catch((e: unknown) => (isNotFound(e) ? true : Promise.reject(e))),
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

function expectSame(what: string, got: string | undefined, want: string | undefined): void {
  if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`);
  say(`same address: ${got}`);
}

async function endpointIps(vm: string): Promise<string> {
  const api = new SpiderpoolApi(new RestClient(stage.admin));
  const ep = await api.getEndpoint(ns, vm).catch(() => undefined);
  return (ep?.status?.current.ips ?? [])
    .map((e) => `${e.interface}: ${[e.ipv4, e.ipv6].filter(Boolean).join(', ')}`)
    .join('; ');
}

async function patchVm(vm: string, body: object): Promise<void> {
  await objects().patchNamespacedCustomObject(
    { ...kv('vm'), name: vm, body },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function main(): Promise<void> {
  step('the stage');
  // Pods without a default-network annotation get eth0 from Multus's cluster default network.
  await stage.start({ say, clusterNetwork: 'kube-system/macvlan-ens192' });
  // macvlan's master is each node's NIC (its veth to the nodes' bridge, one L2 segment); a bridge
  // network's bridge is made by the bridge plugin in the node's network namespace.
  const master = 'eth0';
  const secondary = 'br-blue';

  step(
    "the seed's pool and network: SpiderIPPool test-ippool (on 198.18.168.0/24: the demo never uses addresses outside 198.18.0.0/15) and SpiderMultusConfig macvlan-ens192",
  );
  const pools = new SpiderpoolApi(new RestClient(stage.admin));
  // The first write waits for the operator's webhooks to answer through their Service.
  await eventually(
    'the operator webhooks to admit the pool',
    () =>
      pools
        .createPool({
          metadata: { name: 'test-ippool' },
          spec: { subnet: '198.18.168.0/24', ips: ['198.18.168.101-198.18.168.110'] },
        })
        .then(
          () => true,
          (e: unknown) => isAlreadyExists(e) || Promise.reject(e),
        ),
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  const ens192 = await network('macvlan-ens192', {
    cniType: 'macvlan',
    enableCoordinator: true,
    macvlan: { master: [master], ippools: { ipv4: ['test-ippool'] } },
  });
  say('SpiderIPPool test-ippool 198.18.168.101-110');
  say(
    `SpiderMultusConfig kube-system/macvlan-ens192 (macvlan on each node's ${master}, the demo's stand-in for ens192): the operator rendered NetworkAttachmentDefinition kube-system/macvlan-ens192 with plugins ${ens192.join(' -> ')}`,
  );

  step(
    "the seed's vm-cirros (passt + macvlan through v1.multus-cni.io/default-network), its containerDisk pulled only if not present",
  );
  const disks = [
    'quay.io/kubevirt/cirros-container-disk-demo:latest',
    'quay.io/containerdisks/centos-stream:9',
  ];
  await stage.importContainerDisks(disks);
  say(
    `the nodes have no registry: busybox stand-ins for the seed's disk images imported as ${disks.join(' and ')}; the cirros disk's tag is latest, which Kubernetes pulls Always, so the VM's containerDisk asks for IfNotPresent`,
  );
  for (const m of manifestsOf('test/integration/install/fixtures/seed-vm.yaml'))
    await create(pullIfNotPresent(m));
  let pod = await running('vm-cirros');
  const ip = pod.status?.podIP;
  await show('vm-cirros');
  say(`SpiderEndpoint default/vm-cirros: ${await endpointIps('vm-cirros')}`);

  step('the launcher pod deleted (kubectl delete pod)');
  await stage.admin
    .makeApiClient(CoreV1Api)
    .deleteNamespacedPod({ namespace: ns, name: pod.metadata?.name ?? '' });
  pod = await running('vm-cirros', [pod]);
  await show('vm-cirros');
  expectSame('after the pod deletion', pod.status?.podIP, ip);

  step('the VMI deleted (kubectl delete vmi vm-cirros): the VM makes a new one');
  await objects().deleteNamespacedCustomObject({ ...kv('vmi'), name: 'vm-cirros' });
  pod = await running('vm-cirros', [pod]);
  await show('vm-cirros');
  expectSame('after the VMI deletion', pod.status?.podIP, ip);

  step('stop (runStrategy: Halted), then start (runStrategy: Always)');
  await patchVm('vm-cirros', { spec: { runStrategy: 'Halted' } });
  await vmiGone('vm-cirros');
  say(`stopped; no launcher pod; SpiderEndpoint keeps ${await endpointIps('vm-cirros')}`);
  await patchVm('vm-cirros', { spec: { runStrategy: 'Always' } });
  pod = await running('vm-cirros', [pod]);
  await show('vm-cirros');
  expectSame('after stop and start', pod.status?.podIP, ip);

  step('a live migration of vm-migrate (masquerade on the pod network + a Multus bridge network)');
  await pools.createPool({
    metadata: { name: 'blue-ippool' },
    spec: { subnet: '198.18.169.0/24', ips: ['198.18.169.101-198.18.169.110'] },
  });
  const blue = await network('bridge-secondary', bridgeNetwork('bridge-secondary', secondary, 'blue-ippool'));
  say(
    `SpiderIPPool blue-ippool 198.18.169.101-110; SpiderMultusConfig kube-system/bridge-secondary (bridge ${secondary}): plugins ${blue.join(' -> ')}`,
  );
  await create(
    vmManifest(ns, 'vm-migrate', { multus: [{ name: 'blue', networkName: 'kube-system/bridge-secondary' }] }),
  );
  const source = await running('vm-migrate');
  const migrateIp = source.status?.podIP;
  await show('vm-migrate');
  say(`SpiderEndpoint default/vm-migrate: ${await endpointIps('vm-migrate')}`);
  await objects().createNamespacedCustomObject({
    ...kv('vmim'),
    body: {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstanceMigration',
      metadata: { name: 'migrate-vm-migrate' },
      spec: { vmiName: 'vm-migrate' },
    },
  });
  say('VirtualMachineInstanceMigration migrate-vm-migrate created');
  await eventually(
    'the migration to succeed',
    async () =>
      (
        (await objects().getNamespacedCustomObject({ ...kv('vmim'), name: 'migrate-vm-migrate' })) as {
          status?: { phase?: string };
        }
      ).status?.phase === 'Succeeded',
    { timeoutMs: 180_000, intervalMs: 250 },
  );
  const target = await running('vm-migrate', [source]);
  // The source launcher exits once the domain has left (the agent ends it as virt-handler would).
  await eventually(
    'the source launcher to complete',
    async () =>
      (await launcherPods('vm-migrate')).find((p) => p.metadata?.uid === source.metadata?.uid)?.status
        ?.phase === 'Succeeded',
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  await show('vm-migrate');
  say(
    `migrated from ${source.spec?.nodeName} to ${target.spec?.nodeName}; SpiderEndpoint: ${await endpointIps('vm-migrate')}`,
  );
  expectSame('after the migration', target.status?.podIP, migrateIp);

  step(
    "the seed's vm-centos (bridge binding, two Multus networks, ipam.spidernet.io/ippools with IPv4 + IPv6 per NIC)",
  );
  say(
    'the seed defines its networks with OVS (cniType: ovs); this kernel has no Open vSwitch, so they are cniType: custom SpiderMultusConfigs with the bridge plugin and the coordinator chained',
  );
  for (const [name, v4, v6] of [
    ['vlan100', '198.18.100', 'fd00:100::'],
    ['vlan200', '198.18.101', 'fd00:101::'],
  ] as const) {
    await pools.createPool({
      metadata: { name: `${name}-v4` },
      spec: { subnet: `${v4}.0/24`, ips: [`${v4}.10-${v4}.19`] },
    });
    await pools.createPool({
      metadata: { name: `${name}-v6` },
      spec: { subnet: `${v6}/64`, ips: [`${v6}10-${v6}19`] },
    });
    const plugins = await network(`ovs-${name}`, bridgeNetwork(`ovs-${name}`, `br-${name}`));
    say(`SpiderMultusConfig kube-system/ovs-${name}: plugins ${plugins.join(' -> ')}`);
  }
  for (const m of manifestsOf('test/integration/install/fixtures/vm-centos.yaml')) await create(m);
  const centos = await running('vm-centos');
  await show('vm-centos');
  say(`SpiderEndpoint default/vm-centos: ${await endpointIps('vm-centos')}`);
  say(
    "the coordinator in the launcher pod: the second NIC's addresses look up its own table (its subnet; the node's address and SpiderCoordinator default's Service and pod CIDRs through veth0), so replies leave by it",
  );
  for (const line of await routing(centos)) say(`  ${line}`);

  step('the VMs deleted (kubectl delete vm): their addresses and SpiderEndpoints are freed');
  for (const vm of ['vm-cirros', 'vm-migrate', 'vm-centos']) {
    const t0 = Date.now();
    await objects().deleteNamespacedCustomObject({ ...kv('vm'), name: vm });
    await eventually(
      `${vm} freed`,
      async () =>
        await pools
          .getEndpoint(ns, vm)
          .then(() => false)
          .catch((e: unknown) => isNotFound(e)),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    say(`${vm}: SpiderEndpoint gone and addresses free ${Date.now() - t0} ms after the delete`);
  }
  for (const name of ['test-ippool', 'blue-ippool', 'vlan100-v4', 'vlan100-v6', 'vlan200-v4', 'vlan200-v6']) {
    const p = await pools.getPool(name);
    say(`${name}: ${p.status?.allocatedIPCount ?? 0} allocated`);
  }
}

main()
  .then(
    () => {
      step(`done in ${elapsed().trim()}; cleaning up`);
      return 0;
    },
    (err: unknown) => {
      console.error(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    },
  )
  .then(async (code) => {
    await stage.close();
    say('stopped everything it started');
    process.exit(code);
  });
