import { coalesce, enqueue, requeueFailed } from '../../../../operator/framework/coalesce.js';
import { Added, Deleted, ev, Modified, obj } from './fixtures.js';

test('updates of one object fold into the newest', () => {
  const merged = coalesce(ev(Modified, obj('a', 'u1', '1')), ev(Modified, obj('a', 'u1', '2')));
  expect(merged?.type).toBe(Modified);
  expect(merged?.object.metadata?.resourceVersion).toBe('2');
});

test('an unhandled ADDED stays ADDED but carries the newest object', () => {
  const merged = coalesce(ev(Added, obj('a', 'u1', '1')), ev(Modified, obj('a', 'u1', '5')));
  expect(merged?.type).toBe(Added);
  expect(merged?.object.metadata?.resourceVersion).toBe('5');
});

test('a deletion absorbs pending updates of the same object', () => {
  expect(coalesce(ev(Modified, obj('a', 'u1', '1')), ev(Deleted, obj('a', 'u1', '2')))?.type).toBe(Deleted);
});

test('a re-created object (another UID) is never folded into its predecessor', () => {
  expect(coalesce(ev(Deleted, obj('a', 'u1', '1')), ev(Added, obj('a', 'u2', '2')))).toBeUndefined();
  expect(coalesce(ev(Modified, obj('a', 'u1', '1')), ev(Added, obj('a', 'u2', '2')))).toBeUndefined();
});

test('enqueue grows the list only when nothing folds', () => {
  const pending = [ev(Added, obj('a', 'u1', '1'))];
  expect(enqueue(pending, ev(Modified, obj('a', 'u1', '2')))).toBe(false);
  expect(enqueue(pending, ev(Deleted, obj('a', 'u1', '3')))).toBe(false);
  expect(enqueue(pending, ev(Added, obj('a', 'u2', '4')))).toBe(true);
  expect(pending.map((e) => [e.type, e.object.metadata?.uid])).toEqual([
    [Deleted, 'u1'],
    [Added, 'u2'],
  ]);
});

test('a failed event goes back in front, folded with what arrived meanwhile', () => {
  const pending = [ev(Modified, obj('a', 'u1', '7'))];
  expect(requeueFailed(pending, ev(Added, obj('a', 'u1', '3')))).toBe(false);
  expect(pending).toHaveLength(1);
  expect(pending[0]?.type).toBe(Added);
  expect(pending[0]?.object.metadata?.resourceVersion).toBe('7');

  const other = [ev(Added, obj('a', 'u2', '9'))];
  expect(requeueFailed(other, ev(Deleted, obj('a', 'u1', '8')))).toBe(true);
  expect(other.map((e) => e.type)).toEqual([Deleted, Added]);
});
