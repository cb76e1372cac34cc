// The CustomResourceDefinitions: Spiderpool's six (from api/, the one definition) and, optionally,
// Multus' NetworkAttachmentDefinition so that the optional NADs apply on a cluster without Multus.

import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { type CrdDefinition, ipamClaimCrd, spiderpoolCrds } from '../../api/index.js';
import { componentLabels } from './labels.js';
import { networkAttachmentDefinitionCrd } from './multus-crd.js';

type CrdVersion = CrdDefinition['spec']['versions'][number];

/**
 * The L1 CRD construct, with what its typed props (Kubernetes 1.27) do not know set after
 * serialisation: the schema (the CEL rules' `reason` and `fieldPath` are 1.28, and our wire spelling)
 * and `selectableFields` (1.32). Its toJson re-serialises every prop through those types, silently
 * dropping unknown fields, so a JSON patch or extra props would be lost.
 */
export class SpiderCrd extends k8s.KubeCustomResourceDefinition {
  private readonly restored: Pick<CrdVersion, 'schema' | 'selectableFields'>[];

  constructor(scope: Construct, def: CrdDefinition) {
    super(scope, def.name, {
      metadata: { name: def.name },
      spec: {
        group: def.spec.group,
        scope: def.spec.scope,
        names: def.spec.names,
        versions: def.spec.versions.map(
          ({ schema: _schema, selectableFields: _fields, ...version }) => version,
        ),
      },
    });
    this.restored = def.spec.versions.map(({ schema, selectableFields }) => ({
      schema,
      ...(selectableFields ? { selectableFields } : {}),
    }));
  }

  override toJson(): Record<string, unknown> {
    const json = super.toJson() as { spec: { versions: Array<Record<string, unknown>> } };
    this.restored.forEach(({ schema, selectableFields }, i) => {
      const version = json.spec.versions[i];
      if (!version) return;
      version.schema = structuredClone(schema);
      if (selectableFields) version.selectableFields = structuredClone(selectableFields);
    });
    return json;
  }
}

export interface CrdsChartProps {
  /** Also install Multus' NetworkAttachmentDefinition CRD. */
  multus: boolean;
  /** Also install the IPAMClaim CRD (values `ipam.enableIPAMClaim`). */
  ipamClaim?: boolean;
}

export class CrdsChart extends Chart {
  constructor(scope: Construct, id: string, props: CrdsChartProps) {
    super(scope, id, { labels: componentLabels('crds') });
    for (const def of spiderpoolCrds) new SpiderCrd(this, def);
    if (props.multus) new SpiderCrd(this, networkAttachmentDefinitionCrd);
    if (props.ipamClaim) new SpiderCrd(this, ipamClaimCrd);
  }
}
