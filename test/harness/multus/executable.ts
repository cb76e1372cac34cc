// The Multus stand-in (meta-plugin.ts) compiled like the project's executables (Bun, build/
// executables.ts) to dist/testbed/multus, rebuilt when it is missing or older than its sources;
// the test bed links it into each node's CNI bin folder.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildExecutable, repoRoot } from '../../../build/executables.js';
import { newestSource } from '../cni-plugin.js';

/** The name it is installed under in a node's CNI bin folder, and the `type` that calls it. */
export const multusType = 'multus';

const entry = join(repoRoot, 'test', 'harness', 'multus', 'meta-plugin.ts');
const executable = join(repoRoot, 'dist', 'testbed', multusType);
const sources = ['test/harness/multus', 'cni/protocol', 'kube', 'api', 'ipam'];

/** The path of an up-to-date compiled Multus stand-in, building it first when needed. */
export function multusBinary(): string {
  const newest = newestSource(sources, ['package-lock.json', 'test/harness/cni-call.ts']);
  if (!existsSync(executable) || statSync(executable).mtimeMs < newest) buildExecutable(entry, executable);
  return executable;
}
