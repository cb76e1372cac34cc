// Entry point of `spiderpool-operator` (and `npm run operator -- --kubeconfig <file> [flags]`). The same
// executable is the `spiderpool` command line: a first argument naming a command (`pools`, `ip`,
// `check`, `release`), or the name `kubectl-spiderpool` (a kubectl plugin), runs operator/ctl/.
import { main } from './cli.js';
import { ctlMain, isCtlInvocation } from './ctl/main.js';

const args = process.argv.slice(2);
if (isCtlInvocation(process.argv0, args)) void ctlMain(process.argv0, args);
else void main(args);
