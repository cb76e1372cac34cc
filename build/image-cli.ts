// `npm run image [-- --tag <tag>] [--out <file>]`: compiles the two executables, then writes the
// OCI archive (build/image.ts) and prints its digest, which the same inputs always reproduce.
import { parseArgs } from 'node:util';
import {
  buildExecutable,
  operatorEntry,
  operatorExecutable,
  pluginEntry,
  pluginExecutable,
} from './executables.js';
import { buildImage, imageRepository } from './image.js';

try {
  const { values } = parseArgs({
    options: { tag: { type: 'string' }, out: { type: 'string' }, 'skip-build': { type: 'boolean' } },
  });
  if (!values['skip-build']) {
    buildExecutable(pluginEntry, pluginExecutable);
    buildExecutable(operatorEntry, operatorExecutable);
  }
  const image = buildImage({
    ...(values.tag ? { tag: values.tag } : {}),
    ...(values.out ? { out: values.out } : {}),
  });
  console.log(`wrote ${image.archive} (${(image.bytes / 1e6).toFixed(1)} MB)`);
  console.log(`  ${imageRepository}:${image.tag}@${image.digest}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
