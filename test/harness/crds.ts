// Test CRDs: create one (an existing one of that name is fine) and wait until the API server serves it.
// For CRDs whose schemas carry CEL rules use applyCrds: client-node's typed model drops
// `x-kubernetes-validations` inside `properties`.

import { createHash } from 'node:crypto';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import type { CrdDefinition } from '../../api/crds.js';
import { apiStatus, isNotFound } from '../../kube/errors.js';
import { readModifyWrite } from '../../kube/optimistic.js';
import { RestClient } from '../../kube/rest.js';
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

const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Marks a CRD with the digest of the spec it was written from, so an unchanged one is left alone. */
export const crdSpecDigestAnnotation = 'test.spiderpool-ts.io/crd-spec-sha256';

interface StoredCrd {
  metadata: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: unknown;
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** A CRD to apply: its name and its spec in wire spelling. */
export type AnyCrd = Pick<CrdDefinition, 'name'> & { spec: unknown };

function specDigest(crd: AnyCrd): string {
  return createHash('sha256').update(JSON.stringify(crd.spec)).digest('hex');
}

/**
 * Creates or updates one CRD as raw JSON. client-node's typed createCustomResourceDefinition runs the
 * body through its model serializer, which knows only camelCase attribute names and so drops
 * `x-kubernetes-validations` inside `properties`: the CEL rules would be lost.
 */
async function applyCrd(rest: RestClient, crd: AnyCrd): Promise<void> {
  const digest = specDigest(crd);
  const body = (existing?: StoredCrd) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      ...(existing?.metadata ?? {}),
      name: crd.name,
      annotations: { ...(existing?.metadata.annotations ?? {}), [crdSpecDigestAnnotation]: digest },
    },
    spec: crd.spec,
  });
  await readModifyWrite(
    async () => {
      try {
        return await rest.get<StoredCrd>(`${crdPath}/${crd.name}`);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    (existing: StoredCrd | undefined) =>
      existing?.metadata.annotations?.[crdSpecDigestAnnotation] === digest
        ? { result: undefined }
        : { write: existing, result: undefined },
    async (existing) => {
      // A 409 (a write in between, or AlreadyExists when another test file created it first) makes
      // readModifyWrite read it again and compare.
      if (existing) return rest.request('PUT', `${crdPath}/${crd.name}`, { body: body(existing) });
      return rest.request('POST', crdPath, { body: body() });
    },
  );
}

/**
 * Creates the CRDs, or updates those whose spec differs from the given one, and waits until they are
 * served. Never deletes them.
 */
export async function applyCrds(admin: KubeConfig, crds: readonly AnyCrd[]): Promise<void> {
  const rest = new RestClient(admin);
  try {
    for (const crd of crds) await applyCrd(rest, crd);
    for (const crd of crds) {
      await eventually(`CRD ${crd.name} to be established`, async () => {
        const got = await rest.get<StoredCrd>(`${crdPath}/${crd.name}`);
        return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
    }
  } finally {
    rest.close();
  }
}
