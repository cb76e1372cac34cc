// Names of the installed objects that other parts rely on (RBAC subjects, the plugin's kubeconfig
// location). The test harness issues tokens for exactly these service accounts, so the synthesized
// RBAC is what the tests exercise.
export const installDefaults = {
  namespace: 'kube-system',
  operatorServiceAccount: 'spiderpool-operator',
  cniServiceAccount: 'spiderpool-cni',
} as const;
