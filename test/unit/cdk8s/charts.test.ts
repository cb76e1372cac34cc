// The synthesized objects, field by field: what the API server, the kubelet and the other parts
// (installer, operator, plugin) rely on.
import { parse } from 'yaml';
import { installDefaults } from '../../../api/install/names.js';
import { installationManifests } from '../../../cdk8s/app.js';
import { resolveValues } from '../../../cdk8s/values/resolve.js';
import { spiderpoolPluginDefaults } from '../spiderpool-defaults.js';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk synthesized manifests as untyped JSON
type Obj = Record<string, any>;

function synth(sets: string[] = []): Obj[] {
  return installationManifests(resolveValues({ version: '1.2.3', sets })).flatMap((c) => c.objects);
}

function find(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found)
    throw new Error(
      `no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`,
    );
  return found;
}

/** RBAC rules as `group/resource[:name] verb` lines, order-free. */
function grants(rules: Obj[]): string[] {
  return rules
    .flatMap((r: Obj) =>
      (r.apiGroups as string[]).flatMap((g) =>
        (r.resources as string[]).flatMap((res) =>
          (r.resourceNames?.length ? (r.resourceNames as string[]) : [undefined]).flatMap((n) =>
            (r.verbs as string[]).map((v) => `${g || 'core'}/${res}${n ? `:${n}` : ''} ${v}`),
          ),
        ),
      ),
    )
    .sort();
}

const expand = (group: string, resources: string[], verbs: string[], name?: string) =>
  resources.flatMap((r) => verbs.map((v) => `${group}/${r}${name ? `:${name}` : ''} ${v}`));

const defaults = synth();

describe('the whole output', () => {
  test('charts come in apply order: CRDs first, webhooks last, no networks chart when none is asked for', () => {
    const charts = installationManifests(resolveValues({ version: '1' })).map((c) => c.chart);
    expect(charts).toEqual(['crds', 'rbac', 'config', 'node', 'operator', 'webhooks']);
  });

  test('cluster-scoped objects carry no namespace; namespaced ones the configured one', () => {
    const clusterKinds = [
      'CustomResourceDefinition',
      'ClusterRole',
      'ClusterRoleBinding',
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
    ];
    for (const o of synth(['namespace=spiderpool'])) {
      if (clusterKinds.includes(o.kind)) expect([o.kind, o.metadata.namespace]).toEqual([o.kind, undefined]);
      else expect([o.kind, o.metadata.namespace]).toEqual([o.kind, 'spiderpool']);
    }
  });

  test('names are stable: no construct hashes in names or labels', () => {
    const text = JSON.stringify(defaults);
    expect(text).not.toContain('cdk8s.io/metadata.addr');
    for (const o of defaults) expect(o.metadata.name).not.toMatch(/-c8[0-9a-f]{6}$/);
  });
});

describe('CRDs', () => {
  test('Spiderpool’s six and Multus’ NetworkAttachmentDefinition, with schemas and CEL rules', () => {
    const crds = defaults.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.map((c) => c.metadata.name)).toEqual([
      'spiderippools.spiderpool.spidernet.io',
      'spiderendpoints.spiderpool.spidernet.io',
      'spidersubnets.spiderpool.spidernet.io',
      'spiderreservedips.spiderpool.spidernet.io',
      'spidermultusconfigs.spiderpool.spidernet.io',
      'spidercoordinators.spiderpool.spidernet.io',
      'network-attachment-definitions.k8s.cni.cncf.io',
    ]);
    const pool = crds[0] as Obj;
    const schema = pool.spec.versions[0].schema.openAPIV3Schema;
    expect(schema.properties.spec.required).toEqual(['subnet']);
    // reason and fieldPath survive the 1.27-typed L1 construct.
    expect(schema.properties.spec['x-kubernetes-validations'][0]).toMatchObject({
      fieldPath: '.ipVersion',
      reason: 'FieldValueInvalid',
    });
    expect(pool.spec.versions[0].subresources).toEqual({ status: {} });
  });

  test('Multus’ CRD can be left out when Multus installs its own', () => {
    const names = synth(['multus.installCRD=false'])
      .filter((o) => o.kind === 'CustomResourceDefinition')
      .map((o) => o.metadata.name);
    expect(names).not.toContain('network-attachment-definitions.k8s.cni.cncf.io');
    expect(names).toHaveLength(6);
  });
});

describe('RBAC', () => {
  test('the plugin’s ClusterRole grants exactly what the plugin calls, and no Secrets', () => {
    const role = find(defaults, 'ClusterRole', 'spiderpool-cni');
    expect(grants(role.rules)).toEqual(
      [
        ...expand('core', ['pods', 'namespaces', 'nodes'], ['get']),
        ...expand('apps', ['replicasets', 'statefulsets'], ['get']),
        ...expand('batch', ['jobs'], ['get']),
        ...expand(
          'spiderpool.spidernet.io',
          ['spiderippools', 'spiderreservedips'],
          ['get', 'list', 'watch'],
        ),
        ...expand('spiderpool.spidernet.io', ['spiderippools/status'], ['get', 'update', 'patch']),
        ...expand(
          'spiderpool.spidernet.io',
          ['spiderendpoints'],
          ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        ),
        ...expand(
          'kubevirt.io',
          ['virtualmachines', 'virtualmachineinstances', 'virtualmachineinstancemigrations'],
          ['get', 'list', 'watch'],
        ),
        'spiderpool.spidernet.io/spidercoordinators:default get',
      ].sort(),
    );
    expect(JSON.stringify(role.rules)).not.toContain('secrets');
    const binding = find(defaults, 'ClusterRoleBinding', 'spiderpool-cni');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'spiderpool-cni',
    });
    expect(binding.subjects).toEqual([
      {
        apiGroup: '',
        kind: 'ServiceAccount',
        name: installDefaults.cniServiceAccount,
        namespace: 'kube-system',
      },
    ]);
  });

  test('the operator’s ClusterRole: pools, endpoints, subnets, GC reads, events, KubeVirt, its two webhooks', () => {
    const lines = grants(find(defaults, 'ClusterRole', 'spiderpool-operator').rules);
    expect(lines).toEqual(
      expect.arrayContaining([
        'spiderpool.spidernet.io/spiderippools update',
        'spiderpool.spidernet.io/spiderippools/status patch',
        'spiderpool.spidernet.io/spiderendpoints delete',
        'spiderpool.spidernet.io/spidersubnets/status update',
        'core/pods watch',
        'core/events create',
        'events.k8s.io/events patch',
        'kubevirt.io/virtualmachineinstancemigrations watch',
        'apps/statefulsets list',
        'admissionregistration.k8s.io/mutatingwebhookconfigurations:spiderpool-operator patch',
        'admissionregistration.k8s.io/validatingwebhookconfigurations:spiderpool-operator update',
      ]),
    );
    // Pools are created and deleted only as SpiderSubnet auto-pools, for the applications it reads.
    expect(
      lines.filter(
        (l) => l.startsWith('spiderpool.spidernet.io/spiderippools') && / (create|delete)$/.test(l),
      ),
    ).toEqual([
      'spiderpool.spidernet.io/spiderippools create',
      'spiderpool.spidernet.io/spiderippools delete',
    ]);
    expect(lines).toEqual(
      expect.arrayContaining([
        'apps/deployments watch',
        'apps/replicasets list',
        'apps/daemonsets get',
        'batch/jobs watch',
        'batch/cronjobs watch',
      ]),
    );
    // No writes to pods, nothing on Secrets cluster-wide.
    expect(lines.filter((l) => l.startsWith('apps/') && !/ (get|list|watch)$/.test(l))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('core/pods ') && !/ (get|list|watch)$/.test(l))).toEqual([]);
    expect(lines.some((l) => l.includes('secrets'))).toBe(false);
    // Webhook configurations only by name: never all of them.
    expect(lines.filter((l) => l.includes('webhookconfigurations '))).toEqual([]);
  });

  test('the operator’s Role in its namespace: its Lease and its certificate Secret, no ConfigMaps', () => {
    const role = find(defaults, 'Role', 'spiderpool-operator');
    expect(grants(role.rules)).toEqual(
      [
        ...expand('coordination.k8s.io', ['leases'], ['get', 'update'], 'spiderpool-operator'),
        'coordination.k8s.io/leases create',
        ...expand('core', ['secrets'], ['get', 'update'], 'spiderpool-operator-webhook-tls'),
        'core/secrets create',
      ].sort(),
    );
    const withUserSecret = grants(
      find(synth(['webhook.tlsSecretName=my-tls']), 'Role', 'spiderpool-operator').rules,
    );
    expect(withUserSecret).toContain('core/secrets:my-tls get');
    expect(withUserSecret).not.toContain('core/secrets:my-tls update');
    expect(find(defaults, 'RoleBinding', 'spiderpool-operator').subjects[0].name).toBe('spiderpool-operator');
  });

  test('service accounts do not mount tokens by themselves', () => {
    for (const name of ['spiderpool-operator', 'spiderpool-cni']) {
      expect(find(defaults, 'ServiceAccount', name).automountServiceAccountToken).toBe(false);
    }
  });
});

describe('ConfigMap spiderpool-conf', () => {
  test('conf.yml has Spiderpool’s keys and our GC settings, following the values', () => {
    const conf = (sets: string[]) =>
      parse(find(synth(sets), 'ConfigMap', 'spiderpool-conf').data['conf.yml']);
    expect(conf([])).toEqual({
      ...spiderpoolPluginDefaults,
      clusterSubnetDefaultFlexibleIPNumber: 1,
      gc: { enabled: true, intervalSeconds: 600 },
    });
    const changed = conf([
      'ipam.enableSpiderSubnet=true',
      'ipam.enableKubevirtStaticIP=false',
      'ipam.ippoolMaxAllocatedIPs=12000',
      'ipam.pluginLeaderLingerMs=0',
      'ipam.gc.intervalSeconds=30',
      'webhook.tlsSecretName=my-tls',
      'multus.clusterNetwork=kube-system/macvlan-ens192',
    ]);
    expect(changed.clusterNetwork).toBe('kube-system/macvlan-ens192');
    expect(changed.enableKubevirtStaticIP).toBe(false);
    expect(changed.enableSpiderSubnet).toBe(true);
    expect(changed.gc.intervalSeconds).toBe(30);
    expect(changed.ippoolMaxAllocatedIPs).toBe(12000);
    // Set, the lingering leader's timing is written; unset, conf.yml stays Spiderpool's (above).
    expect(changed.pluginLeaderLingerMs).toBe(0);
    expect(changed.webhook).toEqual({ tlsSecretName: 'my-tls' });
  });
});

describe('node DaemonSet spiderpool-node', () => {
  const ds = find(defaults, 'DaemonSet', 'spiderpool-node');
  const pod = ds.spec.template.spec;
  const container = pod.containers[0];

  test('runs on every node, in the host network, before other workloads', () => {
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(ds.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'spiderpool-node' });
    expect(ds.spec.template.metadata.labels).toMatchObject(ds.spec.selector.matchLabels);
  });

  test('installs and watches with the contract environment', () => {
    expect(container.image).toBe('ghcr.io/spiderpool-ts/spiderpool-ts:1.2.3');
    expect(container.command).toEqual(['/usr/local/bin/spiderpool', 'install', '--watch']);
    const env = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toEqual({
      SPIDERPOOL_CNI_BIN_DIR: '/host/opt/cni/bin',
      SPIDERPOOL_CONFIG_DIR: '/host/etc/cni/net.d/spiderpool.d',
      SPIDERPOOL_HOST_CONFIG_DIR: '/etc/cni/net.d/spiderpool.d',
      SPIDERPOOL_TOKEN_FILE: '/var/run/secrets/spiderpool/token',
      SPIDERPOOL_CA_FILE: '/var/run/secrets/spiderpool/ca.crt',
      SPIDERPOOL_NODE_CONFIG: '/etc/spiderpool/conf.yml',
      NODE_NAME: { fieldRef: { fieldPath: 'spec.nodeName' } },
      SPIDERPOOL_NODE_NAME: { fieldRef: { fieldPath: 'spec.nodeName' } },
      SPIDERPOOL_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
  });

  test('root and privileged, with allowPrivilegeEscalation set to match; small explicit resources', () => {
    expect(container.securityContext).toMatchObject({
      privileged: true,
      allowPrivilegeEscalation: true,
      runAsNonRoot: false,
      runAsUser: 0,
    });
    expect(pod.securityContext.runAsNonRoot).toBe(false);
    expect(container.resources).toEqual({
      requests: { cpu: '10m', memory: '32Mi' },
      limits: { cpu: '200m', memory: '128Mi' },
    });
  });

  test('no automounted token: a projected, expiring token plus the cluster CA instead', () => {
    expect(pod.serviceAccountName).toBe('spiderpool-cni');
    expect(pod.automountServiceAccountToken).toBe(false);
    const token = pod.volumes.find((v: Obj) => v.name === 'token');
    expect(token.projected.sources).toEqual([
      { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
    ]);
    expect(container.volumeMounts).toContainEqual({
      name: 'token',
      mountPath: '/var/run/secrets/spiderpool',
      readOnly: true,
    });
  });

  test('host folders: the CNI bin folder from values, /etc/cni/net.d; the ConfigMap read-only', () => {
    const other = find(synth(['cniBinDir=/var/lib/cni/bin']), 'DaemonSet', 'spiderpool-node').spec.template
      .spec;
    const volumes = Object.fromEntries(other.volumes.map((v: Obj) => [v.name, v]));
    expect(volumes['cni-bin'].hostPath).toEqual({ path: '/var/lib/cni/bin', type: 'DirectoryOrCreate' });
    expect(volumes['cni-conf'].hostPath).toEqual({ path: '/etc/cni/net.d', type: 'DirectoryOrCreate' });
    expect(volumes.config.configMap.name).toBe('spiderpool-conf');
    const mounts = Object.fromEntries(other.containers[0].volumeMounts.map((m: Obj) => [m.name, m]));
    expect(mounts['cni-bin'].mountPath).toBe('/host/opt/cni/bin');
    expect(mounts['cni-conf'].mountPath).toBe('/host/etc/cni/net.d');
    expect(mounts.config).toMatchObject({ mountPath: '/etc/spiderpool', readOnly: true });
  });
});

describe('operator Deployment spiderpool-operator and its Service', () => {
  const deployment = find(defaults, 'Deployment', 'spiderpool-operator');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  test('two replicas by default, any number by value', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(find(synth(['operator.replicas=3']), 'Deployment', 'spiderpool-operator').spec.replicas).toBe(3);
  });

  test('command, downward-API and runtime environment and its own mounted token', () => {
    expect(container.command).toEqual([
      '/usr/local/bin/spiderpool-operator',
      '--config=/etc/spiderpool/conf.yml',
      '--webhook-port=5722',
      '--metrics-port=5721',
      '--health-port=5720',
    ]);
    expect(container.env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'BUN_JSC_forceMiniVMMode', value: '1' },
      { name: 'BUN_JSC_miniVMHeapGrowthFactor', value: '1.1' },
    ]);
    expect(pod.serviceAccountName).toBe('spiderpool-operator');
    expect(pod.automountServiceAccountToken).toBe(true);
  });

  test('probes on the health port and a port named metrics; no default startup probe', () => {
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 5720 });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 5720 });
    expect(container.startupProbe).toBeUndefined();
    expect(container.ports).toContainEqual({ containerPort: 5721, name: 'metrics' });
  });

  test('unprivileged, explicit resources', () => {
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toEqual({ cpu: '100m', memory: '128Mi' });
  });

  test('the webhook Service sends 443 to the webhook port of exactly these pods', () => {
    const service = find(defaults, 'Service', 'spiderpool-operator-webhook');
    expect(service.spec.ports).toEqual([{ name: 'webhook', port: 443, targetPort: 5722 }]);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });
});

describe('webhook configurations', () => {
  const cud = ['CREATE', 'UPDATE', 'DELETE'];
  const cu = ['CREATE', 'UPDATE'];
  test.each([
    [
      'MutatingWebhookConfiguration',
      'mutate',
      [
        ['spiderippools', cu, 'Cluster'],
        ['spidersubnets', cu, 'Cluster'],
        ['spiderreservedips', cu, 'Cluster'],
        ['spidermultusconfigs', cu, 'Namespaced'],
        ['spidercoordinators', cu, 'Cluster'],
      ],
    ],
    [
      'ValidatingWebhookConfiguration',
      'validate',
      [
        ['spiderippools', cud, 'Cluster'],
        ['spidersubnets', cud, 'Cluster'],
        ['spiderreservedips', cu, 'Cluster'],
        ['spidermultusconfigs', cu, 'Namespaced'],
      ],
    ],
  ])('%s spiderpool-operator', (kind, action, expected) => {
    const config = find(synth(['namespace=spiderpool']), kind, 'spiderpool-operator');
    expect(
      config.webhooks.map((w: Obj) => [w.clientConfig.service.path, w.rules[0].operations, w.rules[0].scope]),
    ).toEqual(expected.map(([plural, ops, scope]) => [`/${action}/${plural}`, ops, scope]));
    for (const webhook of config.webhooks) {
      expect(webhook).toMatchObject({
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        clientConfig: {
          service: { name: 'spiderpool-operator-webhook', namespace: 'spiderpool', port: 443 },
        },
      });
      expect(webhook.clientConfig.caBundle).toBeUndefined();
      expect(webhook.rules[0]).toMatchObject({
        apiGroups: ['spiderpool.spidernet.io'],
        apiVersions: ['v2beta1'],
      });
    }
  });
});

describe('optional networks', () => {
  const objects = synth([
    'clusterDefaultPool.installIPv4IPPool=true',
    'clusterDefaultPool.ipv4Subnet=198.18.0.0/16',
    'clusterDefaultPool.ipv4IPRanges={198.18.0.10-198.18.0.100}',
    'clusterDefaultPool.ipv4Gateway=198.18.0.1',
    'multus.networkAttachmentDefinitions[0].name=macvlan-ens192',
    'multus.networkAttachmentDefinitions[0].master=ens192',
    'multus.networkAttachmentDefinitions[0].defaultIPv4IPPool={default-v4-ippool}',
  ]);

  test('a cluster default pool', () => {
    expect(find(objects, 'SpiderIPPool', 'default-v4-ippool')).toMatchObject({
      apiVersion: 'spiderpool.spidernet.io/v2beta1',
      spec: {
        ipVersion: 4,
        subnet: '198.18.0.0/16',
        ips: ['198.18.0.10-198.18.0.100'],
        gateway: '198.18.0.1',
        default: true,
      },
    });
  });

  test('the seed’s kube-system/macvlan-ens192 with spiderpool IPAM and the plugin’s kubeconfig', () => {
    const nad = find(objects, 'NetworkAttachmentDefinition', 'macvlan-ens192');
    expect(nad.apiVersion).toBe('k8s.cni.cncf.io/v1');
    expect(nad.metadata.namespace).toBe('kube-system');
    expect(JSON.parse(nad.spec.config)).toEqual({
      cniVersion: '0.3.1',
      name: 'macvlan-ens192',
      plugins: [
        {
          type: 'macvlan',
          master: 'ens192',
          mode: 'bridge',
          ipam: {
            type: 'spiderpool',
            default_ipv4_ippool: ['default-v4-ippool'],
            kubernetes: { kubeconfig: '/etc/cni/net.d/spiderpool.d/spiderpool.kubeconfig' },
          },
        },
      ],
    });
  });

  test('they come before the webhooks, so a first install creates them before any webhook exists', () => {
    const charts = installationManifests(
      resolveValues({
        version: '1',
        sets: [
          'multus.networkAttachmentDefinitions[0].name=n',
          'multus.networkAttachmentDefinitions[0].master=eth0',
        ],
      }),
    ).map((c) => c.chart);
    expect(charts.indexOf('networks')).toBe(charts.indexOf('webhooks') - 1);
  });
});
