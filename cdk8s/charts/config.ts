// The ConfigMap `spiderpool-conf`: Spiderpool's switches under Spiderpool's key names, plus our GC
// and webhook settings. The operator reads it at start; the node installer copies it as JSON next to
// the plugin's kubeconfig, where the plugin reads it on every call.
import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { stringify } from 'yaml';
import type { ConfYml } from '../../api/install/conf-yml.js';
import { objectNames } from '../../api/install/names.js';
import type { Values } from '../values/schema.js';
import { componentLabels } from './labels.js';

/** The content of `conf.yml`, the installation's contract (api/install/conf-yml.ts). */
export type SpiderpoolConf = ConfYml;

export function spiderpoolConf(values: Values): SpiderpoolConf {
  const { gc, ...switches } = values.ipam;
  return {
    ...switches,
    gc: { ...gc },
    ...(values.multus.clusterNetwork ? { clusterNetwork: values.multus.clusterNetwork } : {}),
    ...(values.webhook.tlsSecretName ? { webhook: { tlsSecretName: values.webhook.tlsSecretName } } : {}),
  };
}

export class ConfigChart extends Chart {
  readonly configMap: kplus.ConfigMap;

  constructor(scope: Construct, id: string, values: Values) {
    super(scope, id, { labels: componentLabels('config') });
    this.configMap = new kplus.ConfigMap(this, 'conf', {
      metadata: { name: objectNames.configMap, namespace: values.namespace },
      data: { [objectNames.configKey]: stringify(spiderpoolConf(values)) },
    });
  }
}
