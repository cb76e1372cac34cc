// The verbs this build serves. VERSION is answered by the protocol layer itself (it needs no
// configuration).
//
// Handlers are imported on first use: a call then evaluates only the modules its verb needs, so
// VERSION and a call with bad input never pay for loading @kubernetes/client-node (and ADD, DEL and
// GC load it only in the process that leads the node's batch).
import type { VerbHandler, VerbTable } from '../plugin.js';

function lazy(load: () => Promise<VerbHandler>): VerbHandler {
  return async (ctx) => (await load())(ctx);
}

export const verbs: VerbTable = {
  ADD: lazy(async () => (await import('./add.js')).add),
  DEL: lazy(async () => (await import('./del.js')).del),
  CHECK: lazy(async () => (await import('./check.js')).check),
  GC: lazy(async () => (await import('./gc.js')).gc),
  STATUS: lazy(async () => (await import('./status.js')).status),
};
