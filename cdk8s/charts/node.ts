// The node DaemonSet `spiderpool-node`: copies the `spiderpool` plugin into the host's CNI bin folder
// and keeps the plugin's kubeconfig, CA and config.json in /etc/cni/net.d/spiderpool.d up to date.
// The kubeconfig carries the token of a projected, rotating service-account token volume (the
// kubelet renews it; `install --watch` rewrites the kubeconfig when it changes), so no long-lived
// Secret exists for the plugin.
//
// cdk8s-plus's defaults suit an unprivileged web service, not a root node agent: they are all
// overridden here (root, privileged with allowPrivilegeEscalation, small resources, no automounted
// token, stable names and selector).
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { imageCommands, nodeMounts, nodePaths, objectNames } from '../../api/install/names.js';
import type { Values } from '../values/schema.js';
import { componentLabels, nodeSelectorLabels } from './labels.js';
import { dropAddressLabel, resources, volumeMount } from './workload.js';

/** The token lives an hour; the kubelet replaces it after 80% of that. */
export const tokenExpirationSeconds = 3600;

export interface NodeChartProps {
  values: Values;
  serviceAccount: kplus.IServiceAccount;
  configMap: kplus.IConfigMap;
}

export class NodeChart extends Chart {
  readonly daemonSet: kplus.DaemonSet;

  constructor(scope: Construct, id: string, { values, serviceAccount, configMap }: NodeChartProps) {
    super(scope, id, { labels: componentLabels('node') });
    const ds = new kplus.DaemonSet(this, 'daemonset', {
      metadata: { name: objectNames.nodeDaemonSet, namespace: values.namespace },
      select: false,
      podMetadata: { labels: { ...componentLabels('node'), ...nodeSelectorLabels } },
      serviceAccount,
      automountServiceAccountToken: false,
      hostNetwork: true,
      dns: { policy: kplus.DnsPolicy.CLUSTER_FIRST_WITH_HOST_NET },
      securityContext: { ensureNonRoot: false, user: 0, group: 0 },
    });
    dropAddressLabel(ds);
    ds.select(kplus.LabelSelector.of({ labels: nodeSelectorLabels }));
    ds.scheduling.tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.any()));
    this.daemonSet = ds;

    const binDir = kplus.Volume.fromHostPath(this, 'cni-bin', 'cni-bin', {
      path: values.cniBinDir,
      type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
    });
    const confDir = kplus.Volume.fromHostPath(this, 'cni-conf', 'cni-conf', {
      path: nodePaths.hostCniConfDir,
      type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
    });
    const config = kplus.Volume.fromConfigMap(this, 'config', configMap, { name: 'config' });

    const nodeName = kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_NAME);
    ds.addContainer({
      name: 'install',
      image: `${values.image.repository}:${values.image.tag}`,
      imagePullPolicy: values.image.pullPolicy as kplus.ImagePullPolicy,
      command: [imageCommands.plugin, 'install', '--watch'],
      envVariables: {
        SPIDERPOOL_CNI_BIN_DIR: kplus.EnvValue.fromValue(nodeMounts.cniBinDir),
        SPIDERPOOL_CONFIG_DIR: kplus.EnvValue.fromValue(nodeMounts.pluginConfigDir),
        SPIDERPOOL_HOST_CONFIG_DIR: kplus.EnvValue.fromValue(nodePaths.hostPluginConfigDir),
        SPIDERPOOL_TOKEN_FILE: kplus.EnvValue.fromValue(`${nodePaths.tokenDir}/token`),
        SPIDERPOOL_CA_FILE: kplus.EnvValue.fromValue(`${nodePaths.tokenDir}/ca.crt`),
        SPIDERPOOL_NODE_CONFIG: kplus.EnvValue.fromValue(`${nodePaths.configDir}/${objectNames.configKey}`),
        NODE_NAME: nodeName,
        SPIDERPOOL_NODE_NAME: nodeName,
        // Bare multusName entries and default networks are in Spiderpool's (Multus's) namespace.
        SPIDERPOOL_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
      },
      resources: resources(values.node.resources),
      securityContext: {
        ensureNonRoot: false,
        user: 0,
        group: 0,
        privileged: true,
        // Kubernetes refuses privileged: true with allowPrivilegeEscalation: false (cdk8s-plus's default).
        allowPrivilegeEscalation: true,
        // Everything the installer writes goes to the host folders below.
        readOnlyRootFilesystem: true,
      },
      volumeMounts: [
        volumeMount(nodeMounts.cniBinDir, binDir),
        volumeMount(nodeMounts.cniConfDir, confDir),
        volumeMount(nodePaths.configDir, config, true),
      ],
    });

    // What cdk8s-plus-27 cannot express: a projected token volume and the priority class.
    const podSpec = '/spec/template/spec';
    ApiObject.of(ds).addJsonPatch(
      JsonPatch.add(`${podSpec}/priorityClassName`, 'system-node-critical'),
      JsonPatch.add(`${podSpec}/volumes/-`, {
        name: 'token',
        projected: {
          sources: [
            {
              serviceAccountToken: { path: 'token', expirationSeconds: tokenExpirationSeconds },
            },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          ],
        },
      }),
      JsonPatch.add(`${podSpec}/containers/0/volumeMounts/-`, {
        name: 'token',
        mountPath: nodePaths.tokenDir,
        readOnly: true,
      }),
    );
  }
}
