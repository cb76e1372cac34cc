// The installation's names and paths, which the charts (cdk8s/) write and the executables (operator/,
// cni/) rely on at run time: RBAC subjects, object names, ports, the plugin's files. Here, below both,
// so the runtime does not import the manifest generator. The test harness issues tokens for exactly
// these service accounts, so the synthesized RBAC is what the tests exercise.
export const installDefaults = {
  namespace: 'kube-system',
  operatorServiceAccount: 'spiderpool-operator',
  cniServiceAccount: 'spiderpool-cni',
} as const;

/** Names of the objects the charts create; the operator and the node installer look them up. */
export const objectNames = {
  /** ConfigMap with Spiderpool's configuration under the key `conf.yml`. */
  configMap: 'spiderpool-conf',
  configKey: 'conf.yml',
  nodeDaemonSet: 'spiderpool-node',
  operatorDeployment: 'spiderpool-operator',
  /** ClusterRoles and their bindings are named after the service account they serve. */
  operatorRole: 'spiderpool-operator',
  cniRole: 'spiderpool-cni',
  webhookService: 'spiderpool-operator-webhook',
  /** The MutatingWebhookConfiguration and the ValidatingWebhookConfiguration share this name. */
  webhookConfiguration: 'spiderpool-operator',
  /** The operator's leader-election Lease, in the install namespace. */
  leaderLease: 'spiderpool-operator',
  /** The Secret in which the operator keeps the webhook's self-managed serving certificate. */
  webhookTlsSecret: 'spiderpool-operator-webhook-tls',
} as const;

/** Ports of the operator container. */
export const operatorPorts = { health: 5720, metrics: 5721, webhook: 5722 } as const;

/** Paths inside the node DaemonSet's container and on the host. */
export const nodePaths = {
  /** Where the projected service-account token and the cluster CA appear in the container. */
  tokenDir: '/var/run/secrets/spiderpool',
  /** The ConfigMap's mount point; the node config is `<configDir>/conf.yml`. */
  configDir: '/etc/spiderpool',
  /** Host folders mounted under /host in the container. */
  hostCniConfDir: '/etc/cni/net.d',
  /** Folder (on the host) of the plugin's kubeconfig, CA and config.json. */
  hostPluginConfigDir: '/etc/cni/net.d/spiderpool.d',
  /** The plugin's kubeconfig on the host, as NetworkAttachmentDefinitions name it. */
  hostPluginKubeconfig: '/etc/cni/net.d/spiderpool.d/spiderpool.kubeconfig',
} as const;

/** The executables in the one image. */
export const imageCommands = {
  plugin: '/usr/local/bin/spiderpool',
  operator: '/usr/local/bin/spiderpool-operator',
} as const;
