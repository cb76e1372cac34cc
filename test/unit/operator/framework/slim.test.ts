import { withoutManagedFields } from '../../../../operator/framework/slim.js';

test('managed fields are dropped; everything else is kept as it was', () => {
  const object = {
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderEndpoint',
    metadata: {
      name: 'web-1',
      namespace: 'default',
      uid: 'u1',
      resourceVersion: '7',
      finalizers: ['spiderpool.spidernet.io'],
      managedFields: [{ manager: 'spiderpool', operation: 'Update', fieldsV1: { 'f:status': {} } }],
    },
    status: { current: { uid: 'p1', node: 'node-1', ips: [] } },
  };
  const slim = withoutManagedFields(object);
  expect(slim.metadata).not.toHaveProperty('managedFields');
  const { managedFields: _, ...rest } = object.metadata;
  expect(slim).toEqual({ ...object, metadata: rest });
  // The status is shared, not copied: only the top level and metadata are new.
  expect(slim.status).toBe(object.status);
});

test('an object without managed fields is returned as it is', () => {
  const object = { metadata: { name: 'a' } };
  expect(withoutManagedFields(object)).toBe(object);
});
