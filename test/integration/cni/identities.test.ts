// Who holds an address, and when it comes back, with the compiled plugin against the real API server
// as the plugin's service account: a StatefulSet pod keeps its address across pods while its ordinal
// is in range; a launcher pod of a VM that is gone gets nothing; with enableKubevirtStaticIP off a
// launcher pod is stateless; an exhausted pool falls back to the next; a dual-stack ADD that cannot
// get both families keeps neither; unnamed ipam.spidernet.io/ippools follow the Multus networks;
// CHECK names what differs; a pod that is not alive gets nothing.
import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { kubevirtApiVersion, kubevirtGroup, kubevirtKinds, kubevirtVersion } from '../../../api/index.js';
import { callPlugin, cniEnv, netConf, type ProcessOutcome, type TestNode } from '../../harness/cni-plugin.js';
import { usePluginBed } from '../../harness/plugin-bed.js';
import { ensureKubeVirtCrds } from '../../harness/spiderpool-api.js';

const bed = usePluginBed('cni-identities', 'identities');
let node: TestNode;

beforeAll(() => {
  node = bed.testbed.node('id-node');
});

const ref = (pod: V1Pod) => ({
  namespace: bed.namespace,
  name: pod.metadata?.name ?? '',
  uid: pod.metadata?.uid ?? '',
});

function call(
  command: string,
  pod: V1Pod,
  opts: { ifname?: string; node?: TestNode; config?: Record<string, unknown> } = {},
): Promise<ProcessOutcome> {
  const n = opts.node ?? node;
  return callPlugin(cniEnv(command, ref(pod), { ifname: opts.ifname ?? 'eth0' }), {
    ...netConf(n, bed.testbed.kubeconfig),
    ...opts.config,
  });
}

const addresses = (out: ProcessOutcome) =>
  ((out.json?.ips ?? []) as Array<{ address: string }>).map((ip) => ip.address);
const ippool = (ipv4: string[], ipv6?: string[]) => ({
  'ipam.spidernet.io/ippool': JSON.stringify({ ipv4, ...(ipv6 ? { ipv6 } : {}) }),
});

test('a StatefulSet pod keeps its address across pods while its ordinal is in range, and gives it back after', async () => {
  const pool = await bed.fixtures.pool({ subnet: '198.18.70.0/24', ips: ['198.18.70.10-198.18.70.19'] });
  const apps = bed.fixtures.admin.makeApiClient(AppsV1Api);
  const labels = { app: 'web' };
  const sts = await apps.createNamespacedStatefulSet({
    namespace: bed.namespace,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        serviceName: 'web',
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'c', image: 'registry.invalid/none' }] },
        },
      },
    },
  });
  const owner = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    name: 'web',
    uid: sts.metadata?.uid ?? '',
    controller: true,
  };
  const podOf = () =>
    bed.fixtures.pod({
      namespace: bed.namespace,
      name: 'web-1',
      nodeName: node.name,
      labels,
      annotations: ippool([pool]),
      ownerReferences: [owner],
    });

  const first = await podOf();
  const add = await call('ADD', first);
  expect(addresses(add)).toEqual(['198.18.70.10/24']);
  const endpoint = await bed.fixtures.endpoint(bed.namespace, 'web-1');
  expect(endpoint?.metadata.ownerReferences).toBeUndefined();
  expect(endpoint?.status).toMatchObject({ ownerControllerType: 'StatefulSet', ownerControllerName: 'web' });

  // The pod is replaced: DEL keeps the address, the new pod takes it over.
  await bed.fixtures.deletePod(bed.namespace, 'web-1');
  expect((await call('DEL', first)).code).toBe(0);
  expect((await bed.fixtures.poolState(pool)).records.map((r) => r.podUid)).toEqual([first.metadata?.uid]);
  const second = await podOf();
  expect(addresses(await call('ADD', second))).toEqual(['198.18.70.10/24']);
  expect((await bed.fixtures.poolState(pool)).records.map((r) => [r.pod, r.podUid])).toEqual([
    [`${bed.namespace}/web-1`, second.metadata?.uid],
  ]);
  expect((await bed.fixtures.endpoint(bed.namespace, 'web-1'))?.status?.current.uid).toBe(
    second.metadata?.uid,
  );

  // Scaled down below the ordinal: the address comes back and the endpoint goes.
  await apps.replaceNamespacedStatefulSet({
    namespace: bed.namespace,
    name: 'web',
    body: { ...sts, spec: { ...sts.spec, replicas: 1 } } as never,
  });
  await bed.fixtures.deletePod(bed.namespace, 'web-1');
  expect((await call('DEL', second)).code).toBe(0);
  expect((await bed.fixtures.poolState(pool)).records).toEqual([]);
  expect(await bed.fixtures.endpoint(bed.namespace, 'web-1')).toBeUndefined();
});

test('KubeVirt launcher pods: a VM that is going gets nothing; with enableKubevirtStaticIP off a launcher pod is stateless', async () => {
  await ensureKubeVirtCrds(bed.fixtures.admin);
  const pool = await bed.fixtures.pool({ subnet: '198.18.71.0/24', ips: ['198.18.71.10-198.18.71.19'] });
  // A standalone VMI being deleted (held by a finalizer): the VM identity is no longer valid. (A VMI
  // that does not exist at all would make the garbage collector delete the pod first.)
  const vmis = {
    group: kubevirtGroup,
    version: kubevirtVersion,
    plural: kubevirtKinds.vmi.plural,
    namespace: bed.namespace,
  };
  const vmi = (await bed.fixtures.objects.createNamespacedCustomObject({
    ...vmis,
    body: {
      apiVersion: kubevirtApiVersion,
      kind: 'VirtualMachineInstance',
      metadata: { name: 'going-vm', finalizers: ['test.spiderpool-ts.io/hold'] },
      spec: { domain: { devices: {} } },
    },
  })) as { metadata: { uid: string } };
  const owner = {
    apiVersion: kubevirtApiVersion,
    kind: 'VirtualMachineInstance',
    name: 'going-vm',
    uid: vmi.metadata.uid,
    controller: true,
  };
  const launcher = await bed.fixtures.pod({
    namespace: bed.namespace,
    name: 'virt-launcher-going-vm-x',
    nodeName: node.name,
    annotations: ippool([pool]),
    ownerReferences: [owner],
  });
  try {
    await bed.fixtures.objects.deleteNamespacedCustomObject({
      ...vmis,
      name: 'going-vm',
      propagationPolicy: 'Background',
    });
    const refused = await call('ADD', launcher);
    expect(refused.json).toMatchObject({
      code: 106,
      msg: `VM ${bed.namespace}/going-vm: the VMI is terminating and no VM owns it; launcher pod ${bed.namespace}/virt-launcher-going-vm-x gets no address`,
    });

    const plain = bed.testbed.node('id-plain', { enableKubevirtStaticIP: false });
    expect(addresses(await call('ADD', launcher, { node: plain }))).toEqual(['198.18.71.10/24']);
    const endpoint = await bed.fixtures.endpoint(bed.namespace, 'virt-launcher-going-vm-x');
    expect(endpoint?.status?.ownerControllerType).toBe('VirtualMachineInstance');
    expect(endpoint?.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Pod', name: 'virt-launcher-going-vm-x', uid: launcher.metadata?.uid },
    ]);
  } finally {
    await bed.fixtures.objects.patchNamespacedCustomObject(
      { ...vmis, name: 'going-vm', body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
});

test('an exhausted pool falls back to the next one; a dual-stack ADD that cannot get IPv6 keeps no IPv4 either', async () => {
  const small = await bed.fixtures.pool({ subnet: '198.18.72.0/24', ips: ['198.18.72.10'] });
  const next = await bed.fixtures.pool({ subnet: '198.18.73.0/24', ips: ['198.18.73.10-198.18.73.19'] });
  const full6 = await bed.fixtures.pool({ subnet: 'fd00:72::/64', ips: ['fd00:72::10'] });
  const a = await bed.fixtures.pod({
    namespace: bed.namespace,
    name: 'fallback-a',
    nodeName: node.name,
    annotations: ippool([small, next], [full6]),
  });
  expect(addresses(await call('ADD', a)).sort()).toEqual(['198.18.72.10/24', 'fd00:72::10/64']);
  const b = await bed.fixtures.pod({
    namespace: bed.namespace,
    name: 'fallback-b',
    nodeName: node.name,
    annotations: ippool([small, next]),
  });
  expect(addresses(await call('ADD', b))).toEqual(['198.18.73.10/24']);

  const c = await bed.fixtures.pod({
    namespace: bed.namespace,
    name: 'fallback-c',
    nodeName: node.name,
    annotations: ippool([next], [full6]),
  });
  const failed = await call('ADD', c);
  expect(failed.json).toMatchObject({
    code: 102,
    msg: expect.stringContaining(`pool ${full6} has no free IPv6 address`),
  });
  // The IPv4 address the failed ADD got in the same batch went back to its pool.
  expect((await bed.fixtures.poolState(next)).records.map((r) => r.podUid)).toEqual([b.metadata?.uid]);
  expect(await bed.fixtures.endpoint(bed.namespace, 'fallback-c')).toBeUndefined();
});

test('unnamed ipam.spidernet.io/ippools: eth0 and the Multus networks by position, all on the first ADD', async () => {
  const a = await bed.fixtures.pool({ subnet: '198.18.74.0/24', ips: ['198.18.74.10-198.18.74.19'] });
  const b = await bed.fixtures.pool({ subnet: '198.18.75.0/24', ips: ['198.18.75.10-198.18.75.19'] });
  const pod = await bed.fixtures.pod({
    namespace: bed.namespace,
    name: 'unnamed',
    nodeName: node.name,
    annotations: {
      'k8s.v1.cni.cncf.io/networks': `${bed.namespace}/macvlan-b`,
      'ipam.spidernet.io/ippools': JSON.stringify([{ ipv4: [a] }, { ipv4: [b] }]),
    },
  });
  expect(addresses(await call('ADD', pod))).toEqual(['198.18.74.10/24']);
  expect(
    (await bed.fixtures.endpoint(bed.namespace, 'unnamed'))?.status?.current.ips.map((e) => [
      e.interface,
      e.ipv4,
    ]),
  ).toEqual([
    ['eth0', '198.18.74.10/24'],
    ['net1', '198.18.75.10/24'],
  ]);
  expect(addresses(await call('ADD', pod, { ifname: 'net1' }))).toEqual(['198.18.75.10/24']);
  // A retried ADD returns the same address.
  expect(addresses(await call('ADD', pod))).toEqual(['198.18.74.10/24']);
});

test('CHECK names what differs; a pod that is not alive or not there gets nothing', async () => {
  const pool = await bed.fixtures.pool({ subnet: '198.18.76.0/24', ips: ['198.18.76.10-198.18.76.19'] });
  const pod = await bed.fixtures.pod({
    namespace: bed.namespace,
    name: 'checked',
    nodeName: node.name,
    annotations: ippool([pool]),
  });
  const add = await call('ADD', pod);
  expect(add.code).toBe(0);
  expect((await call('CHECK', pod, { config: { prevResult: add.json } })).code).toBe(0);
  const wrong = await call('CHECK', pod, {
    config: { prevResult: { ...add.json, ips: [{ address: '198.18.76.99/24' }] } },
  });
  expect(wrong.json).toMatchObject({
    code: 107,
    msg: `eth0: prevResult has 198.18.76.99/24, SpiderEndpoint ${bed.namespace}/checked records 198.18.76.10/24`,
  });

  const ghost = { metadata: { name: 'no-such-pod', uid: 'u-none' } } as V1Pod;
  expect((await call('ADD', ghost)).json).toMatchObject({
    code: 106,
    msg: `pod ${bed.namespace}/no-such-pod not found`,
  });
  const finished = await bed.fixtures.pod({
    namespace: bed.namespace,
    name: 'finished',
    nodeName: node.name,
    annotations: ippool([pool]),
  });
  await bed.fixtures.core.replaceNamespacedPodStatus({
    namespace: bed.namespace,
    name: 'finished',
    body: {
      ...finished,
      spec: { ...finished.spec, restartPolicy: 'Always' },
      status: { phase: 'Failed', reason: 'Evicted' },
    } as never,
  });
  expect((await call('ADD', finished)).json).toMatchObject({
    code: 106,
    msg: expect.stringContaining('the pod was evicted'),
  });
});
