// The operator's admission webhooks for pools, subnets and reserved IPs. No caBundle here: the
// operator fills it in at start (from its self-managed certificate or the user's Secret), which is
// why its RBAC may update exactly these two configurations. failurePolicy Fail: a pool written while
// the operator is down would skip the cross-object checks (overlaps, allocated addresses).

import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { group, kinds, version } from '../../api/index.js';
import { objectNames } from '../../api/install/names.js';
import type { Values } from '../values/schema.js';
import { componentLabels } from './labels.js';

type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface WebhookTarget {
  /** Plural resource name. */
  resource: string;
  mutateOperations: Operation[];
  validateOperations: Operation[];
  /** Namespaced kinds (SpiderMultusConfig) need a rule of that scope; the others are cluster-scoped. */
  scope?: 'Cluster' | 'Namespaced';
}

/** Pools and subnets are also validated on DELETE (a pool with allocations must not vanish). */
export const webhookTargets: WebhookTarget[] = [
  {
    resource: kinds.ippool.plural,
    mutateOperations: ['CREATE', 'UPDATE'],
    validateOperations: ['CREATE', 'UPDATE', 'DELETE'],
  },
  {
    resource: kinds.subnet.plural,
    mutateOperations: ['CREATE', 'UPDATE'],
    validateOperations: ['CREATE', 'UPDATE', 'DELETE'],
  },
  {
    resource: kinds.reservedip.plural,
    mutateOperations: ['CREATE', 'UPDATE'],
    validateOperations: ['CREATE', 'UPDATE'],
  },
  {
    resource: kinds.multusConfig.plural,
    mutateOperations: ['CREATE', 'UPDATE'],
    validateOperations: ['CREATE', 'UPDATE'],
    scope: 'Namespaced',
  },
  // The coordinator's rules are CEL; its webhook only fills in podCIDRType.
  { resource: kinds.coordinator.plural, mutateOperations: ['CREATE', 'UPDATE'], validateOperations: [] },
];

/** The webhook's name: `<singular>.<mutate|validate>.spiderpool.spidernet.io`. */
function webhookName(resource: string, action: 'mutate' | 'validate'): string {
  return `${resource.replace(/s$/, '')}.${action}.${group}`;
}

export class WebhooksChart extends Chart {
  constructor(scope: Construct, id: string, values: Values) {
    super(scope, id, { labels: componentLabels('webhooks') });
    const webhook = (
      resource: string,
      action: 'mutate' | 'validate',
      operations: Operation[],
      scope: 'Cluster' | 'Namespaced' = 'Cluster',
    ) => ({
      name: webhookName(resource, action),
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      timeoutSeconds: values.webhook.timeoutSeconds,
      clientConfig: {
        service: {
          name: objectNames.webhookService,
          namespace: values.namespace,
          port: 443,
          path: `/${action}/${resource}`,
        },
      },
      rules: [{ apiGroups: [group], apiVersions: [version], operations, resources: [resource], scope }],
    });
    new k8s.KubeMutatingWebhookConfiguration(this, 'mutating', {
      metadata: { name: objectNames.webhookConfiguration },
      webhooks: webhookTargets.map((t) => webhook(t.resource, 'mutate', t.mutateOperations, t.scope)),
    });
    new k8s.KubeValidatingWebhookConfiguration(this, 'validating', {
      metadata: { name: objectNames.webhookConfiguration },
      webhooks: webhookTargets
        .filter((t) => t.validateOperations.length > 0)
        .map((t) => webhook(t.resource, 'validate', t.validateOperations, t.scope)),
    });
  }
}
