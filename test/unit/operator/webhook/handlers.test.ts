import type { KubernetesObject } from '@kubernetes/client-node';
import type { AdmissionRequest, PatchOp } from '../../../../operator/webhook/admission.js';
import { parseReview } from '../../../../operator/webhook/admission.js';
import { reviews } from '../../../../operator/webhook/handlers.js';

const f = 'spiderpool.spidernet.io';

function pool(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubernetesObject {
  return {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'p1', ...metadata },
    spec,
  } as KubernetesObject;
}

function request(
  operation: AdmissionRequest['operation'],
  object: KubernetesObject,
  oldObject?: KubernetesObject,
) {
  return { uid: 'u-1', operation, object, oldObject, name: 'p1' };
}

const review = (path: string) => {
  const r = reviews[path];
  if (!r) throw new Error(`no review at ${path}`);
  return r;
};

const patchOf = (patch?: string): PatchOp[] =>
  patch ? JSON.parse(Buffer.from(patch, 'base64').toString()) : [];

test('a new pool gets the finalizer, appended after any others', () => {
  const mutate = review('/mutate/spiderippools');
  const none = mutate(request('CREATE', pool({ subnet: '198.18.0.0/24' })));
  expect(none).toMatchObject({ uid: 'u-1', allowed: true, patchType: 'JSONPatch' });
  expect(patchOf(none.patch)).toEqual([{ op: 'add', path: '/metadata/finalizers', value: [f] }]);
  const some = mutate(request('CREATE', pool({ subnet: '198.18.0.0/24' }, { finalizers: ['x/y'] })));
  expect(patchOf(some.patch)).toEqual([{ op: 'add', path: '/metadata/finalizers/-', value: f }]);
  const already = mutate(request('CREATE', pool({ subnet: '198.18.0.0/24' }, { finalizers: [f] })));
  expect(already).toEqual({ uid: 'u-1', allowed: true });
});

test.each([
  ['/validate/spiderippools', 'subnet', '198.18.0.0/24', '198.18.1.0/24'],
  ['/validate/spiderippools', 'ipVersion', 4, 6],
  ['/validate/spidersubnets', 'subnet', 'fd00::/120', 'fd00::100/120'],
  ['/validate/spiderreservedips', 'ipVersion', 6, 4],
])('%s refuses a change of spec.%s, naming the field and both values', (path, field, before, after) => {
  const res = review(path)(request('UPDATE', pool({ [field]: after }), pool({ [field]: before })));
  expect(res.allowed).toBe(false);
  expect(res.status?.code).toBe(422);
  expect(res.status?.message).toBe(
    `spec.${field}: Invalid value: ${JSON.stringify(after)}: field is immutable (it was ${JSON.stringify(before)})`,
  );
});

test('other changes of a pool pass', () => {
  const res = review('/validate/spiderippools')(
    request(
      'UPDATE',
      pool({ subnet: '198.18.0.0/24', ipVersion: 4, disable: true }),
      pool({ subnet: '198.18.0.0/24', ipVersion: 4 }),
    ),
  );
  expect(res).toEqual({ uid: 'u-1', allowed: true });
});

test('a terminating pool that still has the finalizer cannot be updated; removing the finalizer can', () => {
  const deleting = { deletionTimestamp: '2026-01-01T00:00:00Z' };
  const old = pool({ subnet: '198.18.0.0/24' }, { ...deleting, finalizers: [f] });
  const res = review('/validate/spiderippools')(
    request(
      'UPDATE',
      pool({ subnet: '198.18.0.0/24', disable: false }, { ...deleting, finalizers: [f] }),
      old,
    ),
  );
  expect(res.allowed).toBe(false);
  expect(res.status).toMatchObject({ code: 403, reason: 'Forbidden' });
  expect(res.status?.message).toMatch(
    /^metadata.deletionTimestamp: Forbidden: SpiderIPPool p1 is terminating/,
  );
  const release = review('/validate/spiderippools')(
    request('UPDATE', pool({ subnet: '198.18.0.0/24' }, { ...deleting, finalizers: [] }), old),
  );
  expect(release.allowed).toBe(true);
});

test('requests that are not AdmissionReview v1 are refused with the reason', () => {
  expect(() => parseReview({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' })).toThrow(
    'expected an admission.k8s.io/v1 AdmissionReview, got admission.k8s.io/v1beta1/AdmissionReview',
  );
  expect(() =>
    parseReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }),
  ).toThrow('AdmissionReview has no request.uid');
  expect(() => parseReview(null)).toThrow('body is not a JSON object');
});
