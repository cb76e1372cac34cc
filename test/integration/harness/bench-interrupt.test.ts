// A benchmark stopped with SIGINT or SIGTERM stops the control plane it started (bench/harness.ts):
// etcd and kube-apiserver run detached, so without that they outlive the benchmark.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../harness/binaries.js';
import { isAlive } from '../../harness/processes.js';
import { eventually } from '../../harness/wait.js';

const fixture = join(repoRoot, 'test', 'integration', 'harness', 'fixtures', 'bench-control-plane.ts');

interface Started {
  child: ChildProcess;
  exited: Promise<number | null>;
  pids: { etcd: number; apiserver: number };
}

async function startBenchControlPlane(dir: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const line = await eventually(
    'the bench control plane to be up',
    () => {
      if (child.exitCode !== null) throw new Error(`the fixture exited ${child.exitCode}: ${err}`);
      return out.includes('\n') ? out.split('\n')[0] : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  const pids = JSON.parse(line as string) as { etcd: number; apiserver: number };
  return { child, exited, pids };
}

describe.each(['SIGTERM', 'SIGINT'] as const)('a benchmark that gets %s', (signal) => {
  let dir: string;
  let started: Started | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-interrupt-'));
  });

  afterEach(() => {
    // A failed assertion must not leave the processes behind either.
    if (started)
      for (const pid of Object.values(started.pids)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    started?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops its etcd and kube-apiserver, then exits with 128 + the signal number', async () => {
    started = await startBenchControlPlane(dir);
    const { etcd, apiserver } = started.pids;
    expect(isAlive(etcd)).toBe(true);
    expect(isAlive(apiserver)).toBe(true);
    started.child.kill(signal);
    const code = await Promise.race([
      started.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000).unref()),
    ]);
    expect(code).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(isAlive(apiserver)).toBe(false);
    expect(isAlive(etcd)).toBe(false);
  }, 240_000);
});
