// The coordinator meta plugin is the same executable as the spiderpool plugin (cni/main.ts picks
// it by the config's `type`); a runtime finds plugins by file name, so the bin folder gets a
// `coordinator` symlink to `spiderpool`, replaced atomically (a link made beside it, renamed over).
import { readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pluginFiles } from '../../api/install/names.js';

const coordinatorBinary = pluginFiles.coordinatorLink;

export function installCoordinatorLink(binDir: string, target: string, log: (line: string) => void): void {
  const link = join(binDir, coordinatorBinary);
  try {
    if (readlinkSync(link) === target) return;
  } catch {
    // absent, or a regular file (an older install): replaced below
  }
  const temp = join(binDir, `.${coordinatorBinary}.tmp-${process.pid}`);
  rmSync(temp, { force: true });
  symlinkSync(target, temp);
  renameSync(temp, link);
  log(`installed ${link} -> ${target}`);
}
