import type { KubernetesObject } from '@kubernetes/client-node';
import type { SpiderIPPool } from '../../../../api/index.js';
import type { AdmissionRequest, PatchOp } from '../../../../operator/webhook/admission.js';
import { parseReview } from '../../../../operator/webhook/admission.js';
import { makeReviews } from '../../../../operator/webhook/handlers.js';

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

let others: SpiderIPPool[] = [];
const reviews = makeReviews({
  ipam: {
    enableIPv4: true,
    enableIPv6: true,
    enableSpiderSubnet: false,
    enableValidatingResourcesDeletedWebhook: false,
  },
  listPools: async () => others,
  listSubnets: async () => [],
});

const review = (path: string) => {
  const r = reviews[path];
  if (!r) throw new Error(`no review at ${path}`);
  return async (req: AdmissionRequest) => r(req);
};

const patchOf = (patch?: string): PatchOp[] =>
  patch ? JSON.parse(Buffer.from(patch, 'base64').toString()) : [];

const shaped = { 'ipam.spidernet.io/ippool-cidr': '198-18-0-0-24' };

test('a new pool gets the finalizer, appended after any others', async () => {
  const mutate = review('/mutate/spiderippools');
  const spec = { subnet: '198.18.0.0/24', ipVersion: 4 };
  const none = await mutate(request('CREATE', pool(spec, { labels: shaped })));
  expect(none).toMatchObject({ uid: 'u-1', allowed: true, patchType: 'JSONPatch' });
  expect(patchOf(none.patch)).toEqual([{ op: 'add', path: '/metadata/finalizers', value: [f] }]);
  const some = await mutate(request('CREATE', pool(spec, { labels: shaped, finalizers: ['x/y'] })));
  expect(patchOf(some.patch)).toEqual([{ op: 'add', path: '/metadata/finalizers/-', value: f }]);
  const already = await mutate(request('CREATE', pool(spec, { labels: shaped, finalizers: [f] })));
  expect(already).toEqual({ uid: 'u-1', allowed: true });
});

test('a new pool gets its defaults: ipVersion, merged ranges and the CIDR label', async () => {
  const res = await review('/mutate/spiderippools')(
    request(
      'CREATE',
      pool(
        { subnet: '198.18.0.0/24', ips: ['198.18.0.20-198.18.0.30', '198.18.0.10-198.18.0.21'] },
        { finalizers: [f], labels: { app: 'x' } },
      ),
    ),
  );
  expect(patchOf(res.patch)).toEqual([
    { op: 'add', path: '/spec/ipVersion', value: 4 },
    { op: 'add', path: '/spec/ips', value: ['198.18.0.10-198.18.0.30'] },
    { op: 'add', path: '/metadata/labels/ipam.spidernet.io~1ippool-cidr', value: '198-18-0-0-24' },
  ]);
});

test('a subnet gets the finalizer and its own label; a reserved IP only its ipVersion', async () => {
  const subnet = await review('/mutate/spidersubnets')(
    request('CREATE', pool({ subnet: 'fd00::/64', ipVersion: 6 })),
  );
  expect(patchOf(subnet.patch)).toEqual([
    { op: 'add', path: '/metadata/finalizers', value: [f] },
    { op: 'add', path: '/metadata/labels', value: { 'ipam.spidernet.io/subnet-cidr': 'fd00---64' } },
  ]);
  const reserved = await review('/mutate/spiderreservedips')(request('CREATE', pool({ ips: ['fd00::5'] })));
  expect(patchOf(reserved.patch)).toEqual([{ op: 'add', path: '/spec/ipVersion', value: 6 }]);
});

test.each([
  ['/validate/spiderippools', 'subnet', '198.18.0.0/24', '198.18.1.0/24'],
  ['/validate/spiderippools', 'ipVersion', 4, 6],
  ['/validate/spidersubnets', 'subnet', 'fd00::/120', 'fd00::100/120'],
  ['/validate/spiderreservedips', 'ipVersion', 6, 4],
])('%s refuses a change of spec.%s, naming the field and both values', async (path, field, before, after) => {
  const res = await review(path)(request('UPDATE', pool({ [field]: after }), pool({ [field]: before })));
  expect(res.allowed).toBe(false);
  expect(res.status?.code).toBe(422);
  expect(res.status?.message).toBe(
    `spec.${field}: Invalid value: ${JSON.stringify(after)}: field is immutable (it was ${JSON.stringify(before)})`,
  );
});

test('other changes of a pool pass', async () => {
  const res = await review('/validate/spiderippools')(
    request(
      'UPDATE',
      pool({ subnet: '198.18.0.0/24', ipVersion: 4, disable: true }),
      pool({ subnet: '198.18.0.0/24', ipVersion: 4 }),
    ),
  );
  expect(res).toEqual({ uid: 'u-1', allowed: true });
});

test('a terminating pool that still has the finalizer cannot be updated; removing the finalizer can', async () => {
  const deleting = { deletionTimestamp: '2026-01-01T00:00:00Z' };
  const old = pool({ subnet: '198.18.0.0/24' }, { ...deleting, finalizers: [f] });
  const res = await review('/validate/spiderippools')(
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
  const release = await review('/validate/spiderippools')(
    request('UPDATE', pool({ subnet: '198.18.0.0/24' }, { ...deleting, finalizers: [] }), old),
  );
  expect(release.allowed).toBe(true);
});

test('the address rules run on CREATE against the other pools, and a refusal names the field', async () => {
  others = [
    pool({ subnet: '198.18.0.0/24', ipVersion: 4, ips: ['198.18.0.5'] }, { name: 'other' }) as SpiderIPPool,
  ];
  const res = await review('/validate/spiderippools')(
    request('CREATE', pool({ subnet: '198.18.0.0/24', ipVersion: 4, ips: ['198.18.0.1-198.18.0.9'] })),
  );
  others = [];
  expect(res.status).toEqual({
    code: 422,
    reason: 'Invalid',
    message:
      'spec.ips: Invalid value: ["198.18.0.1-198.18.0.9"]: 198.18.0.5 already belong to SpiderIPPool other',
  });
});

test('an update that leaves the spec alone passes even if the spec would fail today (finalizers, labels)', async () => {
  const legacy = { subnet: '198.18.0.0/24', ipVersion: 4, ips: ['198.18.0.1'], gateway: '198.18.0.1' };
  const res = await review('/validate/spiderippools')(
    request('UPDATE', pool(legacy, { labels: { a: 'b' } }), pool(legacy)),
  );
  expect(res.allowed).toBe(true);
  const changed = await review('/validate/spiderippools')(
    request('UPDATE', pool({ ...legacy, ips: ['198.18.0.1-198.18.0.2'] }), pool(legacy)),
  );
  expect(changed.status?.message).toMatch(/^spec\.gateway: Invalid value: "198\.18\.0\.1"/);
});

test('removing an allocated address is refused with its holder; DELETE is allowed (the finalizer waits)', async () => {
  const allocated = { '198.18.0.2': { pod: 'ns/web', podUid: 'u9' } };
  const old = {
    ...pool({ subnet: '198.18.0.0/24', ipVersion: 4, ips: ['198.18.0.1-198.18.0.3'] }),
    status: { allocatedIPs: JSON.stringify(allocated) },
  };
  const res = await review('/validate/spiderippools')(
    request('UPDATE', pool({ subnet: '198.18.0.0/24', ipVersion: 4, ips: ['198.18.0.3'] }), old),
  );
  expect(res.status).toMatchObject({
    code: 403,
    message:
      'spec.ips: Forbidden: 198.18.0.2 is allocated to ns/web (pod UID u9); it cannot leave the pool until it is released',
  });
  const del = await review('/validate/spiderippools')({
    uid: 'u-2',
    operation: 'DELETE',
    oldObject: old,
    name: 'p1',
  });
  expect(del).toEqual({ uid: 'u-2', allowed: true });
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

test('with enableValidatingResourcesDeletedWebhook on, a pool with allocations cannot be deleted; one without can', async () => {
  const strict = makeReviews({
    ipam: {
      enableIPv4: true,
      enableIPv6: true,
      enableSpiderSubnet: false,
      enableValidatingResourcesDeletedWebhook: true,
    },
    listPools: async () => [],
    listSubnets: async () => [],
  });
  const validate = strict['/validate/spiderippools'];
  if (!validate) throw new Error('no pool validator');
  const records = { '198.18.0.2': { pod: 'ns/web', podUid: 'u9' } };
  const held = { ...pool({ subnet: '198.18.0.0/24' }), status: { allocatedIPs: JSON.stringify(records) } };
  const refused = await validate({ uid: 'd', operation: 'DELETE', oldObject: held, name: 'p1' });
  expect(refused.status).toMatchObject({
    code: 403,
    message:
      'metadata.name: Forbidden: SpiderIPPool p1 still has 1 allocated addresses (enableValidatingResourcesDeletedWebhook is on)',
  });
  const empty = await validate({
    uid: 'e',
    operation: 'DELETE',
    oldObject: pool({ subnet: '198.18.0.0/24' }),
    name: 'p1',
  });
  expect(empty.allowed).toBe(true);
});
