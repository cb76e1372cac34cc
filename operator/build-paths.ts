// Where the operator executable is built from and to (build.ts builds; tests build their own copy).
import { join } from 'node:path';
import { repoRoot } from '../cni/build.js';

export const operatorEntry = join(repoRoot, 'operator', 'main.ts');
export const operatorExecutable = join(repoRoot, 'dist', 'bin', 'spiderpool-operator');
