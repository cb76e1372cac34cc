// `npm run build:operator`: the operator as one executable, dist/bin/spiderpool-operator, made by
// Bun's compiler like the plugin (@dot-i/k8s-operator with its client-node 0.20, client-node 1.4,
// node-forge and prom-client all run in it; see docs/operator.md for the measurements).
import { buildScript, operatorEntry, operatorExecutable } from './executables.js';

buildScript(operatorEntry, operatorExecutable);
