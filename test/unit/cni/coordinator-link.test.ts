import { lstatSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installCoordinatorLink } from '../../../cni/install/coordinator-link.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coordinator-link-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('the bin folder gets coordinator -> spiderpool, replacing an older file, once', () => {
  writeFileSync(join(dir, 'coordinator'), 'an older coordinator binary');
  const lines: string[] = [];
  installCoordinatorLink(dir, 'spiderpool', (l) => lines.push(l));
  expect(lstatSync(join(dir, 'coordinator')).isSymbolicLink()).toBe(true);
  expect(readlinkSync(join(dir, 'coordinator'))).toBe('spiderpool');
  installCoordinatorLink(dir, 'spiderpool', (l) => lines.push(l));
  expect(lines).toEqual([`installed ${join(dir, 'coordinator')} -> spiderpool`]);
});
