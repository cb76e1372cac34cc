// The verbs this build serves. VERSION is answered by the protocol layer itself (it needs no
// configuration); ADD, DEL, CHECK and GC are wired onto the IPAM core in phase 2 (cni/README.md).
import type { VerbTable } from '../plugin.js';
import { status } from './status.js';

export const verbs: VerbTable = {
  STATUS: status,
};
