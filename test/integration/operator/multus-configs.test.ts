// SpiderMultusConfig on the real control plane, with the synthesized CRDs, RBAC and webhook
// configurations, the operator as its service account and kube-controller-manager's garbage
// collector: each cniType renders the NetworkAttachmentDefinition Spiderpool's docs show (the cases
// and their sources are in test/unit/multus/doc-cases.ts), updates follow, deletion removes it, a
// NAD the SpiderMultusConfig does not own is left alone with a Warning Event. The webhook's refusals
// are in invalid-resources.test.ts.
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import {
  apiVersion,
  group,
  kinds,
  type MultusConfigSpec,
  type SpiderCoordinator,
  type SpiderMultusConfig,
  version,
} from '../../../api/index.js';
import { isNotFound } from '../../../kube/errors.js';
import {
  type NetworkAttachmentDefinition,
  nadGroup,
  nadPlural,
  nadVersion,
} from '../../../multus/ownership.js';
import { waitEstablished } from '../../harness/crds.js';
import { eventually } from '../../harness/wait.js';
import { docCases } from '../../unit/multus/doc-cases.js';
import { startWebhookCluster } from './fixtures/webhook-cluster.js';
import type { OperatorProcess } from './operator-process.js';
import type { PrivateCluster } from './private-cluster.js';

const ns = 'kube-system';
let cluster: PrivateCluster;
let op: OperatorProcess;
let objects: CustomObjectsApi;

const smcRef = { group, version, plural: kinds.multusConfig.plural };
const nadRef = { group: nadGroup, version: nadVersion, plural: nadPlural };

beforeAll(async () => {
  ({ cluster, op } = await startWebhookCluster({ identity: 'multus-op', controllerManager: true }));
  await waitEstablished(cluster.kc, `${kinds.multusConfig.plural}.${group}`);
  await waitEstablished(cluster.kc, `${nadPlural}.${nadGroup}`);
  objects = cluster.kc.makeApiClient(CustomObjectsApi);
  // The webhooks answer once the operator has written its CA bundle: until then creates fail.
  await eventually('the webhook answers', () => createSmc('probe', { cniType: 'custom' }).then(() => true));
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await cluster?.stop();
});

function createSmc(name: string, spec: MultusConfigSpec, annotations?: Record<string, string>) {
  const body: SpiderMultusConfig = {
    apiVersion,
    kind: kinds.multusConfig.kind,
    metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
    spec,
  };
  return objects.createNamespacedCustomObject({
    ...smcRef,
    namespace: ns,
    body,
  }) as Promise<SpiderMultusConfig>;
}

const getSmc = (name: string) =>
  objects.getNamespacedCustomObject({ ...smcRef, namespace: ns, name }) as Promise<SpiderMultusConfig>;

async function getNad(name: string): Promise<NetworkAttachmentDefinition | undefined> {
  try {
    return (await objects.getNamespacedCustomObject({
      ...nadRef,
      namespace: ns,
      name,
    })) as NetworkAttachmentDefinition;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

const configOf = (nad: NetworkAttachmentDefinition | undefined) => JSON.parse(nad?.spec?.config ?? 'null');

describe('each cniType renders the NetworkAttachmentDefinition of Spiderpool’s docs', () => {
  test.each(docCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const smc = await createSmc(c.name, c.spec);
    const nad = await eventually(`NAD ${c.name}`, () => getNad(c.name));
    expect(configOf(nad)).toEqual(c.config);
    expect(nad.metadata.annotations ?? {}).toEqual(c.annotations ?? {});
    expect(nad.metadata.ownerReferences).toEqual([
      {
        apiVersion,
        kind: 'SpiderMultusConfig',
        name: c.name,
        uid: smc.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });
});

test('the annotations name the NAD and its CNI version (the reference sample)', async () => {
  await createSmc(
    'demo',
    { cniType: 'macvlan', macvlan: { master: ['eth0'], vlanID: 100 } },
    {
      'multus.spidernet.io/cr-name': 'macvlan-100',
      'multus.spidernet.io/cni-version': '0.4.0',
      'cni.spidernet.io/cniconfig-name': 'macvlan-100',
    },
  );
  const nad = await eventually('NAD macvlan-100', () => getNad('macvlan-100'));
  expect(configOf(nad)).toMatchObject({
    cniVersion: '0.4.0',
    name: 'macvlan-100',
    plugins: [
      { type: 'ifacer', interfaces: ['eth0'], vlanID: 100 },
      { master: 'eth0.100' },
      { type: 'coordinator' },
    ],
  });
  expect(await getNad('demo')).toBeUndefined();
});

test('an update of the SpiderMultusConfig is followed by its NAD', async () => {
  await createSmc('follows', { cniType: 'macvlan', macvlan: { master: ['eth0'] } });
  await eventually('NAD follows', () => getNad('follows'));
  const smc = await getSmc('follows');
  await objects.replaceNamespacedCustomObject({
    ...smcRef,
    namespace: ns,
    name: 'follows',
    body: {
      ...smc,
      spec: { ...smc.spec, macvlan: { master: ['eth1'], mtu: 1400, ippools: { ipv4: ['v4-a'] } } },
    },
  });
  const nad = await eventually('NAD updated', async () => {
    const n = await getNad('follows');
    return configOf(n)?.plugins?.[0]?.master === 'eth1' ? n : undefined;
  });
  expect(configOf(nad).plugins[0]).toEqual({
    type: 'macvlan',
    master: 'eth1',
    mode: 'bridge',
    mtu: 1400,
    ipam: { type: 'spiderpool', default_ipv4_ippool: ['v4-a'] },
  });
});

test('deleting the SpiderMultusConfig removes its NAD', async () => {
  await createSmc('goes', { cniType: 'ipvlan', ipvlan: { master: ['eth0'] } });
  await eventually('NAD goes', () => getNad('goes'));
  await objects.deleteNamespacedCustomObject({ ...smcRef, namespace: ns, name: 'goes' });
  await eventually('NAD removed', async () => (await getNad('goes')) === undefined);
});

test('its NAD edited or deleted by hand is rendered again from the SpiderMultusConfig', async () => {
  await createSmc('by-hand', { cniType: 'macvlan', macvlan: { master: ['eth0'] } });
  const rendered = await eventually('NAD by-hand', () => getNad('by-hand'));
  const want = configOf(rendered);
  await objects.replaceNamespacedCustomObject({
    ...nadRef,
    namespace: ns,
    name: 'by-hand',
    body: { ...rendered, spec: { config: JSON.stringify({ ...want, plugins: [] }) } },
  });
  await eventually('the edit undone', async () => {
    const nad = await getNad('by-hand');
    return nad?.metadata.resourceVersion !== rendered.metadata.resourceVersion &&
      JSON.stringify(configOf(nad)) === JSON.stringify(want)
      ? nad
      : undefined;
  });
  const before = await getNad('by-hand');
  await objects.deleteNamespacedCustomObject({ ...nadRef, namespace: ns, name: 'by-hand' });
  const again = await eventually('the NAD made again', async () => {
    const nad = await getNad('by-hand');
    return nad && nad.metadata.uid !== before?.metadata.uid ? nad : undefined;
  });
  expect(configOf(again)).toEqual(want);
});

test('a NAD it does not own is never overwritten; a Warning Event says why', async () => {
  const foreign = { cniVersion: '0.3.1', name: 'foreign', type: 'bridge', bridge: 'br9' };
  await objects.createNamespacedCustomObject({
    ...nadRef,
    namespace: ns,
    body: {
      apiVersion: `${nadGroup}/${nadVersion}`,
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'foreign' },
      spec: { config: JSON.stringify(foreign) },
    },
  });
  await createSmc('foreign', { cniType: 'macvlan', macvlan: { master: ['eth0'] } });
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const event = await eventually('a Warning Event on the SpiderMultusConfig', async () => {
    const events = await core.listNamespacedEvent({ namespace: ns });
    return events.items.find(
      (e) => e.involvedObject.name === 'foreign' && e.reason === 'NetworkAttachmentDefinitionNotOwned',
    );
  });
  expect(event.type).toBe('Warning');
  expect(event.message).toMatch(/kube-system\/foreign exists .* left unchanged/);
  const nad = await getNad('foreign');
  expect(configOf(nad)).toEqual(foreign);
  expect(nad?.metadata.ownerReferences).toBeUndefined();
  // Edited by hand afterwards, it is still not rewritten: the watch of NADs leaves foreign ones be.
  const edited = { ...foreign, bridge: 'br8' };
  await objects.replaceNamespacedCustomObject({
    ...nadRef,
    namespace: ns,
    name: 'foreign',
    body: { ...nad, spec: { config: JSON.stringify(edited) } },
  });
  // The owned NAD below is rewritten within this time, so the operator has had its chance.
  await createSmc('foreign-witness', { cniType: 'macvlan', macvlan: { master: ['eth0'] } });
  await eventually('the witness NAD', () => getNad('foreign-witness'));
  const after = await getNad('foreign');
  expect(configOf(after)).toEqual(edited);
  expect(after?.metadata.ownerReferences).toBeUndefined();
});

describe('the mutating webhook', () => {
  test('a custom network gets no coordinator from the mutating webhook', async () => {
    await createSmc('custom-plain', { cniType: 'custom', coordinator: { mode: 'underlay' } });
    const smc = await getSmc('custom-plain');
    expect(smc.spec).toMatchObject({ enableCoordinator: false });
    expect(smc.spec?.coordinator).toBeUndefined();
  });
});

test('the operator creates SpiderCoordinator default and fills its status from ServiceCIDRs and Node podCIDRs', async () => {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  await core.createNode({
    body: {
      metadata: { name: 'scc-node' },
      spec: { podCIDR: '198.18.128.0/24', podCIDRs: ['198.18.128.0/24'] },
    },
  });
  const serviceCIDRs = (
    (await objects.listClusterCustomObject({
      group: 'networking.k8s.io',
      version: 'v1',
      plural: 'servicecidrs',
    })) as {
      items: Array<{ spec: { cidrs: string[] } }>;
    }
  ).items.flatMap((s) => s.spec.cidrs);
  expect(serviceCIDRs.length).toBeGreaterThan(0);
  const scc = { group, version, plural: kinds.coordinator.plural, name: 'default' };
  // The periodic sync (30 s) or the next change picks up the new Node; a change is quicker.
  await eventually('SpiderCoordinator default', () =>
    objects.getClusterCustomObject(scc).catch(() => undefined),
  );
  await eventually('a spec change (retried on conflicts with the status writes)', async () => {
    const o = (await objects.getClusterCustomObject(scc)) as SpiderCoordinator;
    const body = { ...o, spec: { ...o.spec, txQueueLen: 1 } };
    return objects.replaceClusterCustomObject({ ...scc, body }).then(() => true);
  });
  const status = await eventually(
    'status with the Node podCIDR',
    async () => {
      const o = (await objects.getClusterCustomObject(scc)) as { status?: Record<string, unknown> };
      return (o.status?.overlayPodCIDR as string[] | undefined)?.includes('198.18.128.0/24')
        ? o.status
        : undefined;
    },
    { timeoutMs: 45_000 },
  );
  expect(status).toEqual({
    phase: 'Synced',
    overlayPodCIDR: ['198.18.128.0/24'],
    serviceCIDR: [...serviceCIDRs].sort(),
  });
}, 60_000);
