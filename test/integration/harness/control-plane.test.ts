// The test bed itself: behaviour that only a real API server, etcd and controller manager show.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type V1ConfigMap,
  VersionApi,
} from '@kubernetes/client-node';
import { controlPlane, kubeConfig, uniqueName } from '../../harness/clients.js';
import { createCrd } from '../../harness/crds.js';
import { eventually } from '../../harness/wait.js';

const group = 'smoke.spiderpool-ts.test';
const plural = 'widgets';

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

beforeAll(async () => {
  await createCrd(kubeConfig(), {
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: 'widget', kind: 'Widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
            },
          },
        },
      ],
    },
  });
});

test('it is the harness-built kube-apiserver that answers', async () => {
  const version = await kubeConfig().makeApiClient(VersionApi).getCode();
  expect(version.gitVersion).toMatch(/^v1\.34\./);
  expect(kubeConfig().getCurrentCluster()?.server).toBe(controlPlane().server);
});

test('a custom resource is created and listed', async () => {
  const objects = kubeConfig().makeApiClient(CustomObjectsApi);
  const name = uniqueName('w');
  await objects.createNamespacedCustomObject({
    group,
    version: 'v1',
    namespace: 'default',
    plural,
    body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name }, spec: { size: 3 } },
  });
  const list = (await objects.listNamespacedCustomObject({
    group,
    version: 'v1',
    namespace: 'default',
    plural,
  })) as {
    items: Array<{ metadata: { name: string }; spec: { size: number } }>;
  };
  expect(list.items.find((i) => i.metadata.name === name)?.spec.size).toBe(3);
});

test('an update carrying a stale resourceVersion is refused with 409 Conflict', async () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const name = uniqueName('cm');
  const created = await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name }, data: { a: '1' } },
  });
  const stale = structuredClone(created);
  await core.replaceNamespacedConfigMap({
    name,
    namespace: 'default',
    body: { ...created, data: { a: '2' } },
  });
  const err = await core
    .replaceNamespacedConfigMap({ name, namespace: 'default', body: { ...stale, data: { a: '3' } } })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(statusOf(err)).toBe(409);
  expect((await core.readNamespacedConfigMap({ name, namespace: 'default' })).data).toEqual({ a: '2' });
});

test('an object with a finalizer survives deletion until the finalizer is removed', async () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const name = uniqueName('fin');
  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name, finalizers: ['spiderpool-ts.test/hold'] } },
  });
  await core.deleteNamespacedConfigMap({ name, namespace: 'default' });
  const held = await core.readNamespacedConfigMap({ name, namespace: 'default' });
  expect(held.metadata?.deletionTimestamp).toBeDefined();

  await core.replaceNamespacedConfigMap({
    name,
    namespace: 'default',
    body: { ...held, metadata: { ...held.metadata, finalizers: [] } } as V1ConfigMap,
  });
  const err = await core.readNamespacedConfigMap({ name, namespace: 'default' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(statusOf(err)).toBe(404);
});

test('the garbage collector deletes a dependent after its owner is deleted', async () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const owner = await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name: uniqueName('owner') } },
  });
  const dependentName = uniqueName('dependent');
  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: {
      metadata: {
        name: dependentName,
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: owner.metadata?.name ?? '',
            uid: owner.metadata?.uid ?? '',
          },
        ],
      },
    },
  });
  await core.deleteNamespacedConfigMap({ name: owner.metadata?.name ?? '', namespace: 'default' });
  await eventually('the dependent to be garbage-collected', () =>
    core.readNamespacedConfigMap({ name: dependentName, namespace: 'default' }).then(
      () => false,
      (e: unknown) => statusOf(e) === 404,
    ),
  );
});

test('a deleted namespace is emptied and removed by the namespace controller', async () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const namespace = uniqueName('ns');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'inside' } } });
  await core.deleteNamespace({ name: namespace });
  await eventually('the namespace to disappear', () =>
    core.readNamespace({ name: namespace }).then(
      () => false,
      (e: unknown) => statusOf(e) === 404,
    ),
  );
});

test('RBAC is enforced: a user bound to nothing cannot list secrets', async () => {
  const core = kubeConfig('nobody').makeApiClient(CoreV1Api);
  const err = await core.listNamespacedSecret({ namespace: 'default' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(statusOf(err)).toBe(403);
});
