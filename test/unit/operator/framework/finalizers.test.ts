import { finalizerAction, withFinalizer } from '../../../../operator/framework/finalizers.js';

const f = 'spiderpool.spidernet.io';

test.each([
  [{}, 'add'],
  [{ finalizers: ['other'] }, 'add'],
  [{ finalizers: [f] }, 'none'],
  [{ finalizers: [f], deletionTimestamp: new Date() }, 'finalize'],
  [{ finalizers: ['other'], deletionTimestamp: new Date() }, 'deleting'],
])('metadata %j → %s', (metadata, action) => {
  expect(finalizerAction(metadata, f)).toBe(action);
});

test('withFinalizer adds once, removes only ours and keeps the others in order', () => {
  expect(withFinalizer(['a', 'b'], f, true)).toEqual(['a', 'b', f]);
  expect(withFinalizer(['a', f, 'b'], f, true)).toEqual(['a', 'b', f]);
  expect(withFinalizer(['a', f, 'b'], f, false)).toEqual(['a', 'b']);
  expect(withFinalizer(undefined, f, false)).toEqual([]);
});
