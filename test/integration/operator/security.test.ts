// The plugin's and the operator's identities against the real API server, with the installation's
// RBAC as synthesized: they can do what the synthesized roles grant and nothing more (the API
// server's own SelfSubjectRulesReview and SelfSubjectAccessReview answers, and real requests). The
// reviewed grants below fail this test when the synthesized RBAC widens. The webhooks serve only
// TLS 1.2 or later. No token or private key appears in the plugin's or the operator's debug logs,
// or in any Event, after an allocation, failing calls, an operator Warning and a webhook refusal.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import {
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type V1ResourceRule,
} from '@kubernetes/client-node';
import { group, kinds, version } from '../../../api/index.js';
import { installDefaults, objectNames } from '../../../api/install/names.js';
import { RestClient } from '../../../kube/rest.js';
import { SpiderpoolApi } from '../../../kube/spiderpool.js';
import { nadGroup, nadPlural, nadVersion } from '../../../multus/ownership.js';
import { kubeConfig, outcome } from '../../harness/clients.js';
import { callPlugin, cniEnv, netConf, pluginBinary, testNode } from '../../harness/cni-plugin.js';
import { ClusterFixtures } from '../../harness/spiderpool-api.js';
import type { TestUserName } from '../../harness/users.js';
import { eventually } from '../../harness/wait.js';
import {
  installationObjects,
  refusal,
  startWebhookCluster,
  type WebhookCluster,
} from './fixtures/webhook-cluster.js';

const installNs = installDefaults.namespace;
let env: WebhookCluster;
let dir: string;
let otherNs: string;
const as = (user: TestUserName): KubeConfig => kubeConfig(user, env.cluster.cp);

beforeAll(async () => {
  pluginBinary();
  dir = mkdtempSync(join(tmpdir(), 'spiderpool-ts-security-'));
  env = await startWebhookCluster({ identity: 'security-op', args: ['--log-level=debug'] });
  otherNs = (await env.cluster.core.createNamespace({ body: { metadata: { name: 'someone-else' } } }))
    .metadata?.name as string;
  await eventually(
    'the webhooks answering',
    () =>
      new SpiderpoolApi(new RestClient(as('admin')))
        .createPool({
          metadata: { name: 'sec-pool' },
          spec: { subnet: '198.18.90.0/24', ips: ['198.18.90.10-198.18.90.19'] },
        })
        .then(() => true),
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}, 300_000);

afterAll(async () => {
  await env?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- the grants -------------------------------------------------------------------------------

/** One permission: `verb group/resource[:name]`, with ` in <ns>` for a namespaced Role's. */
type Grant = string;

const atom = (verb: string, apiGroup: string, resource: string, name?: string, ns?: string): Grant =>
  `${verb} ${apiGroup || 'core'}/${resource}${name ? `:${name}` : ''}${ns ? ` in ${ns}` : ''}`;

function atoms(rules: V1ResourceRule[], ns?: string): Grant[] {
  return rules.flatMap((r) =>
    (r.apiGroups ?? ['']).flatMap((g) =>
      (r.resources ?? []).flatMap((res) =>
        r.verbs.flatMap((v) =>
          r.resourceNames?.length
            ? r.resourceNames.map((n) => atom(v, g, res, n, ns))
            : [atom(v, g, res, undefined, ns)],
        ),
      ),
    ),
  );
}

interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: V1ResourceRule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/** What the synthesized roles grant each service account, through its bindings. */
function synthesizedGrants(serviceAccount: string): Grant[] {
  const objects = installationObjects(['rbac']) as unknown as RbacObject[];
  const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
  const bindings = objects.filter(
    (o) =>
      (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') &&
      o.subjects?.some(
        (s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === installNs,
      ),
  );
  return bindings.flatMap((b) => {
    const role = roles.find(
      (r) =>
        r.kind === b.roleRef?.kind &&
        r.metadata.name === b.roleRef.name &&
        (r.kind === 'ClusterRole' || r.metadata.namespace === b.metadata.namespace),
    );
    return atoms(role?.rules ?? [], b.kind === 'RoleBinding' ? b.metadata.namespace : undefined);
  });
}

const read = (g: string, r: string) => ['get', 'list', 'watch'].map((v) => atom(v, g, r));
const sp = group;
const kv = 'kubevirt.io';
const kvRead = ['virtualmachines', 'virtualmachineinstances', 'virtualmachineinstancemigrations'].flatMap(
  (r) => read(kv, r),
);

// Reviewed by hand: every line is a call the code makes (cdk8s/charts/rbac.ts says which). A
// synthesized grant that is not here fails the first test.
const reviewed: Record<'cni' | 'operator', Grant[]> = {
  cni: [
    atom('get', '', 'pods'),
    atom('get', '', 'namespaces'),
    atom('get', '', 'nodes'),
    atom('get', 'apps', 'replicasets'),
    atom('get', 'apps', 'statefulsets'),
    atom('get', 'batch', 'jobs'),
    ...read(sp, 'spiderippools'),
    ...['get', 'update', 'patch'].map((v) => atom(v, sp, 'spiderippools/status')),
    ...[
      ...read(sp, 'spiderendpoints'),
      ...['create', 'update', 'patch', 'delete'].map((v) => atom(v, sp, 'spiderendpoints')),
    ],
    ...read(sp, 'spiderreservedips'),
    ...kvRead,
    atom('get', sp, 'spidercoordinators', 'default'),
  ],
  operator: [
    ...[
      ...read(sp, 'spiderippools'),
      atom('create', sp, 'spiderippools'),
      atom('update', sp, 'spiderippools'),
      atom('patch', sp, 'spiderippools'),
      atom('delete', sp, 'spiderippools'),
    ],
    ...['get', 'update', 'patch'].map((v) => atom(v, sp, 'spiderippools/status')),
    ...[
      ...read(sp, 'spiderendpoints'),
      ...['create', 'update', 'patch', 'delete'].map((v) => atom(v, sp, 'spiderendpoints')),
    ],
    ...[
      ...read(sp, 'spidersubnets'),
      atom('update', sp, 'spidersubnets'),
      atom('patch', sp, 'spidersubnets'),
    ],
    ...['get', 'update', 'patch'].map((v) => atom(v, sp, 'spidersubnets/status')),
    ...read(sp, 'spiderreservedips'),
    ...read('', 'pods'),
    ...read('', 'namespaces'),
    ...read('', 'nodes'),
    atom('create', '', 'events'),
    atom('patch', '', 'events'),
    atom('create', 'events.k8s.io', 'events'),
    atom('patch', 'events.k8s.io', 'events'),
    ...kvRead,
    ...read('apps', 'statefulsets'),
    ...read('apps', 'deployments'),
    ...read('apps', 'replicasets'),
    ...read('apps', 'daemonsets'),
    ...read('batch', 'jobs'),
    ...read('batch', 'cronjobs'),
    ...['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'].flatMap((r) =>
      ['get', 'list', 'watch', 'update', 'patch'].map((v) =>
        atom(v, 'admissionregistration.k8s.io', r, objectNames.webhookConfiguration),
      ),
    ),
    ...read(sp, 'spidermultusconfigs'),
    ...[...read(sp, 'spidercoordinators'), atom('create', sp, 'spidercoordinators')],
    ...['get', 'update', 'patch'].map((v) => atom(v, sp, 'spidercoordinators/status')),
    ...[
      ...read('k8s.cni.cncf.io', 'network-attachment-definitions'),
      ...['create', 'update', 'patch', 'delete'].map((v) =>
        atom(v, 'k8s.cni.cncf.io', 'network-attachment-definitions'),
      ),
    ],
    ...read('networking.k8s.io', 'servicecidrs'),
    atom('get', '', 'services', 'kubernetes'),
    // Its own namespace: leader election and the webhook certificate (conf.yml comes as a file).
    ...['get', 'update'].map((v) =>
      atom(v, 'coordination.k8s.io', 'leases', objectNames.leaderLease, installNs),
    ),
    atom('create', 'coordination.k8s.io', 'leases', undefined, installNs),
    ...['get', 'update'].map((v) => atom(v, '', 'secrets', objectNames.webhookTlsSecret, installNs)),
    atom('create', '', 'secrets', undefined, installNs),
  ],
};

const users = ['cni', 'operator'] as const;
const serviceAccountOf = {
  cni: installDefaults.cniServiceAccount,
  operator: installDefaults.operatorServiceAccount,
};
const sorted = (list: Grant[]) => [...new Set(list)].sort();

test.each(users)('the synthesized RBAC of %s is exactly the reviewed grants', (user) => {
  expect(sorted(synthesizedGrants(serviceAccountOf[user]))).toEqual(sorted(reviewed[user]));
});

/** What the API server says `user` may do in `ns`, minus what every authenticated user may do. */
async function effectiveGrants(user: TestUserName, ns: string): Promise<Grant[]> {
  const review = async (who: TestUserName) => {
    const res = await as(who)
      .makeApiClient(AuthorizationV1Api)
      .createSelfSubjectRulesReview({ body: { spec: { namespace: ns } } });
    expect(res.status?.incomplete).toBe(false);
    return atoms(res.status?.resourceRules ?? []);
  };
  const everyone = new Set(await review('nobody'));
  return (await review(user)).filter((g) => !everyone.has(g));
}

test.each(users)(
  'the API server grants %s exactly the synthesized RBAC (SelfSubjectRulesReview)',
  async (user) => {
    const grants = synthesizedGrants(serviceAccountOf[user]);
    for (const ns of [installNs, 'someone-else']) {
      const expected = grants
        .filter((g) => !g.includes(' in ') || g.endsWith(` in ${ns}`))
        .map((g) => g.replace(/ in \S+$/, ''));
      expect(sorted(await effectiveGrants(user, ns))).toEqual(sorted(expected));
    }
  },
);

// Resources worth refusing, beside every one a rule names.
const sensitive: Array<[string, string]> = [
  ['', 'secrets'],
  ['', 'configmaps'],
  ['', 'serviceaccounts'],
  ['', 'serviceaccounts/token'],
  ['', 'pods/exec'],
  ['', 'pods/eviction'],
  ['', 'pods/status'],
  ['', 'nodes/proxy'],
  ['', 'nodes/status'],
  ['', 'services'],
  ['', 'endpoints'],
  ['apps', 'daemonsets'],
  ['apps', 'deployments'],
  ['rbac.authorization.k8s.io', 'clusterroles'],
  ['rbac.authorization.k8s.io', 'clusterrolebindings'],
  ['rbac.authorization.k8s.io', 'roles'],
  ['rbac.authorization.k8s.io', 'rolebindings'],
  ['apiextensions.k8s.io', 'customresourcedefinitions'],
  ['certificates.k8s.io', 'certificatesigningrequests'],
  ['coordination.k8s.io', 'leases'],
  ...[
    kinds.ippool.plural,
    kinds.subnet.plural,
    kinds.reservedip.plural,
    kinds.endpoint.plural,
    kinds.multusConfig.plural,
    kinds.coordinator.plural,
  ].flatMap(
    (p): Array<[string, string]> => [
      [sp, p],
      [sp, `${p}/status`],
    ],
  ),
];
const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

test.each(users)(
  '%s: SelfSubjectAccessReview allows only what is granted, in its namespace and another',
  async (user) => {
    const grants = new Set(synthesizedGrants(serviceAccountOf[user]));
    const named = [...grants]
      .map((g) => /^(\S+) (\S+?)\/(\S+?)(?::(\S+))?(?: in (\S+))?$/.exec(g))
      .filter((m) => m !== null);
    const resources = new Map<string, [string, string]>();
    for (const m of named) {
      const g = m[2] === 'core' ? '' : (m[2] as string);
      resources.set(`${g}/${m[3]}`, [g, m[3] as string]);
    }
    for (const [g, r] of sensitive) resources.set(`${g}/${r}`, [g, r]);
    const authz = as(user).makeApiClient(AuthorizationV1Api);
    const questions = [installNs, otherNs].flatMap((ns) =>
      [...resources.values()].flatMap(([g, r]) => verbs.map((verb) => ({ ns, g, r, verb }))),
    );
    const wrong: string[] = [];
    // A few hundred reviews, a batch at a time: one by one they outlast the test's timeout on a busy machine.
    for (let i = 0; i < questions.length; i += 32)
      await Promise.all(
        questions.slice(i, i + 32).map(async ({ ns, g, r, verb }) => {
          const [resource, subresource] = r.split('/') as [string, string | undefined];
          const res = await authz.createSelfSubjectAccessReview({
            body: { spec: { resourceAttributes: { namespace: ns, verb, group: g, resource, subresource } } },
          });
          const expected = grants.has(atom(verb, g, r)) || grants.has(atom(verb, g, r, undefined, ns));
          if (res.status?.allowed !== expected)
            wrong.push(`${atom(verb, g, r)} in ${ns}: ${res.status?.allowed}`);
        }),
      );
    expect(wrong).toEqual([]);
    // Never anyone else.
    for (const resource of ['users', 'groups', 'serviceaccounts']) {
      const res = await authz.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { verb: 'impersonate', group: '', resource } } },
      });
      expect(res.status?.allowed).toBe(false);
    }
  },
  300_000,
);

// ---- real requests ------------------------------------------------------------------------------

describe('real requests', () => {
  beforeAll(async () => {
    const core = as('admin').makeApiClient(CoreV1Api);
    for (const namespace of [installNs, otherNs])
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'someone-elses' }, stringData: { k: 'v' } },
      });
    await core.createNamespacedConfigMap({ namespace: otherNs, body: { metadata: { name: 'theirs' } } });
    await core.createNode({ body: { metadata: { name: 'sec-node' } } });
  });

  test('the plugin: pool status yes, pool spec, Secrets, other namespaces’ lists and node writes no', async () => {
    const cni = as('cni');
    const core = cni.makeApiClient(CoreV1Api);
    const pools = new SpiderpoolApi(new RestClient(cni));
    const pool = await pools.getPool('sec-pool');
    expect(
      await outcome(() =>
        pools.replacePoolStatus({ ...pool, status: { ...pool.status, allocatedIPCount: 0 } }),
      ),
    ).toBe('allowed');
    const fresh = await pools.getPool('sec-pool');
    expect(await outcome(() => pools.replacePool({ ...fresh, spec: { ...fresh.spec, disable: true } }))).toBe(
      403,
    );
    for (const namespace of [installNs, otherNs]) {
      expect(await outcome(() => core.readNamespacedSecret({ name: 'someone-elses', namespace }))).toBe(403);
      expect(await outcome(() => core.listNamespacedPod({ namespace }))).toBe(403);
    }
    expect(await outcome(() => core.readNamespacedConfigMap({ name: 'theirs', namespace: otherNs }))).toBe(
      403,
    );
    expect(
      await outcome(() =>
        core.patchNode({
          name: 'sec-node',
          body: [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }],
        }),
      ),
    ).toBe(403);
    expect(await outcome(() => core.readNode({ name: 'sec-node' }))).toBe('allowed');
  });

  test('the operator: its own Secret yes; other Secrets, any ConfigMap, pool deletes, pod writes no', async () => {
    const op = as('operator');
    const core = op.makeApiClient(CoreV1Api);
    await eventually('the webhook Secret the operator made', () =>
      core.readNamespacedSecret({ name: objectNames.webhookTlsSecret, namespace: installNs }),
    );
    for (const namespace of [installNs, otherNs]) {
      expect(await outcome(() => core.readNamespacedSecret({ name: 'someone-elses', namespace }))).toBe(403);
      expect(await outcome(() => core.listNamespacedSecret({ namespace }))).toBe(403);
    }
    expect(
      await outcome(() =>
        core.readNamespacedSecret({ name: objectNames.webhookTlsSecret, namespace: otherNs }),
      ),
    ).toBe(403);
    expect(await outcome(() => core.readNamespacedConfigMap({ name: 'theirs', namespace: otherNs }))).toBe(
      403,
    );
    // conf.yml reaches it as a mounted file: not even its own namespace's ConfigMaps are readable.
    expect(await outcome(() => core.listNamespacedConfigMap({ namespace: installNs }))).toBe(403);
    expect(
      await outcome(() =>
        op.makeApiClient(CustomObjectsApi).deleteClusterCustomObject({
          group,
          version,
          plural: kinds.reservedip.plural,
          name: 'sec-reserved',
        }),
      ),
    ).toBe(403);
    expect(
      await outcome(() =>
        core.createNamespacedPod({
          namespace: otherNs,
          body: {
            metadata: { name: 'p' },
            spec: { containers: [{ name: 'c', image: 'registry.invalid/none' }] },
          },
        }),
      ),
    ).toBe(403);
    expect(await outcome(() => core.deleteNode({ name: 'sec-node' }))).toBe(403);
  });
});

// ---- the webhook port -----------------------------------------------------------------------------

describe('the webhook port', () => {
  test('a plain HTTP request gets no HTTP answer', async () => {
    const { webhook } = await env.op.ports();
    const outcome = await new Promise<string>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: webhook,
          path: `/validate/${kinds.ippool.plural}`,
          method: 'POST',
          timeout: 10_000,
        },
        (res) => resolve(`HTTP ${res.statusCode}`),
      );
      req.on('error', (e) => resolve(`error: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end('{}');
    });
    expect(outcome).toMatch(/^error: /);
  });

  const handshake = (opts: { minVersion: 'TLSv1' | 'TLSv1.2'; maxVersion: 'TLSv1.1' | 'TLSv1.2' }) =>
    env.op.ports().then(
      ({ webhook }) =>
        new Promise<string>((resolve) => {
          // SECLEVEL=0 lets this client offer TLS 1.0/1.1 at all: the refusal must be the server's.
          const socket = connect(
            {
              host: '127.0.0.1',
              port: webhook,
              rejectUnauthorized: false,
              ciphers: 'DEFAULT@SECLEVEL=0',
              ...opts,
            },
            () => {
              resolve(`connected with ${socket.getProtocol()}`);
              socket.end();
            },
          );
          socket.on('error', (e) => resolve(`error: ${e.message}`));
        }),
    );

  test('TLS 1.2 is served; TLS 1.0 and 1.1 are refused by the server', async () => {
    expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toBe('connected with TLSv1.2');
    expect(await handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })).toMatch(
      /error: .*(protocol version|alert)/i,
    );
  });
});

// ---- no secret in any log or Event --------------------------------------------------------------------

test('no token or private key in the plugin’s or the operator’s debug logs, or in any Event', async () => {
  const admin = as('admin');
  const fixtures = new ClusterFixtures(admin);
  const namespace = await fixtures.namespace('sec');
  const node = testNode(dir, 'sec-node');
  const pod = await fixtures.pod({
    namespace,
    nodeName: 'sec-node',
    annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['sec-pool'] }) },
  });
  const ref = { namespace, name: pod.metadata?.name as string, uid: pod.metadata?.uid as string };
  const cp = env.cluster.cp;
  const outputs: string[] = [];
  // An allocation, as the plugin's service account.
  const added = await callPlugin(cniEnv('ADD', ref), netConf(node, cp.kubeconfigPath('cni')));
  outputs.push(added.stdout, added.stderr);
  expect(added.code).toBe(0);
  // Failing calls: a pool that is not there, and an identity the API server refuses.
  const stray = await fixtures.pod({
    namespace,
    nodeName: 'sec-node',
    annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: ['no-such-pool'] }) },
  });
  const missing = await callPlugin(
    cniEnv('ADD', { namespace, name: stray.metadata?.name as string, uid: stray.metadata?.uid as string }),
    netConf(node, cp.kubeconfigPath('cni')),
  );
  outputs.push(missing.stdout, missing.stderr);
  expect(missing.json?.code).toBeDefined();
  const refused = await callPlugin(
    cniEnv('ADD', { ...ref, name: 'other' }),
    netConf(node, cp.kubeconfigPath('nobody')),
  );
  outputs.push(refused.stdout, refused.stderr);
  expect(refused.code).not.toBe(0);
  // The operator refusing to overwrite a NAD it does not own: a Warning Event of its own.
  const objects = admin.makeApiClient(CustomObjectsApi);
  await objects.createNamespacedCustomObject({
    group: nadGroup,
    version: nadVersion,
    plural: nadPlural,
    namespace,
    body: {
      apiVersion: `${nadGroup}/${nadVersion}`,
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'foreign' },
    },
  });
  await objects.createNamespacedCustomObject({
    group,
    version,
    plural: kinds.multusConfig.plural,
    namespace,
    body: {
      apiVersion: `${group}/${version}`,
      kind: kinds.multusConfig.kind,
      metadata: { name: 'foreign' },
      spec: { cniType: 'macvlan', macvlan: { master: ['eth0'] } },
    },
  });
  await eventually('the operator’s Warning Event', async () =>
    (await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace })).items.some(
      (e) => e.reason === 'NetworkAttachmentDefinitionNotOwned',
    ),
  );
  // A webhook refusal.
  expect(await refusal(() => fixtures.pool({ subnet: '198.18.90.0/23' }))).toContain('spec.subnet');
  await env.op.waitForLog('the refusal logged', (l) => l.msg === 'admission denied');

  const secret = await admin
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ name: objectNames.webhookTlsSecret, namespace: installNs });
  const keys = ['tls.key', 'ca.key'].flatMap((k) => (secret.data?.[k] ? [secret.data[k] as string] : []));
  expect(keys.length).toBeGreaterThan(0);
  const pemBodies = keys.map((b64) =>
    Buffer.from(b64, 'base64')
      .toString()
      .split('\n')
      .filter((l) => l && !l.startsWith('-----')),
  );
  const events = [
    ...(await admin.makeApiClient(CoreV1Api).listEventForAllNamespaces()).items,
    ...(await admin.makeApiClient(EventsV1Api).listEventForAllNamespaces()).items,
  ];
  expect(events.length).toBeGreaterThan(0);
  const texts: Record<string, string> = {
    'plugin log': readFileSync(node.logFile, 'utf8'),
    'plugin stdout and stderr': outputs.join('\n'),
    'operator log': readFileSync(env.op.logFile, 'utf8'),
    Events: JSON.stringify(events),
  };
  expect(texts['plugin log']).toMatch(/"level":"debug"/);
  expect(texts['operator log']).toMatch(/"level":"debug"/);
  const secrets: Record<string, string[]> = {
    ...Object.fromEntries(
      (['admin', 'operator', 'cni', 'nobody'] as const).map((u) => [`${u}'s token`, [cp.token(u)]]),
    ),
    ...Object.fromEntries(pemBodies.map((lines, i) => [`key ${i} (a line of its PEM body)`, lines])),
    ...Object.fromEntries(keys.map((b64, i) => [`key ${i} as the Secret stores it`, [b64.slice(0, 64)]])),
  };
  const leaks: string[] = [];
  for (const [where, text] of Object.entries(texts))
    for (const [what, needles] of Object.entries(secrets))
      if (needles.some((n) => n.length >= 16 && text.includes(n))) leaks.push(`${what} in the ${where}`);
  expect(leaks).toEqual([]);
  await fixtures.cleanup();
}, 120_000);
