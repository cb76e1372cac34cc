// The real API server calls the operator's admission webhooks: the operator creates its CA and
// serving certificate, writes the caBundle (and, on 127.0.0.1, the URL) into the webhook
// configurations of the installation, then mutates new pools and refuses forbidden updates with
// a message that names the field.

import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { connect } from 'node:tls';
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  CustomObjectsApi,
  type V1MutatingWebhook,
  type V1ValidatingWebhook,
} from '@kubernetes/client-node';
import { finalizer, group, ippoolCrd, kinds, subnetCrd, version } from '../../../api/index.js';
import { describeApiError } from '../../../kube/errors.js';
import { SpiderpoolApi } from '../../../kube/spiderpool.js';
import { eventually } from '../../harness/wait.js';
import { OperatorProcess } from './operator-process.js';
import { type PrivateCluster, startPrivateCluster, testLabel } from './private-cluster.js';

const ns = 'kube-system';
let cluster: PrivateCluster;
let op: OperatorProcess;
let pools: SpiderpoolApi;

const plurals = [kinds.ippool.plural, kinds.subnet.plural, kinds.reservedip.plural];
const service = (path: string) => ({
  service: { name: 'spiderpool-operator-webhook', namespace: ns, path, port: 443 },
});
const common = {
  sideEffects: 'None',
  admissionReviewVersions: ['v1'],
  failurePolicy: 'Fail',
  timeoutSeconds: 5,
};
const rule = (plural: string, operations: string[]) => ({
  apiGroups: [group],
  apiVersions: [version],
  resources: [plural],
  operations,
});

async function installWebhookConfigurations(): Promise<void> {
  // What the installation manifests hold: Service references, no caBundle.
  const admission = cluster.kc.makeApiClient(AdmissionregistrationV1Api);
  await admission.createMutatingWebhookConfiguration({
    body: {
      metadata: { name: 'spiderpool-operator' },
      webhooks: plurals.map(
        (p): V1MutatingWebhook => ({
          name: `mutate.${p}.${group}`,
          clientConfig: service(`/mutate/${p}`),
          rules: [rule(p, ['CREATE', 'UPDATE'])],
          ...common,
        }),
      ),
    },
  });
  await admission.createValidatingWebhookConfiguration({
    body: {
      metadata: { name: 'spiderpool-operator' },
      webhooks: plurals.map(
        (p): V1ValidatingWebhook => ({
          name: `validate.${p}.${group}`,
          clientConfig: service(`/validate/${p}`),
          rules: [
            rule(p, p === kinds.reservedip.plural ? ['CREATE', 'UPDATE'] : ['CREATE', 'UPDATE', 'DELETE']),
          ],
          ...common,
        }),
      ),
    },
  });
}

beforeAll(async () => {
  cluster = await startPrivateCluster();
  const ext = cluster.kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of [ippoolCrd, subnetCrd]) {
    await ext.createCustomResourceDefinition({
      body: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: crd.name },
        spec: crd.spec as never,
      },
    });
    await eventually(`CRD ${crd.name} established`, async () =>
      (await ext.readCustomResourceDefinition({ name: crd.name })).status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      ),
    );
  }
  await installWebhookConfigurations();
  op = OperatorProcess.start({
    kubeconfig: cluster.cp.kubeconfigPath('admin'),
    namespace: ns,
    selector: `${testLabel}=none`,
    identity: 'webhook-op',
    logFile: join(cluster.dir, 'operator.log'),
    args: ['--webhook-url-host=127.0.0.1'],
  });
  pools = new SpiderpoolApi(cluster.kc.makeApiClient(CustomObjectsApi));
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
    plurals.flatMap((p) => [`/mutate/${p}`, `/validate/${p}`]).sort(),
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
  const pool = await pools.getPool('pool-a');
  const err = await pools.replacePool({ ...pool, spec: { ...pool.spec, subnet: '198.18.1.0/24' } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(describeApiError(err)).toMatch(/spec\.subnet/);
  expect((await pools.getPool('pool-a')).spec.subnet).toBe('198.18.0.0/24');
});

test('a terminating pool cannot be updated: the webhook refuses it, naming the field; removing the finalizer is allowed', async () => {
  await pools.createPool({ metadata: { name: 'pool-b' }, spec: { subnet: '198.18.2.0/24' } });
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
    'admission webhook "validate.spiderippools.spiderpool.spidernet.io" denied the request',
  );
  expect(message).toContain('metadata.deletionTimestamp: Forbidden: SpiderIPPool pool-b is terminating');
  await pools.replacePool({ ...terminating, metadata: { ...terminating.metadata, finalizers: [] } });
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
