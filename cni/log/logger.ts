// The plugin's log file: one JSON object per line, rotated by size. Many plugin processes append to
// it at once; each line is one write(2) to a file opened with O_APPEND, so lines never interleave.
// Logging never fails a CNI call: a file that cannot be written is reported once on stderr.
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { JsonLinesLogger, type LogFields, type Logger } from '../../kube/log.js';
import type { LogSettings } from '../protocol/config.js';

export type { LogFields, Logger } from '../../kube/log.js';

/** Shifts `file` to `file.1`, `file.1` to `file.2`, ... keeping `maxCount` old files. */
export function rotate(file: string, maxCount: number, maxAgeDays: number, now = Date.now()): void {
  for (let i = maxCount - 1; i >= 1; i--) {
    try {
      renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      // a missing generation is normal
    }
  }
  try {
    renameSync(file, `${file}.1`);
  } catch {
    // another process rotated it a moment ago
  }
  const dir = dirname(file);
  const prefix = `${basename(file)}.`;
  const oldest = now - maxAgeDays * 86_400_000;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
    const path = join(dir, name);
    try {
      if (Number(name.slice(prefix.length)) > maxCount || statSync(path).mtimeMs < oldest) unlinkSync(path);
    } catch {
      // removed by another process
    }
  }
}

class FileSink {
  private fd: number | undefined;
  private size = 0;
  private failed = false;

  constructor(private readonly settings: LogSettings) {}

  private open(): number {
    const { filePath } = this.settings;
    try {
      this.fd = openSync(filePath, 'a', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(filePath), { recursive: true });
      this.fd = openSync(filePath, 'a', 0o644);
    }
    this.size = fstatSync(this.fd).size;
    return this.fd;
  }

  write(line: string): void {
    if (this.failed) return;
    try {
      let fd = this.fd ?? this.open();
      const bytes = Buffer.byteLength(line);
      if (this.size > 0 && this.size + bytes > this.settings.maxSizeMB * 1024 * 1024) {
        this.close();
        rotate(this.settings.filePath, this.settings.maxCount, this.settings.maxAgeDays);
        fd = this.open();
      }
      writeSync(fd, line);
      this.size += bytes;
    } catch (err) {
      this.failed = true;
      process.stderr.write(
        `spiderpool: cannot write log file ${this.settings.filePath}: ${(err as Error).message}\n`,
      );
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export function fileLogger(settings: LogSettings, fields: LogFields = {}): Logger {
  const file = new FileSink(settings);
  return new JsonLinesLogger(settings.level, (line) => file.write(`${line}\n`), fields, { pid: true });
}
