// Service accounts and least-privilege RBAC: one ClusterRole for the CNI plugin (what it reads and
// writes on an ADD or DEL), one ClusterRole plus a namespaced Role for the operator. Each rule is
// there because the code makes that call; nothing else (no Secrets for the plugin; only the operator
// creates and deletes pools, its SpiderSubnet auto-pools).

import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import {
  defaultCoordinatorName,
  group,
  ipamClaimGroup,
  ipamClaimKind,
  kinds,
  kubevirtGroup,
  kubevirtKinds,
} from '../../api/index.js';
import { installDefaults, objectNames } from '../../api/install/names.js';
import { nadGroup, nadPlural } from '../../multus/ownership.js';
import type { Values } from '../values/schema.js';
import { componentLabels } from './labels.js';

export interface Rule {
  apiGroup: string;
  resources: string[];
  verbs: string[];
  /** Only these objects (never with create or list, which RBAC cannot narrow by name). */
  resourceNames?: string[];
}

const read = ['get', 'list', 'watch'];
const kubevirtRead: Rule = {
  apiGroup: kubevirtGroup,
  resources: [kubevirtKinds.vm.plural, kubevirtKinds.vmi.plural, kubevirtKinds.vmim.plural],
  verbs: read,
};

/** The plugin: reads the pod and its owners, allocates in pool status, keeps endpoints. */
export function cniRules(): Rule[] {
  return [
    { apiGroup: '', resources: ['pods', 'namespaces', 'nodes'], verbs: ['get'] },
    { apiGroup: 'apps', resources: ['replicasets', 'statefulsets'], verbs: ['get'] },
    { apiGroup: 'batch', resources: ['jobs'], verbs: ['get'] },
    { apiGroup: group, resources: [kinds.ippool.plural], verbs: read },
    { apiGroup: group, resources: [`${kinds.ippool.plural}/status`], verbs: ['get', 'update', 'patch'] },
    {
      apiGroup: group,
      resources: [kinds.endpoint.plural],
      verbs: [...read, 'create', 'update', 'patch', 'delete'],
    },
    { apiGroup: group, resources: [kinds.reservedip.plural], verbs: read },
    kubevirtRead,
    // The coordinator plugin (same executable) reads the cluster defaults of its settings.
    {
      apiGroup: group,
      resources: [kinds.coordinator.plural],
      verbs: ['get'],
      resourceNames: [defaultCoordinatorName],
    },
  ];
}

/** With `ipam.enableIPAMClaim`: the plugin reads a referenced IPAMClaim and writes its status. */
export function ipamClaimCniRules(): Rule[] {
  return [
    { apiGroup: ipamClaimGroup, resources: [ipamClaimKind.plural], verbs: ['get'] },
    { apiGroup: ipamClaimGroup, resources: [`${ipamClaimKind.plural}/status`], verbs: ['update'] },
  ];
}

/**
 * With `ipam.enableIPAMClaim`: the operator watches IPAMClaims to release a deleted one's addresses,
 * and names the new holder pod in the status after a live migration hands them over.
 */
export function ipamClaimOperatorRules(): Rule[] {
  return [
    { apiGroup: ipamClaimGroup, resources: [ipamClaimKind.plural], verbs: read },
    { apiGroup: ipamClaimGroup, resources: [`${ipamClaimKind.plural}/status`], verbs: ['get', 'update'] },
  ];
}

/** The operator, cluster-wide: finalizers, counters, GC, the KubeVirt lifecycle, its webhooks. */
export function operatorClusterRules(): Rule[] {
  return [
    // create and delete: SpiderSubnet auto-pools (operator/controllers/auto-pools.ts).
    {
      apiGroup: group,
      resources: [kinds.ippool.plural],
      verbs: [...read, 'create', 'update', 'patch', 'delete'],
    },
    { apiGroup: group, resources: [`${kinds.ippool.plural}/status`], verbs: ['get', 'update', 'patch'] },
    {
      apiGroup: group,
      resources: [kinds.endpoint.plural],
      verbs: [...read, 'create', 'update', 'patch', 'delete'],
    },
    { apiGroup: group, resources: [kinds.subnet.plural], verbs: [...read, 'update', 'patch'] },
    // A status subresource serves get, update and patch only.
    { apiGroup: group, resources: [`${kinds.subnet.plural}/status`], verbs: ['get', 'update', 'patch'] },
    { apiGroup: group, resources: [kinds.reservedip.plural], verbs: read },
    { apiGroup: '', resources: ['pods', 'namespaces', 'nodes'], verbs: read },
    { apiGroup: '', resources: ['events'], verbs: ['create', 'patch'] },
    { apiGroup: 'events.k8s.io', resources: ['events'], verbs: ['create', 'patch'] },
    kubevirtRead,
    { apiGroup: 'apps', resources: ['statefulsets'], verbs: read },
    // The applications SpiderSubnet auto-pools are made for.
    { apiGroup: 'apps', resources: ['deployments', 'replicasets', 'daemonsets'], verbs: read },
    { apiGroup: 'batch', resources: ['jobs', 'cronjobs'], verbs: read },
    {
      apiGroup: 'admissionregistration.k8s.io',
      resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
      verbs: [...read, 'update', 'patch'],
      resourceNames: [objectNames.webhookConfiguration],
    },
    ...multusConfigRules(),
  ];
}

/**
 * SpiderMultusConfig and SpiderCoordinator: the operator renders NADs from the one, creates the
 * other's singleton when missing and writes its status from the Service and pod CIDRs it discovers
 * (ServiceCIDR objects, the `kubernetes` Service, Node podCIDRs).
 */
export function multusConfigRules(): Rule[] {
  return [
    { apiGroup: group, resources: [kinds.multusConfig.plural], verbs: read },
    { apiGroup: group, resources: [kinds.coordinator.plural], verbs: [...read, 'create'] },
    { apiGroup: group, resources: [`${kinds.coordinator.plural}/status`], verbs: ['get', 'update', 'patch'] },
    {
      apiGroup: nadGroup,
      resources: [nadPlural],
      verbs: [...read, 'create', 'update', 'patch', 'delete'],
    },
    { apiGroup: 'networking.k8s.io', resources: ['servicecidrs'], verbs: read },
    { apiGroup: '', resources: ['services'], verbs: ['get'], resourceNames: ['kubernetes'] },
  ];
}

/**
 * The operator in its own namespace: leader election and the webhook certificate. It reads conf.yml
 * from the mounted ConfigMap file, never through the API, so it holds no ConfigMap grant. `create` on
 * Secrets cannot be narrowed to a name (RBAC checks resourceNames only for verbs on an existing
 * object), so the grant covers the namespace; every other Secret verb is limited to its own Secret.
 */
export function operatorNamespaceRules(values: Values): Rule[] {
  const userSecret: Rule[] = values.webhook.tlsSecretName
    ? [
        {
          apiGroup: '',
          resources: ['secrets'],
          verbs: ['get'],
          resourceNames: [values.webhook.tlsSecretName],
        },
      ]
    : [];
  return [
    {
      apiGroup: 'coordination.k8s.io',
      resources: ['leases'],
      verbs: ['get', 'update'],
      resourceNames: [objectNames.leaderLease],
    },
    { apiGroup: 'coordination.k8s.io', resources: ['leases'], verbs: ['create'] },
    {
      apiGroup: '',
      resources: ['secrets'],
      verbs: ['get', 'update'],
      resourceNames: [objectNames.webhookTlsSecret],
    },
    { apiGroup: '', resources: ['secrets'], verbs: ['create'] },
    ...userSecret,
  ];
}

/** The rule's resources as cdk8s-plus endpoints, one per resource and name. */
function endpoints(rule: Rule): kplus.IApiResource[] {
  return rule.resources.flatMap((resourceType) =>
    (rule.resourceNames ?? [undefined]).map((resourceName) => ({
      apiGroup: rule.apiGroup,
      resourceType,
      resourceName,
    })),
  );
}

function asEndpoint(resource: kplus.IApiResource): kplus.IApiEndpoint {
  return { asApiResource: () => resource, asNonApiResource: () => undefined };
}

export class RbacChart extends Chart {
  readonly operatorServiceAccount: kplus.ServiceAccount;
  readonly cniServiceAccount: kplus.ServiceAccount;

  constructor(scope: Construct, id: string, values: Values) {
    super(scope, id, { labels: componentLabels('rbac') });
    const namespace = values.namespace;
    // Both workloads choose their token mounts themselves (the node pod uses a projected token).
    this.operatorServiceAccount = new kplus.ServiceAccount(this, 'operator-sa', {
      metadata: { name: installDefaults.operatorServiceAccount, namespace },
      automountToken: false,
    });
    this.cniServiceAccount = new kplus.ServiceAccount(this, 'cni-sa', {
      metadata: { name: installDefaults.cniServiceAccount, namespace },
      automountToken: false,
    });

    const claims = values.ipam.enableIPAMClaim === true;
    const cni = [...cniRules(), ...(claims ? ipamClaimCniRules() : [])];
    this.clusterRole('cni', objectNames.cniRole, cni, this.cniServiceAccount);
    const operator = [...operatorClusterRules(), ...(claims ? ipamClaimOperatorRules() : [])];
    this.clusterRole('operator', objectNames.operatorRole, operator, this.operatorServiceAccount);

    const role = new kplus.Role(this, 'operator-role', {
      metadata: { name: objectNames.operatorRole, namespace },
    });
    for (const rule of operatorNamespaceRules(values)) role.allow(rule.verbs, ...endpoints(rule));
    const binding = new kplus.RoleBinding(this, 'operator-rolebinding', {
      metadata: { name: objectNames.operatorRole, namespace },
      role,
    });
    binding.addSubjects(this.operatorServiceAccount);
  }

  private clusterRole(id: string, name: string, rules: Rule[], subject: kplus.ServiceAccount): void {
    const role = new kplus.ClusterRole(this, `${id}-clusterrole`, { metadata: { name } });
    for (const rule of rules) role.allow(rule.verbs, ...endpoints(rule).map(asEndpoint));
    const binding = new kplus.ClusterRoleBinding(this, `${id}-clusterrolebinding`, {
      metadata: { name },
      role,
    });
    binding.addSubjects(subject);
  }
}
