// A registry of control planes started by test runs, so that a run killed before its teardown
// (SIGKILL, a crashed jest) does not leave etcd and kube-apiserver running forever: the next run
// stops every control plane whose owning process is gone.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from './binaries.js';
import { ControlPlane } from './control-plane.js';

interface RunRecord {
  dir: string;
  owner: number;
}

const registry = (): string => join(cacheRoot(), 'runs');
const entry = (dir: string): string => join(registry(), `${Buffer.from(dir).toString('base64url')}.json`);

export function registerRun(dir: string): void {
  mkdirSync(registry(), { recursive: true });
  writeFileSync(entry(dir), JSON.stringify({ dir, owner: process.pid } satisfies RunRecord));
}

export function unregisterRun(dir: string): void {
  rmSync(entry(dir), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function reapOrphanedRuns(): Promise<void> {
  if (!existsSync(registry())) return;
  for (const file of readdirSync(registry())) {
    const path = join(registry(), file);
    let rec: RunRecord;
    try {
      rec = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
    } catch {
      rmSync(path, { force: true });
      continue;
    }
    if (alive(rec.owner)) continue;
    if (existsSync(join(rec.dir, 'state.json'))) await ControlPlane.attach(rec.dir).stop();
    rmSync(rec.dir, { recursive: true, force: true });
    rmSync(path, { force: true });
  }
}
