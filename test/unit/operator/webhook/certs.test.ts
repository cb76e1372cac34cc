import { X509Certificate } from 'node:crypto';
import {
  certFacts,
  createCA,
  isConsistent,
  issueServing,
  renewalReason,
  servingIdentity,
} from '../../../../operator/webhook/certs.js';
import { desiredClientConfig, withClientConfigs } from '../../../../operator/webhook/configurations.js';
import { splitPem } from '../../../../operator/webhook/tls-secret.js';

const now = new Date('2026-06-01T00:00:00Z');
const id = servingIdentity('spiderpool-operator-webhook', 'kube-system');
const ca = createCA('test-ca', now);
const serving = issueServing(ca, id, now);

test('the serving certificate names the Service and 127.0.0.1, is signed by the CA and matches its key', () => {
  const x = new X509Certificate(serving.cert);
  expect(x.subjectAltName).toContain('DNS:spiderpool-operator-webhook.kube-system.svc');
  expect(x.subjectAltName).toContain('IP Address:127.0.0.1');
  expect(x.checkIssued(new X509Certificate(ca.cert))).toBe(true);
  expect(isConsistent(serving, ca.cert)).toBe(true);
  expect(new X509Certificate(ca.cert).ca).toBe(true);
  const other = createCA('other', now);
  expect(isConsistent(serving, other.cert)).toBe(false);
  expect(isConsistent({ cert: serving.cert, key: other.key }, ca.cert)).toBe(false);
});

test('renewal once two thirds of the lifetime have passed, or when a name is missing', () => {
  const facts = certFacts(serving.cert);
  const lifetime = facts.notAfter - facts.notBefore;
  expect(renewalReason(facts, now.getTime(), id)).toBeUndefined();
  expect(renewalReason(facts, facts.notBefore + lifetime * 0.6, id)).toBeUndefined();
  expect(renewalReason(facts, facts.notBefore + lifetime * 0.7, id)).toBe(
    'two thirds of its lifetime have passed',
  );
  expect(renewalReason(facts, facts.notAfter + 1, id)).toBe('expired');
  expect(
    renewalReason(facts, now.getTime(), servingIdentity('spiderpool-operator-webhook', 'spider')),
  ).toMatch(/^it does not name spiderpool-operator-webhook.spider.svc/);
});

test('PEM bundles split into their certificates', () => {
  expect(splitPem(ca.cert + serving.cert)).toHaveLength(2);
  expect(splitPem('')).toEqual([]);
});

test('client configs get the CA bundle; with a URL base the Service becomes a URL with its path', () => {
  const svc = {
    service: {
      name: 'spiderpool-operator-webhook',
      namespace: 'kube-system',
      path: '/validate/spiderippools',
    },
  };
  expect(desiredClientConfig(svc, 'Q0E=')).toEqual({ ...svc, caBundle: 'Q0E=' });
  expect(desiredClientConfig(svc, 'Q0E=', 'https://127.0.0.1:6000')).toEqual({
    url: 'https://127.0.0.1:6000/validate/spiderippools',
    caBundle: 'Q0E=',
  });
  const config = { metadata: { name: 'spiderpool-operator' }, webhooks: [{ name: 'a', clientConfig: svc }] };
  const changed = withClientConfigs(config, 'Q0E=');
  expect(changed?.webhooks?.[0]?.clientConfig.caBundle).toBe('Q0E=');
  expect(changed && withClientConfigs(changed, 'Q0E=')).toBeUndefined();
});

test('an extra host goes where it belongs, IPv6 in one spelling, so a reissued certificate is not renewed again', () => {
  const wanted = servingIdentity('svc', 'ns', ['::1', 'FD00:0:0:0:0:0:0:10', 'webhook.example', '127.0.0.1']);
  expect(wanted.ipAddresses).toEqual(['127.0.0.1', '::1', 'fd00::10']);
  expect(wanted.dnsNames).toContain('webhook.example');
  const cert = issueServing(ca, wanted, now);
  expect(certFacts(cert.cert).ipAddresses).toEqual(['127.0.0.1', '::1', 'fd00::10']);
  expect(renewalReason(certFacts(cert.cert), now.getTime(), wanted)).toBeUndefined();
});
