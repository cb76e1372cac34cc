import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileLogger, rotate } from '../../../cni/log/logger.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cni-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const settings = (
  over: Partial<{ maxSizeMB: number; maxCount: number; maxAgeDays: number; level: 'debug' | 'info' }> = {},
) => ({
  level: 'info' as const,
  filePath: join(dir, 'sub', 'spiderpool.log'),
  maxSizeMB: 1,
  maxAgeDays: 30,
  maxCount: 3,
  ...over,
});

test('lines are JSON objects with the logger fields; debug lines need log_level debug', () => {
  const log = fileLogger(settings(), { command: 'ADD' }).child({ pod: 'ns/p' });
  log.debug('hidden');
  log.info('shown', { n: 1n });
  const lines = readFileSync(settings().filePath, 'utf8').trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0] ?? '')).toMatchObject({
    level: 'info',
    msg: 'shown',
    command: 'ADD',
    pod: 'ns/p',
    n: '1',
    pid: process.pid,
  });
  fileLogger(settings({ level: 'debug' })).debug('now shown');
  expect(readFileSync(settings().filePath, 'utf8')).toContain('now shown');
});

test('an error field is written as its message, and a cycle does not lose the line', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const log = fileLogger(settings());
  log.warn('failed', { error: new Error('etcd said no') });
  log.error('odd', { cyclic });
  const [failed, odd] = readFileSync(settings().filePath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(failed).toMatchObject({ msg: 'failed', error: 'etcd said no' });
  expect(odd).toMatchObject({ level: 'error', msg: 'odd', note: 'fields were not serialisable' });
});

test('the file is rotated when it would pass the size limit, keeping maxCount old files', () => {
  const s = settings({ maxCount: 2 });
  const big = 'x'.repeat(400 * 1024);
  for (let i = 0; i < 8; i++) fileLogger(s).info(`line ${i}`, { big });
  const files = readdirSync(join(dir, 'sub')).sort();
  expect(files).toEqual(['spiderpool.log', 'spiderpool.log.1', 'spiderpool.log.2']);
  for (const f of files) expect(readFileSync(join(dir, 'sub', f)).length).toBeLessThanOrEqual(1024 * 1024);
  // The newest line is in the live file, the oldest kept ones in .2.
  // Two lines fit in a file: the live file has lines 6-7, .1 has 4-5, .2 has 2-3; 0-1 are gone.
  const has = (f: string, line: number) =>
    readFileSync(join(dir, 'sub', f), 'utf8').includes(`"line ${line}"`);
  expect([has('spiderpool.log', 7), has('spiderpool.log.1', 4), has('spiderpool.log.2', 2)]).toEqual([
    true,
    true,
    true,
  ]);
  expect([0, 1].some((i) => files.some((f) => has(f, i)))).toBe(false);
});

test('rotation removes old generations past the age limit', () => {
  const file = join(dir, 'a.log');
  writeFileSync(file, 'now');
  writeFileSync(`${file}.1`, 'old');
  const longAgo = new Date(Date.now() - 40 * 86_400_000);
  utimesSync(`${file}.1`, longAgo, longAgo);
  rotate(file, 5, 30);
  expect(readdirSync(dir).sort()).toEqual(['a.log.1']);
  expect(readFileSync(`${file}.1`, 'utf8')).toBe('now');
});

test('an unwritable log never throws', () => {
  writeFileSync(join(dir, 'blocker'), '');
  const log = fileLogger({ ...settings(), filePath: join(dir, 'blocker', 'x.log') });
  const write = process.stderr.write;
  const errors: string[] = [];
  process.stderr.write = ((chunk: string) => errors.push(chunk) > 0) as typeof process.stderr.write;
  try {
    expect(() => log.info('a')).not.toThrow();
    expect(() => log.info('b')).not.toThrow();
  } finally {
    process.stderr.write = write;
  }
  expect(errors).toHaveLength(1);
  expect(errors[0]).toContain('cannot write log file');
});
