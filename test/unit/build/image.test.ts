import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOciArchive, type ImageSpec, lddPaths, rfc3339 } from '../../../build/image.js';

describe('lddPaths', () => {
  it('lists the resolved libraries and the loader, not the vdso', () => {
    const output = [
      '\tlinux-vdso.so.1 (0x00007ffd1c5f2000)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3b0c000000)',
      '\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f3b0bf00000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f3b0c400000)',
    ].join('\n');
    expect(lddPaths(output)).toEqual([
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib/x86_64-linux-gnu/libm.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
  });
});

describe('rfc3339', () => {
  it('prints whole seconds in UTC', () => {
    expect(rfc3339(0)).toBe('1970-01-01T00:00:00Z');
    expect(rfc3339(1_700_000_000)).toBe('2023-11-14T22:13:20Z');
  });
});

// Real umoci and GNU tar on a small dynamically linked executable (the project's own image is the
// same code with the two compiled executables; `npm run image` prints its digest).
describe('buildOciArchive', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'image-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const spec = (out: string, epoch = 0): ImageSpec => ({
    files: { '/usr/local/bin/true': '/bin/true' },
    withLibraries: true,
    entrypoint: ['/usr/local/bin/true', '--version'],
    tag: '1.2.3',
    out: join(dir, out),
    labels: { 'org.opencontainers.image.title': 'test' },
    epoch,
  });

  it('gives the same digest and the same archive bytes for the same inputs', () => {
    const first = buildOciArchive(spec('a.tar'));
    const second = buildOciArchive(spec('b.tar'));
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(second.digest).toBe(first.digest);
    expect(readFileSync(second.archive).equals(readFileSync(first.archive))).toBe(true);
  }, 60_000);

  it('gives another digest when an input changes (the timestamps)', () => {
    const first = buildOciArchive(spec('c.tar', 0));
    const other = buildOciArchive(spec('d.tar', 86_400));
    expect(other.digest).not.toBe(first.digest);
  }, 60_000);
});
