// The operator Deployment `spiderpool-operator` (leader election, so any number of replicas is safe)
// and the Service its webhooks answer on. Probes on the health port, metrics on a named port.
import { ApiObject, Chart, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import {
  imageCommands,
  nodePaths,
  objectNames,
  operatorPorts,
  operatorRuntimeEnv,
} from '../../api/install/names.js';
import type { Values } from '../values/schema.js';
import { componentLabels, operatorSelectorLabels } from './labels.js';
import { dropAddressLabel, resources, volumeMount } from './workload.js';

/** The operator's command line; ports and paths are contracts with operator/. */
export function operatorCommand(): string[] {
  return [
    imageCommands.operator,
    `--config=${nodePaths.configDir}/${objectNames.configKey}`,
    `--webhook-port=${operatorPorts.webhook}`,
    `--metrics-port=${operatorPorts.metrics}`,
    `--health-port=${operatorPorts.health}`,
  ];
}

export interface OperatorChartProps {
  values: Values;
  serviceAccount: kplus.IServiceAccount;
  configMap: kplus.IConfigMap;
}

export class OperatorChart extends Chart {
  readonly deployment: kplus.Deployment;
  readonly webhookService: kplus.Service;

  constructor(scope: Construct, id: string, { values, serviceAccount, configMap }: OperatorChartProps) {
    super(scope, id, { labels: componentLabels('operator') });
    const namespace = values.namespace;
    const deployment = new kplus.Deployment(this, 'deployment', {
      metadata: { name: objectNames.operatorDeployment, namespace },
      replicas: values.operator.replicas,
      select: false,
      podMetadata: { labels: { ...componentLabels('operator'), ...operatorSelectorLabels } },
      serviceAccount,
      // The operator talks to the API server with its own service account's token.
      automountServiceAccountToken: true,
      hostNetwork: values.operator.hostNetwork,
      dns: {
        policy: values.operator.hostNetwork
          ? kplus.DnsPolicy.CLUSTER_FIRST_WITH_HOST_NET
          : kplus.DnsPolicy.CLUSTER_FIRST,
      },
      securityContext: { ensureNonRoot: true, user: 65532, group: 65532 },
    });
    dropAddressLabel(deployment);
    deployment.select(kplus.LabelSelector.of({ labels: operatorSelectorLabels }));
    // On nodes that wait for their network (the CNI may be ours) and on control-plane nodes.
    const tolerated = ['node.kubernetes.io/not-ready', 'node-role.kubernetes.io/control-plane'];
    for (const key of tolerated) {
      deployment.scheduling.tolerate(
        kplus.Node.tainted(kplus.NodeTaintQuery.exists(key, { effect: kplus.TaintEffect.NO_SCHEDULE })),
      );
    }
    this.deployment = deployment;

    const config = kplus.Volume.fromConfigMap(this, 'config', configMap, { name: 'config' });
    const probe = (path: string) =>
      kplus.Probe.fromHttpGet(path, {
        port: operatorPorts.health,
        initialDelaySeconds: Duration.seconds(5),
        periodSeconds: Duration.seconds(10),
        failureThreshold: 3,
      });
    deployment.addContainer({
      name: 'operator',
      image: `${values.image.repository}:${values.image.tag}`,
      imagePullPolicy: values.image.pullPolicy as kplus.ImagePullPolicy,
      command: operatorCommand(),
      envVariables: {
        POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
        POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
        ...Object.fromEntries(
          Object.entries(operatorRuntimeEnv).map(([name, value]) => [name, kplus.EnvValue.fromValue(value)]),
        ),
      },
      ports: [
        { number: operatorPorts.health, name: 'health' },
        { number: operatorPorts.metrics, name: 'metrics' },
        { number: operatorPorts.webhook, name: 'webhook' },
      ],
      liveness: probe('/healthz'),
      readiness: probe('/readyz'),
      resources: resources(values.operator.resources),
      securityContext: {
        ensureNonRoot: true,
        user: 65532,
        group: 65532,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      },
      volumeMounts: [volumeMount(nodePaths.configDir, config, true)],
    });
    ApiObject.of(deployment).addJsonPatch(
      JsonPatch.add('/spec/template/spec/priorityClassName', 'system-cluster-critical'),
      JsonPatch.add('/spec/template/spec/containers/0/securityContext/capabilities', { drop: ['ALL'] }),
    );

    this.webhookService = new kplus.Service(this, 'webhook-service', {
      metadata: { name: objectNames.webhookService, namespace },
      ports: [{ name: 'webhook', port: 443, targetPort: operatorPorts.webhook }],
    });
    for (const [key, value] of Object.entries(operatorSelectorLabels)) {
      this.webhookService.selectLabel(key, value);
    }
  }
}
