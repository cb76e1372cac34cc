// The webhook certificate in its Secret on the real API server: created once and shared by
// replicas (also when they race), renewed before it expires, the CA rotated with the old one kept
// trusted; and a user-provided Secret that is read, checked and never written.
import { CoreV1Api } from '@kubernetes/client-node';
import { RestClient } from '../../../kube/rest.js';
import { operatorLogger } from '../../../operator/observability/log.js';
import {
  certFacts,
  createCA,
  isConsistent,
  issueServing,
  servingIdentity,
} from '../../../operator/webhook/certs.js';
import { CertificateSource, splitPem } from '../../../operator/webhook/tls-secret.js';
import { kubeConfig, uniqueName } from '../../harness/clients.js';

const kc = kubeConfig('admin');
const core = kc.makeApiClient(CoreV1Api);
const rest = new RestClient(kc);
const namespace = uniqueName('certs');
const identity = servingIdentity('spiderpool-operator-webhook', namespace);
const day = 24 * 3600 * 1000;

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: namespace });
  rest.close();
});

function source(secretName: string, opts: { userProvided?: boolean; now?: Date } = {}) {
  return new CertificateSource({
    rest,
    namespace,
    secretName,
    userProvided: opts.userProvided ?? false,
    identity,
    log: operatorLogger('error', () => {}),
    now: opts.now ? () => opts.now as Date : undefined,
  });
}

test('replicas racing on an empty namespace end up serving one certificate', async () => {
  const [a, b, c] = await Promise.all([source('race').load(), source('race').load(), source('race').load()]);
  expect(b?.cert).toBe(a?.cert);
  expect(c?.cert).toBe(a?.cert);
  const secret = await core.readNamespacedSecret({ name: 'race', namespace });
  expect(secret.type).toBe('kubernetes.io/tls');
  expect(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString()).toBe(a?.cert);
  expect(isConsistent({ cert: a?.cert ?? '', key: a?.key ?? '' }, a?.caBundle ?? '')).toBe(true);
});

test('the serving certificate is renewed late in its life; the CA is rotated and the old one stays trusted', async () => {
  const first = await source('rotate').load();
  const again = await source('rotate').load();
  expect(again.cert).toBe(first.cert);

  const servingAfter = new Date(Date.now() + 300 * day);
  const renewed = await source('rotate', { now: servingAfter }).load();
  expect(renewed.cert).not.toBe(first.cert);
  expect(renewed.caBundle).toBe(first.caBundle);
  expect(certFacts(renewed.cert).notAfter).toBeGreaterThan(certFacts(first.cert).notAfter);

  const caAfter = new Date(Date.now() + 7 * 365 * day);
  const rotated = await source('rotate', { now: caAfter }).load();
  const cas = splitPem(rotated.caBundle);
  expect(cas).toHaveLength(2);
  expect(cas[1]).toBe(splitPem(first.caBundle)[0]);
  expect(isConsistent(rotated, cas[0] ?? '')).toBe(true);
});

test('a user-provided Secret is used as it is, and a broken one is refused by key', async () => {
  const ca = createCA('user-ca');
  const serving = issueServing(ca, identity);
  const data = (entries: Record<string, string>) =>
    Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 'user-tls' },
      type: 'kubernetes.io/tls',
      data: data({ 'tls.crt': serving.cert, 'tls.key': serving.key, 'ca.crt': ca.cert }),
    },
  });
  const bundle = await source('user-tls', { userProvided: true }).load();
  expect(bundle).toEqual({ cert: serving.cert, key: serving.key, caBundle: ca.cert });
  const before = await core.readNamespacedSecret({ name: 'user-tls', namespace });
  // Even when it is about to expire, a user's Secret is never rewritten.
  await source('user-tls', { userProvided: true, now: new Date(Date.now() + 364 * day) }).load();
  expect((await core.readNamespacedSecret({ name: 'user-tls', namespace })).metadata?.resourceVersion).toBe(
    before.metadata?.resourceVersion,
  );

  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 'no-ca' },
      type: 'kubernetes.io/tls',
      data: data({ 'tls.crt': serving.cert, 'tls.key': serving.key }),
    },
  });
  await expect(source('no-ca', { userProvided: true }).load()).rejects.toThrow(
    `webhook TLS Secret ${namespace}/no-ca: key ca.crt is missing or empty`,
  );
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 'wrong-ca' },
      type: 'kubernetes.io/tls',
      data: data({ 'tls.crt': serving.cert, 'tls.key': serving.key, 'ca.crt': createCA('other').cert }),
    },
  });
  await expect(source('wrong-ca', { userProvided: true }).load()).rejects.toThrow(
    /tls.crt is not signed by ca.crt/,
  );
  await expect(source('absent', { userProvided: true }).load()).rejects.toThrow(
    `webhook TLS Secret ${namespace}/absent does not exist`,
  );
});
