// A full garbage collection now, where the runtime offers one (Bun, which the operator's executable
// runs on); nothing under Node (the tests' `tsx`). The reflector calls it between the pages of a list:
// each page is parsed whole and slimmed, and without it the heap grows by that garbage until
// JavaScriptCore's own pacing collects, so the initial sync of 10,000 pods and endpoints peaked with
// the garbage of many pages on top of the caches (docs/operator.md, "At scale").
interface BunGlobal {
  gc(synchronous: boolean): void;
}

export function collectGarbage(): void {
  (globalThis as { Bun?: BunGlobal }).Bun?.gc(true);
}
