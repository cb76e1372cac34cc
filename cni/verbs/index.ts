// The verbs this build serves. VERSION is answered by the protocol layer itself (it needs no
// configuration); ADD, DEL, CHECK and GC are wired onto the IPAM core in phase 2 (cni/README.md).
//
// Handlers are imported on first use: a call then evaluates only the modules its verb needs, so
// VERSION and a call with bad input never pay for loading @kubernetes/client-node.
import type { VerbHandler, VerbTable } from '../plugin.js';

function lazy(load: () => Promise<VerbHandler>): VerbHandler {
  return async (ctx) => (await load())(ctx);
}

export const verbs: VerbTable = {
  STATUS: lazy(async () => (await import('./status.js')).status),
};
