// The cdk8s app: every chart of the installation, from resolved values. Charts depend on one
// another only to fix the order of the output files (kubectl applies a folder in name order): CRDs
// first, the webhooks last, so that a first install creates its default pools before any webhook
// refers to an operator that is not running yet.
import { App, type AppProps, YamlOutputType } from 'cdk8s';
import { ConfigChart } from './charts/config.js';
import { CrdsChart } from './charts/crds.js';
import { hasNetworks, NetworksChart } from './charts/networks.js';
import { NodeChart } from './charts/node.js';
import { OperatorChart } from './charts/operator.js';
import { RbacChart } from './charts/rbac.js';
import { WebhooksChart } from './charts/webhooks.js';
import type { Values } from './values/schema.js';

export interface Installation {
  app: App;
  crds: CrdsChart;
  rbac: RbacChart;
  config: ConfigChart;
  node: NodeChart;
  operator: OperatorChart;
  /** Absent when the values ask for no default pools and no NetworkAttachmentDefinitions. */
  networks?: NetworksChart;
  webhooks: WebhooksChart;
}

export function buildInstallation(values: Values, props: AppProps = {}): Installation {
  const app = new App({ yamlOutputType: YamlOutputType.FILE_PER_CHART, ...props });
  const crds = new CrdsChart(app, 'crds', {
    multus: values.multus.installCRD,
    ipamClaim: values.ipam.enableIPAMClaim === true,
  });
  const rbac = new RbacChart(app, 'rbac', values);
  const config = new ConfigChart(app, 'config', values);
  const node = new NodeChart(app, 'node', {
    values,
    serviceAccount: rbac.cniServiceAccount,
    configMap: config.configMap,
  });
  const operator = new OperatorChart(app, 'operator', {
    values,
    serviceAccount: rbac.operatorServiceAccount,
    configMap: config.configMap,
  });
  const networks = hasNetworks(values) ? new NetworksChart(app, 'networks', values) : undefined;
  const webhooks = new WebhooksChart(app, 'webhooks', values);

  const order = [crds, rbac, config, node, operator, networks, webhooks].filter((c) => c !== undefined);
  order.forEach((chart, i) => {
    const previous = order[i - 1];
    if (previous) chart.addDependency(previous);
  });
  return { app, crds, rbac, config, node, operator, networks, webhooks };
}

/** The manifests of every chart in apply order, as plain objects (what `synth` writes, unwritten). */
export function installationManifests(
  values: Values,
): Array<{ chart: string; objects: Record<string, unknown>[] }> {
  const { app } = buildInstallation(values);
  return app.charts.map((chart) => ({
    chart: chart.node.id,
    objects: chart.toJson() as Record<string, unknown>[],
  }));
}
