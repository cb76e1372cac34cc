// Test CRDs: create one (an existing one of that name is fine) and wait until the API server serves it.
// For CRDs whose schemas carry CEL rules use spiderpool-api.ts instead: client-node's typed model drops
// `x-kubernetes-validations` inside `properties`.
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { apiStatus } from '../../kube/errors.js';
import { eventually } from './wait.js';

export async function waitEstablished(kc: KubeConfig, name: string): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  await eventually(`CRD ${name} to be established`, async () =>
    (await ext.readCustomResourceDefinition({ name })).status?.conditions?.some(
      (c) => c.type === 'Established' && c.status === 'True',
    ),
  );
}

export async function createCrd(kc: KubeConfig, crd: V1CustomResourceDefinition): Promise<void> {
  await kc
    .makeApiClient(ApiextensionsV1Api)
    .createCustomResourceDefinition({ body: crd })
    .catch((err: unknown) => {
      if (apiStatus(err) !== 409) throw err;
    });
  await waitEstablished(kc, crd.metadata?.name ?? '');
}
