// The real API server calls the operator's admission webhooks: the operator, running as its service
// account under the synthesized RBAC, creates its CA and serving certificate, writes the caBundle
// (and, on 127.0.0.1, the URL) into the synthesized webhook configurations, then mutates new pools
// and refuses forbidden updates with a message that names the field.
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { AdmissionregistrationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { finalizer, group, kinds, version } from '../../../api/index.js';
import { describeApiError, isConflict } from '../../../kube/errors.js';
import { readModifyWrite } from '../../../kube/optimistic.js';
import { RestClient } from '../../../kube/rest.js';
import { SpiderpoolApi } from '../../../kube/spiderpool.js';
import { waitEstablished } from '../../harness/crds.js';
import { eventually } from '../../harness/wait.js';
import { startWebhookCluster } from './fixtures/webhook-cluster.js';
import type { OperatorProcess } from './operator-process.js';
import type { PrivateCluster } from './private-cluster.js';

const ns = 'kube-system';
let cluster: PrivateCluster;
let op: OperatorProcess;
let pools: SpiderpoolApi;

const plurals = [
  kinds.ippool.plural,
  kinds.subnet.plural,
  kinds.reservedip.plural,
  kinds.multusConfig.plural,
];

beforeAll(async () => {
  // The installation's own CRD chart is applied as it is: the manifests hold Service references and
  // no caBundle; RBAC is the synthesized least privilege.
  ({ cluster, op } = await startWebhookCluster({ identity: 'webhook-op' }));
  await waitEstablished(cluster.kc, `${kinds.ippool.plural}.${group}`);
  pools = new SpiderpoolApi(new RestClient(cluster.kc));
}, 60_000);

afterAll(async () => {
  await op?.stop();
  await cluster?.stop();
});

async function webhookClientConfigs() {
  const admission = cluster.kc.makeApiClient(AdmissionregistrationV1Api);
  const m = await admission.readMutatingWebhookConfiguration({ name: 'spiderpool-operator' });
  const v = await admission.readValidatingWebhookConfiguration({ name: 'spiderpool-operator' });
  return [...(m.webhooks ?? []), ...(v.webhooks ?? [])].map((w) => w.clientConfig);
}

test('the operator writes its CA bundle and its URL into both webhook configurations', async () => {
  const { webhook } = await op.ports();
  const configs = await eventually('configurations pointing at the operator', async () => {
    const cc = await webhookClientConfigs();
    return cc.every((c) => c.url?.startsWith(`https://127.0.0.1:${webhook}/`) && c.caBundle) ? cc : undefined;
  });
  expect(configs.map((c) => new URL(c.url as string).pathname).sort()).toEqual(
    [
      ...plurals.flatMap((p) => [`/mutate/${p}`, `/validate/${p}`]),
      `/mutate/${kinds.coordinator.plural}`,
    ].sort(),
  );
  // The bundle is the CA in the shared Secret, and the server presents a certificate it signed.
  const secret = await cluster.core.readNamespacedSecret({
    name: 'spiderpool-operator-webhook-tls',
    namespace: ns,
  });
  const caPem = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString();
  expect(Buffer.from(configs[0]?.caBundle ?? '', 'base64').toString()).toBe(caPem);
  const presented = await new Promise<X509Certificate>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: webhook, ca: caPem, servername: undefined }, () => {
      resolve(new X509Certificate(socket.getPeerX509Certificate()?.raw as Buffer));
      socket.end();
    });
    socket.on('error', reject);
  });
  expect(presented.checkIssued(new X509Certificate(caPem))).toBe(true);
  expect(presented.subjectAltName).toContain('DNS:spiderpool-operator-webhook.kube-system.svc');
}, 60_000);

test('a new pool gets the finalizer from the mutating webhook', async () => {
  const created = await pools.createPool({
    metadata: { name: 'pool-a' },
    spec: { subnet: '198.18.0.0/24', ips: ['198.18.0.10-198.18.0.20'] },
  });
  expect(created.metadata.finalizers).toEqual([finalizer]);
});

test('changing a pool subnet is refused with a message naming spec.subnet', async () => {
  // The operator writes the pool's status meanwhile: a stale resourceVersion is retried, as kubectl would.
  const err = await eventually('a refusal that is not a conflict', async () => {
    const pool = await pools.getPool('pool-a');
    const e = await pools.replacePool({ ...pool, spec: { ...pool.spec, subnet: '198.18.1.0/24' } }).then(
      () => new Error('accepted'),
      (x: unknown) => x,
    );
    return isConflict(e) ? undefined : e;
  });
  expect(describeApiError(err)).toMatch(/spec\.subnet/);
  expect((await pools.getPool('pool-a')).spec.subnet).toBe('198.18.0.0/24');
});

test('a terminating pool cannot be updated: the webhook refuses it, naming the field; removing the finalizer is allowed', async () => {
  await pools.createPool({ metadata: { name: 'pool-b' }, spec: { subnet: '198.18.2.0/24' } });
  // An allocation keeps the deleted pool Terminating (the operator waits for its release).
  const record = { '198.18.2.7': { pod: 'default/holder', podUid: 'u-holder' } };
  await readModifyWrite(
    () => pools.getPool('pool-b'),
    (p) => ({
      write: { ...p, status: { allocatedIPs: JSON.stringify(record), allocatedIPCount: 1 } },
      result: 0,
    }),
    (next) => pools.replacePoolStatus(next),
  );
  await cluster.kc
    .makeApiClient(CustomObjectsApi)
    .deleteClusterCustomObject({ group, version, plural: kinds.ippool.plural, name: 'pool-b' });
  const terminating = await pools.getPool('pool-b');
  expect(terminating.metadata.deletionTimestamp).toBeDefined();
  const err = await pools.replacePool({ ...terminating, spec: { ...terminating.spec, disable: true } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  const message = describeApiError(err);
  expect(message).toContain(
    'admission webhook "spiderippool.validate.spiderpool.spidernet.io" denied the request',
  );
  expect(message).toContain('metadata.deletionTimestamp: Forbidden: SpiderIPPool pool-b is terminating');
  await eventually('the finalizer removed by hand', async () => {
    const fresh = await pools.getPool('pool-b');
    return pools.replacePool({ ...fresh, metadata: { ...fresh.metadata, finalizers: [] } }).then(
      () => true,
      (e: unknown) => (isConflict(e) ? undefined : Promise.reject(e)),
    );
  });
  await eventually('pool-b gone', () =>
    pools.getPool('pool-b').then(
      () => false,
      () => true,
    ),
  );
  const denied = await op.metric('spiderpool_operator_webhook_request_duration_seconds_count', {
    webhook: '/validate/spiderippools',
    operation: 'UPDATE',
    allowed: 'false',
  });
  expect(denied).toBeGreaterThanOrEqual(1);
});
