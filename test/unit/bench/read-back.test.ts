import { readBack, resultAddress } from '../../../bench/peers/system.js';

const records = (entries: [string, string[]][]) => new Map(entries);

test('results that match the records one to one have no duplicate and nothing unrecorded', () => {
  const results = new Map([
    ['ns/a', '198.18.0.1'],
    ['ns/b', '198.18.0.2'],
  ]);
  expect(
    readBack(
      results,
      records([
        ['198.18.0.1', ['ns/a']],
        ['198.18.0.2', ['ns/b']],
      ]),
    ),
  ).toEqual({
    duplicates: 0,
    unrecorded: 0,
    recorded: 2,
  });
});

test('two pods answered with one address is a duplicate even when the API records only one of them', () => {
  const results = new Map([
    ['ns/a', '198.18.0.1'],
    ['ns/b', '198.18.0.1'],
  ]);
  expect(readBack(results, records([['198.18.0.1', ['ns/a']]]))).toEqual({
    duplicates: 1,
    unrecorded: 1,
    recorded: 1,
  });
});

test('an address the API records for two pods is a duplicate the results alone would not show', () => {
  const results = new Map([['ns/a', '198.18.0.1']]);
  expect(readBack(results, records([['198.18.0.1', ['ns/a', 'ns/c']]])).duplicates).toBe(1);
});

test('an answered address the API records for another pod counts as unrecorded and duplicate', () => {
  const results = new Map([['ns/a', '198.18.0.1']]);
  expect(readBack(results, records([['198.18.0.1', ['ns/z']]]))).toEqual({
    duplicates: 1,
    unrecorded: 1,
    recorded: 1,
  });
});

test('resultAddress takes the first IP of a successful result without its prefix length', () => {
  const ok = { code: 0, signal: null, stdout: '', stderr: '', json: { ips: [{ address: '198.18.0.7/16' }] } };
  expect(resultAddress(ok)).toBe('198.18.0.7');
  expect(resultAddress({ ...ok, code: 1 })).toBeUndefined();
  expect(resultAddress({ ...ok, json: { code: 7, msg: 'no' } })).toBeUndefined();
});
