// The CustomResourceDefinitions: Spiderpool's four (from api/, the one definition) and, optionally,
// Multus' NetworkAttachmentDefinition so that the optional NADs apply on a cluster without Multus.

import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { type CrdDefinition, spiderpoolCrds } from '../../api/index.js';
import { componentLabels } from './labels.js';
import { networkAttachmentDefinitionCrd } from './multus-crd.js';

/**
 * The L1 CRD construct, with the schema set after serialisation: the construct's typed props
 * (Kubernetes 1.27) know neither the CEL rules' `reason` and `fieldPath` (1.28) nor our wire
 * spelling, and its toJson re-serialises every prop through them (a JSON patch would be dropped).
 */
export class SpiderCrd extends k8s.KubeCustomResourceDefinition {
  private readonly schemas: CrdDefinition['spec']['versions'][number]['schema'][];

  constructor(scope: Construct, def: CrdDefinition) {
    super(scope, def.name, {
      metadata: { name: def.name },
      spec: {
        group: def.spec.group,
        scope: def.spec.scope,
        names: def.spec.names,
        versions: def.spec.versions.map(({ schema: _schema, ...version }) => version),
      },
    });
    this.schemas = def.spec.versions.map((v) => v.schema);
  }

  override toJson(): Record<string, unknown> {
    const json = super.toJson() as { spec: { versions: Array<Record<string, unknown>> } };
    this.schemas.forEach((schema, i) => {
      const version = json.spec.versions[i];
      if (version) version.schema = structuredClone(schema);
    });
    return json;
  }
}

export interface CrdsChartProps {
  /** Also install Multus' NetworkAttachmentDefinition CRD. */
  multus: boolean;
}

export class CrdsChart extends Chart {
  constructor(scope: Construct, id: string, props: CrdsChartProps) {
    super(scope, id, { labels: componentLabels('crds') });
    for (const def of spiderpoolCrds) new SpiderCrd(this, def);
    if (props.multus) new SpiderCrd(this, networkAttachmentDefinitionCrd);
  }
}
