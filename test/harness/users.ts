// The identities a test control plane knows, as static bearer tokens.
//
// Service accounts are represented by users named exactly as Kubernetes names a service account's
// token subject (`system:serviceaccount:<namespace>:<name>`), with the groups such a token carries, so
// RBAC bindings to ServiceAccount subjects apply to them unchanged and the synthesized RBAC is what
// the tests exercise.
import { randomBytes } from 'node:crypto';
import { installDefaults } from '../../api/install/names.js';

export interface TestUser {
  /** User name the API server authenticates. */
  name: string;
  groups: string[];
}

function serviceAccount(namespace: string, name: string): TestUser {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

export const testUsers = {
  admin: { name: 'admin', groups: ['system:masters'] },
  operator: serviceAccount(installDefaults.namespace, installDefaults.operatorServiceAccount),
  cni: serviceAccount(installDefaults.namespace, installDefaults.cniServiceAccount),
  /** Authenticated, bound to nothing: for tests that expect a refusal. */
  nobody: { name: 'nobody', groups: ['system:authenticated'] },
} satisfies Record<string, TestUser>;

export type TestUserName = keyof typeof testUsers;

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

/** Lines of kube-apiserver's --token-auth-file: token,user,uid,"group1,group2". */
export function tokenFileLine(token: string, user: TestUser): string {
  return `${token},${user.name},${user.name},"${user.groups.join(',')}"`;
}
