// Spiderpool's API on a test control plane: the CRDs from api/crds.ts (the one definition), and
// RBAC grants for the test users while the synthesized RBAC is not what a test is about.
import { createHash } from 'node:crypto';
import { type KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { type CrdDefinition, spiderpoolCrds } from '../../api/crds.js';
import { cniRules } from '../../cdk8s/charts/rbac.js';
import { isNotFound } from '../../kube/errors.js';
import { readModifyWrite } from '../../kube/optimistic.js';
import { RestClient } from '../../kube/rest.js';
import { uniqueName } from './clients.js';
import { type TestUserName, testUsers } from './users.js';
import { eventually } from './wait.js';

const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Marks a CRD with the digest of the spec it was written from, so an unchanged one is left alone. */
export const crdSpecDigestAnnotation = 'test.spiderpool-ts.io/crd-spec-sha256';

interface StoredCrd {
  metadata: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: unknown;
  status?: { conditions?: Array<{ type: string; status: string }> };
}

function specDigest(crd: CrdDefinition): string {
  return createHash('sha256').update(JSON.stringify(crd.spec)).digest('hex');
}

/**
 * Creates or updates one CRD as raw JSON. client-node's typed createCustomResourceDefinition runs the
 * body through its model serializer, which knows only camelCase attribute names and so drops
 * `x-kubernetes-validations` inside `properties`: the CEL rules would be lost.
 */
async function applyCrd(rest: RestClient, crd: CrdDefinition): Promise<void> {
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
 * Creates Spiderpool's CRDs, or updates those whose spec differs from api/crds.ts, and waits until
 * they are served. Never deletes them.
 */
export async function ensureSpiderpoolCrds(admin: KubeConfig): Promise<void> {
  const rest = new RestClient(admin);
  try {
    for (const crd of spiderpoolCrds) await applyCrd(rest, crd);
    for (const crd of spiderpoolCrds) {
      await eventually(`CRD ${crd.name} to be established`, async () => {
        const got = await rest.get<StoredCrd>(`${crdPath}/${crd.name}`);
        return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
    }
  } finally {
    rest.close();
  }
}

/** Grants `user` the rules cluster-wide; the returned function takes the grant back. */
export async function grantClusterRules(
  admin: KubeConfig,
  user: TestUserName,
  rules: V1PolicyRule[],
): Promise<() => Promise<void>> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const name = uniqueName(`test-${user}`);
  await rbac.createClusterRole({ body: { metadata: { name }, rules } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: testUsers[user].name }],
    },
  });
  return async () => {
    await rbac.deleteClusterRoleBinding({ name });
    await rbac.deleteClusterRole({ name });
  };
}

/** The plugin's ClusterRole rules as the installation synthesizes them (cdk8s/charts/rbac.ts). */
export function cniPolicyRules(): V1PolicyRule[] {
  return cniRules().map((r) => ({
    apiGroups: [r.apiGroup],
    resources: r.resources,
    verbs: r.verbs,
    ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
  }));
}
