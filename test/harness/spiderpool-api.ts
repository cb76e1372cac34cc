// Spiderpool's API on a test control plane: the CRDs from api/crds.ts (the one definition), and
// RBAC grants for the test users while the synthesized RBAC is not what a test is about.
import {
  ApiextensionsV1Api,
  type KubeConfig,
  RbacAuthorizationV1Api,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { spiderpoolCrds } from '../../api/crds.js';
import { cniRules } from '../../cdk8s/charts/rbac.js';
import { isAlreadyExists } from '../../kube/errors.js';
import { uniqueName } from './clients.js';
import { type TestUserName, testUsers } from './users.js';
import { eventually } from './wait.js';

/** Creates Spiderpool's CRDs unless they exist, and waits until they are served. Never deletes them. */
export async function ensureSpiderpoolCrds(admin: KubeConfig): Promise<void> {
  const ext = admin.makeApiClient(ApiextensionsV1Api);
  for (const crd of spiderpoolCrds) {
    await ext
      .createCustomResourceDefinition({
        body: {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: crd.name },
          spec: crd.spec as never,
        },
      })
      .catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
  }
  for (const crd of spiderpoolCrds) {
    await eventually(`CRD ${crd.name} to be established`, async () => {
      const got = await ext.readCustomResourceDefinition({ name: crd.name });
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
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
