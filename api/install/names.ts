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

/** The operator's executable also runs as a kubectl plugin under this name (`kubectl spiderpool ...`). */
export const kubectlPluginName = 'kubectl-spiderpool';

/** Ports of the operator container. */
export const operatorPorts = { health: 5720, metrics: 5721, webhook: 5722 } as const;

/** The files `spiderpool install` writes: the plugin into the CNI bin folder, the rest next to each other. */
export const pluginFiles = {
  binary: 'spiderpool',
  /** The coordinator meta plugin: a link to the same executable, picked by the config's `type`. */
  coordinatorLink: 'coordinator',
  kubeconfig: 'spiderpool.kubeconfig',
  ca: 'ca.crt',
  /** The node configuration (conf.yml's switches as JSON), read by the plugin on every call. */
  config: 'config.json',
} as const;

const hostCniConfDir = '/etc/cni/net.d';
/** The host's CNI plugin folder (the chart's `cniBinDir` default; kubelet's and containerd's default). */
const hostCniBinDir = '/opt/cni/bin';
const hostPluginConfigDir = `${hostCniConfDir}/spiderpool.d` as const;

/** Paths inside the node DaemonSet's container and on the host. */
export const nodePaths = {
  /** Where the projected service-account token and the cluster CA appear in the container. */
  tokenDir: '/var/run/secrets/spiderpool',
  /** The ConfigMap's mount point; the node config is `<configDir>/conf.yml`. */
  configDir: '/etc/spiderpool',
  /** Host folders mounted under /host in the container. */
  hostCniConfDir,
  hostCniBinDir,
  /** Folder (on the host) of the plugin's kubeconfig, CA and config.json. */
  hostPluginConfigDir,
  /** The plugin's kubeconfig on the host, as NetworkAttachmentDefinitions name it (the plugin's default). */
  hostPluginKubeconfig: `${hostPluginConfigDir}/${pluginFiles.kubeconfig}`,
  /** The plugin's node configuration on the host (the plugin's default). */
  hostPluginNodeConfig: `${hostPluginConfigDir}/${pluginFiles.config}`,
} as const;

/** Mount points of the host folders inside the node container (the installer's defaults). */
export const nodeMounts = {
  cniBinDir: `/host${hostCniBinDir}`,
  cniConfDir: `/host${hostCniConfDir}`,
  pluginConfigDir: `/host${hostPluginConfigDir}`,
} as const;

/** The executables in the one image. */
export const imageCommands = {
  plugin: '/usr/local/bin/spiderpool',
  operator: '/usr/local/bin/spiderpool-operator',
} as const;

/**
 * The operator's runtime environment. JavaScriptCore sizes its heap from the machine's RAM, and on a
 * node with gigabytes free it lets the heap grow to about twice what survived the last collection;
 * its "mini VM" mode grows it by about 1.27 instead. Measured with 10,000 pods and SpiderEndpoints
 * (docs/operator.md "At scale"): peak 242 -> 149 MiB, steady 165 -> 131 MiB, no slower initial sync.
 * Its growth factor lowered to 1.1 took the peak of the same sync from 144-152 to 136-142 MiB.
 * Bun reads JavaScriptCore's options only from BUN_JSC_* variables, before any code runs, so the
 * Deployment sets it (and so does the test harness that runs the executable).
 */
export const operatorRuntimeEnv = {
  BUN_JSC_forceMiniVMMode: '1',
  BUN_JSC_miniVMHeapGrowthFactor: '1.1',
} as const;
