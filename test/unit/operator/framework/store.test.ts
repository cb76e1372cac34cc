import { ObjectStore } from '../../../../operator/framework/store.js';
import { Added, Deleted, Modified, obj } from './fixtures.js';

const summary = (events: ReturnType<ObjectStore['replace']>) =>
  events.map((e) => `${e.type} ${e.object.metadata?.name}@${e.object.metadata?.uid}`);

test('the first list adds everything', () => {
  const s = new ObjectStore();
  expect(summary(s.replace([obj('a', 'u1', '1'), obj('b', 'u2', '1')]))).toEqual([
    'ADDED a@u1',
    'ADDED b@u2',
  ]);
  expect(s.size).toBe(2);
});

test('a relist reports deletions missed meanwhile, re-creations and changes; unchanged objects stay quiet', () => {
  const s = new ObjectStore();
  s.replace([
    obj('gone', 'u1', '1'),
    obj('same', 'u2', '1'),
    obj('changed', 'u3', '1'),
    obj('recreated', 'u4', '1'),
  ]);
  const events = s.replace([
    obj('same', 'u2', '1'),
    obj('changed', 'u3', '5'),
    obj('recreated', 'u9', '6'),
    obj('new', 'u5', '7'),
  ]);
  expect(summary(events).sort()).toEqual(
    [
      `${Deleted} gone@u1`,
      `${Deleted} recreated@u4`,
      `${Modified} changed@u3`,
      `${Added} recreated@u9`,
      `${Added} new@u5`,
    ].sort(),
  );
  // The deletion of the old incarnation comes before the new one's ADDED.
  const flat = summary(events);
  expect(flat.indexOf(`${Deleted} recreated@u4`)).toBeLessThan(flat.indexOf(`${Added} recreated@u9`));
  expect(s.get('ns/gone')).toBeUndefined();
  expect(s.get('ns/recreated')?.metadata?.uid).toBe('u9');
});

test('watch events keep the store current', () => {
  const s = new ObjectStore();
  s.apply(Added, obj('a', 'u1', '1'));
  s.apply(Modified, obj('a', 'u1', '2'));
  expect(s.get('ns/a')?.metadata?.resourceVersion).toBe('2');
  s.apply(Deleted, obj('a', 'u1', '3'));
  expect(s.size).toBe(0);
});

test('objects are found by UID; a deletion, a re-creation and a relist keep that index true', () => {
  const s = new ObjectStore();
  s.replace([obj('a', 'u1', '1'), obj('b', 'u2', '1')]);
  expect(s.getByUid('u1')?.metadata?.name).toBe('a');
  s.apply(Deleted, obj('a', 'u1', '2'));
  expect(s.getByUid('u1')).toBeUndefined();
  s.apply(Added, obj('a', 'u3', '3'));
  expect(s.getByUid('u3')?.metadata?.name).toBe('a');
  s.apply(Modified, obj('b', 'u2', '4'));
  expect(s.getByUid('u2')?.metadata?.resourceVersion).toBe('4');
  s.replace([obj('b', 'u2', '4')]);
  expect(s.getByUid('u3')).toBeUndefined();
  expect(s.getByUid('u2')?.metadata?.name).toBe('b');
});
