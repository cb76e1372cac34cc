// Entry point of `spiderpool-operator` (and `npm run operator -- --kubeconfig <file> [flags]`).
import { main } from './cli.js';

void main(process.argv.slice(2));
