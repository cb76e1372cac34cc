// Starts one control plane for the whole jest run (shared by the integration and e2e projects), with
// KubeVirt (virt-controller and schedulable nodes), so KubeVirt tests run against KubeVirt's own
// controller.
//
// SPIDERPOOL_TS_CLUSTER_DIR, when already set, names a running control plane to use instead (for
// example .cluster/ from `npm run cluster -- up`); it is then left running at the end.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../control-plane.js';
import { reapOrphanedRuns, registerRun } from '../runs.js';

export default async function globalSetup(): Promise<void> {
  if (process.env.SPIDERPOOL_TS_CLUSTER_DIR) {
    // Second project of the same run, or a control plane the developer started.
    const cp = ControlPlane.attach(process.env.SPIDERPOOL_TS_CLUSTER_DIR);
    if (!(await cp.apiserverReady())) throw new Error(`no API server answers at ${cp.server}`);
    return;
  }
  await reapOrphanedRuns();
  const root = join(tmpdir(), 'spiderpool-ts-runs');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, 'run-'));
  registerRun(dir);
  const started = Date.now();
  const cp = await ControlPlane.start({ dir, kubevirt: true, log: (line) => console.log(line) });
  console.log(`\ncontrol plane for this run: ${cp.server} (${dir}), up in ${Date.now() - started} ms`);
  process.env.SPIDERPOOL_TS_CLUSTER_DIR = dir;
  process.env.SPIDERPOOL_TS_CLUSTER_OWNED = '1';
}
