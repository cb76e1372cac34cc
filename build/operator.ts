// `npm run build:operator`: the operator as one executable, dist/bin/spiderpool-operator, made by
// Bun's compiler like the plugin (@dot-i/k8s-operator with its client-node 0.20, client-node 1.4,
// node-forge and prom-client all run in it; see docs/operator.md for the measurements), and the link
// dist/bin/kubectl-spiderpool to it, the kubectl plugin (docs/cli.md).
import { buildScript, linkKubectlPlugin, operatorEntry, operatorExecutable } from './executables.js';

buildScript(operatorEntry, operatorExecutable);
if (!process.exitCode) console.log(`linked ${linkKubectlPlugin(operatorExecutable)}`);
