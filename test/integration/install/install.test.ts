// The whole installation, as a user runs it: `npm run synth` (the real command line, with the seed's
// NetworkAttachmentDefinition and default pools), then `kubectl apply` of CRDs first and the rest
// after, on a private control plane (the webhooks it installs would refuse every pool write on the
// shared one). Then the synthesized RBAC, acting as the plugin's and the operator's service accounts.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AdmissionregistrationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { apiVersion, group, kinds, kubevirtGroup, type SpiderIPPool, version } from '../../../api/index.js';
import { RestClient } from '../../../kube/rest.js';
import { SpiderpoolApi } from '../../../kube/spiderpool.js';
import { kubeConfig, outcome } from '../../harness/clients.js';
import { ControlPlane } from '../../harness/control-plane.js';
import type { TestUserName } from '../../harness/users.js';
import { eventually } from '../../harness/wait.js';
import { apply, fixture, kubectl } from './kubectl.js';

const run = promisify(execFile);

let work: string;
let cp: ControlPlane;
const manifestsDir = () => join(work, 'manifests');
const admin = () => cp.adminKubeconfig;
const as = (user: TestUserName): KubeConfig => kubeConfig(user, cp);
const namespace = 'vm-demo';

const seedNetwork = [
  'multus.networkAttachmentDefinitions[0].name=macvlan-ens192',
  'multus.networkAttachmentDefinitions[0].master=ens192',
  'multus.networkAttachmentDefinitions[0].defaultIPv4IPPool={test-ippool}',
  'clusterDefaultPool.installIPv4IPPool=true',
  'clusterDefaultPool.ipv4Subnet=198.18.0.0/16',
  'clusterDefaultPool.ipv4IPRanges={198.18.10.1-198.18.10.200}',
  'clusterDefaultPool.installIPv6IPPool=true',
  'clusterDefaultPool.ipv6Subnet=fd00:18::/64',
  'clusterDefaultPool.ipv6IPRanges={fd00:18::10-fd00:18::ff}',
];

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'spiderpool-ts-install-'));
  cp = await ControlPlane.start({ dir: join(work, 'cp'), scheduler: false, controllerManager: false });
  await run('npx', [
    'tsx',
    'cdk8s/main.ts',
    '--output',
    manifestsDir(),
    '--crds-dir',
    join(work, 'crds'),
    '--set',
    seedNetwork.join(','),
  ]);
}, 180_000);

afterAll(async () => {
  await cp?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('kubectl apply of the synthesized output', () => {
  const files = () =>
    readdirSync(manifestsDir())
      .sort()
      .map((f) => join(manifestsDir(), f));

  test('synth wrote one file per chart, CRDs first and webhooks last', () => {
    expect(readdirSync(manifestsDir()).sort()).toEqual([
      '0000-crds.k8s.yaml',
      '0001-rbac.k8s.yaml',
      '0002-config.k8s.yaml',
      '0003-node.k8s.yaml',
      '0004-operator.k8s.yaml',
      '0005-networks.k8s.yaml',
      '0006-webhooks.k8s.yaml',
    ]);
  });

  test('CRDs first, then the rest: every object is accepted and stored', async () => {
    const [crds, ...rest] = files();
    await apply(admin(), [crds as string]);
    await kubectl(admin(), ['wait', '--for=condition=Established', '--timeout=60s', '-f', crds as string]);
    await apply(admin(), rest);

    for (const file of files()) {
      const written = parseAllDocuments(readFileSync(file, 'utf8')).map(
        (d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } },
      );
      const stored = JSON.parse((await kubectl(admin(), ['get', '-f', file, '-o', 'json'])).stdout) as {
        items?: Array<{ kind: string; metadata: { name: string; namespace?: string; uid: string } }>;
        kind: string;
        metadata: { name: string; namespace?: string; uid: string };
      };
      const items = stored.items ?? [stored];
      expect(items.map((o) => [o.kind, o.metadata.name, o.metadata.namespace])).toEqual(
        written.map((o) => [o.kind, o.metadata.name, o.metadata.namespace]),
      );
      for (const item of items) expect(item.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  test('the API server kept the CEL rules, their field paths and the printer columns', async () => {
    const { stdout } = await kubectl(admin(), [
      'get',
      'crd',
      `${kinds.ippool.plural}.${group}`,
      '-o',
      'json',
    ]);
    const crd = JSON.parse(stdout);
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    expect(spec['x-kubernetes-validations'].map((r: { fieldPath: string }) => r.fieldPath)).toContain(
      '.gateway',
    );
    expect(spec.properties.subnet['x-kubernetes-validations'][0].rule).toContain('isCIDR(self)');
    expect(
      crd.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name).slice(0, 5),
    ).toEqual(['VERSION', 'SUBNET', 'ALLOCATED-IP-COUNT', 'TOTAL-IP-COUNT', 'DEFAULT']);
  });

  test('the seed’s kube-system/macvlan-ens192 and the default pools are there', async () => {
    const objects = as('admin').makeApiClient(CustomObjectsApi);
    const nad = (await objects.getNamespacedCustomObject({
      group: 'k8s.cni.cncf.io',
      version: 'v1',
      plural: 'network-attachment-definitions',
      namespace: 'kube-system',
      name: 'macvlan-ens192',
    })) as { spec: { config: string } };
    expect(JSON.parse(nad.spec.config).plugins[0]).toMatchObject({
      type: 'macvlan',
      master: 'ens192',
      ipam: { type: 'spiderpool', default_ipv4_ippool: ['test-ippool'] },
    });
    const api = new SpiderpoolApi(new RestClient(as('admin')));
    expect((await api.getPool('default-v4-ippool')).spec).toMatchObject({
      subnet: '198.18.0.0/16',
      default: true,
    });
    expect((await api.getPool('default-v6-ippool')).spec).toMatchObject({
      ipVersion: 6,
      subnet: 'fd00:18::/64',
    });
  });

  test('the webhooks are in force: with no operator answering, a pool write is refused (failurePolicy Fail)', async () => {
    const api = new SpiderpoolApi(new RestClient(as('admin')));
    const pool: SpiderIPPool = { metadata: { name: 'refused' }, spec: { subnet: '198.19.0.0/24' } };
    await expect(api.createPool(pool)).rejects.toMatchObject({
      body: expect.stringContaining(
        'failed calling webhook \\"spiderippool.mutate.spiderpool.spidernet.io\\"',
      ),
    });
  }, 30_000);

  test('the operator may update its two webhook configurations, and no others', async () => {
    const operator = as('operator').makeApiClient(AdmissionregistrationV1Api);
    const patch = { metadata: { labels: { 'spiderpool-ts.test/ca-injected': 'yes' } } };
    expect(
      await outcome(() =>
        operator.patchValidatingWebhookConfiguration(
          { name: 'spiderpool-operator', body: patch },
          mergePatch,
        ),
      ),
    ).toBe('allowed');
    expect(
      await outcome(() =>
        operator.patchMutatingWebhookConfiguration({ name: 'spiderpool-operator', body: patch }, mergePatch),
      ),
    ).toBe('allowed');
    expect(
      await outcome(() =>
        operator.createValidatingWebhookConfiguration({
          body: { metadata: { name: 'not-ours' }, webhooks: [] },
        }),
      ),
    ).toBe(403);
  });
});

describe('acting as the service accounts with the synthesized RBAC', () => {
  beforeAll(async () => {
    // No operator runs here: take its webhooks away so that the admin can create what the checks need.
    await kubectl(admin(), ['delete', '-f', join(manifestsDir(), '0006-webhooks.k8s.yaml')]);
    await apply(admin(), [fixture('kubevirt-crds.yaml')]);
    await kubectl(admin(), [
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      '-f',
      fixture('kubevirt-crds.yaml'),
    ]);
    // A just-established CRD answers 429 until its watch cache is ready (kubectl retries, client-node does not).
    const adminObjects = as('admin').makeApiClient(CustomObjectsApi);
    for (const plural of ['virtualmachines', 'virtualmachineinstances', 'virtualmachineinstancemigrations']) {
      await eventually(`${plural} to be served`, () =>
        adminObjects
          .listClusterCustomObject({ group: kubevirtGroup, version: 'v1', plural })
          .then(() => true),
      );
    }
    await kubectl(admin(), ['create', 'namespace', namespace]);
    // The control plane runs no controller manager, so the namespace's default ServiceAccount is ours to make.
    await kubectl(admin(), ['create', 'serviceaccount', 'default', '-n', namespace]);
    await apply(admin(), [fixture('seed-ippool.yaml')]);
    await apply(admin(), [fixture('seed-vm.yaml')], ['-n', namespace]);
    const core = as('admin').makeApiClient(CoreV1Api);
    await core.createNode({ body: { metadata: { name: 'node-1' } } });
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'virt-launcher-vm-cirros-abcde' },
        spec: { nodeName: 'node-1', containers: [{ name: 'compute', image: 'compute' }] },
      },
    });
    await as('admin')
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({
        group: kubevirtGroup,
        version: 'v1',
        plural: 'virtualmachineinstances',
        namespace,
        body: {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          metadata: { name: 'vm-cirros' },
        },
      });
    await core.createNamespacedSecret({
      namespace: 'kube-system',
      body: { metadata: { name: 'someone-elses' } },
    });
  }, 60_000);

  test('the seed’s VirtualMachine applied unchanged', async () => {
    const { stdout } = await kubectl(admin(), ['get', 'vm', 'vm-cirros', '-n', namespace, '-o', 'json']);
    expect(JSON.parse(stdout).spec.template.metadata.annotations).toEqual({
      'v1.multus-cni.io/default-network': 'kube-system/macvlan-ens192',
    });
  });

  test('the plugin reads the pod, its namespace and node, the VMI and migrations', async () => {
    const cni = as('cni');
    const core = cni.makeApiClient(CoreV1Api);
    const objects = cni.makeApiClient(CustomObjectsApi);
    const pod = await core.readNamespacedPod({ name: 'virt-launcher-vm-cirros-abcde', namespace });
    expect(pod.spec?.nodeName).toBe('node-1');
    expect((await core.readNamespace({ name: namespace })).metadata?.name).toBe(namespace);
    expect((await core.readNode({ name: 'node-1' })).metadata?.name).toBe('node-1');
    const vmi = (await objects.getNamespacedCustomObject({
      group: kubevirtGroup,
      version: 'v1',
      plural: 'virtualmachineinstances',
      namespace,
      name: 'vm-cirros',
    })) as { metadata: { name: string } };
    expect(vmi.metadata.name).toBe('vm-cirros');
    const migrations = (await objects.listNamespacedCustomObject({
      group: kubevirtGroup,
      version: 'v1',
      plural: 'virtualmachineinstancemigrations',
      namespace,
    })) as { items: unknown[] };
    expect(migrations.items).toEqual([]);
  });

  test('the plugin writes a pool’s status and keeps an endpoint', async () => {
    const api = new SpiderpoolApi(new RestClient(as('cni')));
    const pool = await api.getPool('test-ippool');
    pool.status = {
      allocatedIPs: JSON.stringify({ '10.6.168.105': { pod: `${namespace}/vm-cirros`, podUid: 'uid-1' } }),
      allocatedIPCount: 1,
    };
    const written = await api.replacePoolStatus(pool);
    expect(written.status?.allocatedIPCount).toBe(1);
    const endpoint = await api.createEndpoint({
      metadata: { name: 'vm-cirros', namespace },
      status: {
        current: {
          uid: 'uid-1',
          node: 'node-1',
          ips: [{ interface: 'eth0', ipv4: '10.6.168.105/16', ipv4Pool: 'test-ippool' }],
        },
        ownerControllerType: 'VirtualMachineInstance',
        ownerControllerName: 'vm-cirros',
      },
    });
    expect(endpoint.metadata.uid).toBeDefined();
    await api.deleteEndpoint(namespace, 'vm-cirros', endpoint.metadata.uid);
  });

  test('the plugin is refused Secrets, pool specs and pod lists', async () => {
    const cni = as('cni');
    const core = cni.makeApiClient(CoreV1Api);
    const api = new SpiderpoolApi(new RestClient(cni));
    expect(
      await outcome(() => core.readNamespacedSecret({ name: 'someone-elses', namespace: 'kube-system' })),
    ).toBe(403);
    expect(await outcome(() => core.listNamespacedSecret({ namespace: 'kube-system' }))).toBe(403);
    expect(await outcome(() => core.listNamespacedPod({ namespace }))).toBe(403);
    const pool = await api.getPool('test-ippool');
    pool.spec.disable = true;
    expect(await outcome(() => api.replacePool(pool))).toBe(403);
    expect(
      await outcome(() =>
        cni.makeApiClient(CustomObjectsApi).deleteClusterCustomObject({
          group,
          version,
          plural: kinds.ippool.plural,
          name: 'test-ippool',
        }),
      ),
    ).toBe(403);
  });

  test('the operator: pools, pods, events, its Lease and its certificate Secret, no ConfigMaps', async () => {
    const operator = as('operator');
    const core = operator.makeApiClient(CoreV1Api);
    const api = new SpiderpoolApi(new RestClient(operator));
    const leases = operator.makeApiClient(CoordinationV1Api);

    expect((await core.listNamespacedPod({ namespace })).items.map((p) => p.metadata?.name)).toEqual([
      'virt-launcher-vm-cirros-abcde',
    ]);
    const pool = await api.getPool('test-ippool');
    pool.metadata.finalizers = ['spiderpool.spidernet.io'];
    expect((await api.replacePool(pool)).metadata.finalizers).toEqual(['spiderpool.spidernet.io']);
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: 'spiderpool-' },
        involvedObject: { kind: 'Pod', name: 'virt-launcher-vm-cirros-abcde', namespace },
        reason: 'IPAllocated',
        message: 'test',
      },
    });

    const lease = await leases.createNamespacedLease({
      namespace: 'kube-system',
      body: { metadata: { name: 'spiderpool-operator' }, spec: { holderIdentity: 'operator-0' } },
    });
    lease.spec = { ...lease.spec, holderIdentity: 'operator-1' };
    await leases.replaceNamespacedLease({
      name: 'spiderpool-operator',
      namespace: 'kube-system',
      body: lease,
    });
    expect(
      await outcome(() =>
        leases.readNamespacedLease({ name: 'kube-controller-manager', namespace: 'kube-system' }),
      ),
    ).toBe(403);

    await core.createNamespacedSecret({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'spiderpool-operator-webhook-tls' },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': '', 'tls.key': '' },
      },
    });
    const secret = await core.readNamespacedSecret({
      name: 'spiderpool-operator-webhook-tls',
      namespace: 'kube-system',
    });
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(
      await outcome(() => core.readNamespacedSecret({ name: 'someone-elses', namespace: 'kube-system' })),
    ).toBe(403);
    expect(await outcome(() => core.listNamespacedSecret({ namespace: 'kube-system' }))).toBe(403);

    // conf.yml reaches the operator as a mounted file: no ConfigMap is readable, its own included.
    expect(await outcome(() => core.listNamespacedConfigMap({ namespace: 'kube-system' }))).toBe(403);
    expect(await outcome(() => core.listNamespacedConfigMap({ namespace }))).toBe(403);
    expect(
      await outcome(() => core.deleteNamespacedPod({ name: 'virt-launcher-vm-cirros-abcde', namespace })),
    ).toBe(403);
    // Release: its finalizer off again, as the operator does when a pool is empty.
    const again = await api.getPool('test-ippool');
    again.metadata.finalizers = [];
    await api.replacePool({ ...again, apiVersion });
  });
});
