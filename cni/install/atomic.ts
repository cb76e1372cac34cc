// Files that a running plugin may read at any moment are replaced, never rewritten in place: the
// new content goes to a temporary file in the same directory, is flushed, and is renamed over the
// old one, so a reader sees either the old file or the new one, whole.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * `durable: false` skips the flush: the rename still makes the file whole or absent for every reader,
 * and only a power loss right after can lose the newest content.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o644, { durable = true } = {}): void {
  const temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, data);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(temp);
    throw err;
  }
  closeSync(fd);
  renameSync(temp, path);
}

/** Writes only when the content differs; returns whether it wrote. */
export function replaceIfChanged(path: string, data: string, mode = 0o644): boolean {
  try {
    if (readFileSync(path, 'utf8') === data) return false;
  } catch {
    // missing or unreadable: write it
  }
  writeFileAtomic(path, data, mode);
  return true;
}
