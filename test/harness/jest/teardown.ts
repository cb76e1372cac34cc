import { rmSync } from 'node:fs';
import { ControlPlane } from '../control-plane.js';
import { unregisterRun } from '../runs.js';

export default async function globalTeardown(): Promise<void> {
  const dir = process.env.SPIDERPOOL_TS_CLUSTER_DIR;
  // Both projects call this; only the run that started the control plane stops it, once.
  if (!dir || process.env.SPIDERPOOL_TS_CLUSTER_OWNED !== '1') return;
  delete process.env.SPIDERPOOL_TS_CLUSTER_OWNED;
  await ControlPlane.attach(dir).stop();
  unregisterRun(dir);
  if (!process.env.SPIDERPOOL_TS_KEEP_RUN_DIR) rmSync(dir, { recursive: true, force: true });
}
