// The plugin's start-up cost, side by side with `node -e 0` in the same rounds:
//   VERSION           the compiled plugin doing no I/O beyond stdin/stdout
//   STATUS            the compiled plugin loading its kubeconfig and making one TLS GET (list pools)
// Each round runs every subject once, in turn, so machine noise hits all alike. Reported: median
// wall time and peak RSS of each, and ratios against node -e 0.
// Usage: npm run bench:cni-start [-- --rounds 30]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { buildExecutable, pluginExecutable } from '../build/executables.js';
import { ensureSpiderpoolCrds } from '../test/harness/spiderpool-api.js';
import { benchControlPlane, median, runBench } from './harness.js';

interface Subject {
  name: string;
  file: string;
  args: string[];
  env: Record<string, string>;
  stdin: string;
  /** Exit code the subject must end with, so a broken subject is not timed as a fast one. */
  expectCode: number;
}

function once(s: Subject): { ms: number; rssKiB: number } {
  const started = process.hrtime.bigint();
  const run = spawnSync('/usr/bin/time', ['-f', '%M', s.file, ...s.args], {
    env: { PATH: process.env.PATH ?? '', ...s.env },
    input: s.stdin,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== s.expectCode) {
    throw new Error(`${s.name} exited ${run.status}: ${run.stdout}${run.stderr}`);
  }
  const rssKiB = Number(run.stderr.trim().split('\n').at(-1));
  return { ms, rssKiB };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' } } });
  const rounds = Number(values.rounds);
  buildExecutable();
  const { cp, release } = await benchControlPlane();
  const work = mkdtempSync(join(tmpdir(), 'bench-cni-start-'));
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath('admin'));
    await ensureSpiderpoolCrds(kc);
    const config = (cniVersion: string) =>
      JSON.stringify({
        cniVersion,
        name: 'bench',
        ipam: {
          type: 'spiderpool',
          log_file_path: join(work, 'plugin.log'),
          kubernetes: { kubeconfig: cp.kubeconfigPath('admin') },
        },
      });
    const subjects: Subject[] = [
      { name: 'node -e 0', file: process.execPath, args: ['-e', '0'], env: {}, stdin: '', expectCode: 0 },
      {
        name: 'spiderpool VERSION',
        file: pluginExecutable,
        args: [],
        env: { CNI_COMMAND: 'VERSION' },
        stdin: config('1.1.0'),
        expectCode: 0,
      },
      {
        name: 'spiderpool STATUS (kubeconfig + TLS GET)',
        file: pluginExecutable,
        args: [],
        env: { CNI_COMMAND: 'STATUS' },
        stdin: config('1.1.0'),
        expectCode: 0,
      },
    ];
    const samples = subjects.map(() => ({ ms: [] as number[], rss: [] as number[] }));
    for (const s of subjects) once(s); // warm the page cache
    for (let r = 0; r < rounds; r++) {
      subjects.forEach((s, i) => {
        const { ms, rssKiB } = once(s);
        samples[i]?.ms.push(ms);
        samples[i]?.rss.push(rssKiB);
      });
    }
    const base = median(samples[0]?.ms ?? []);
    console.log(`cold start, median of ${rounds} interleaved rounds (API server ${cp.server})`);
    console.log(
      'subject'.padEnd(42),
      'wall ms'.padStart(8),
      'vs node -e 0'.padStart(13),
      'peak RSS MiB'.padStart(13),
    );
    subjects.forEach((s, i) => {
      const ms = median(samples[i]?.ms ?? []);
      const rss = median(samples[i]?.rss ?? []) / 1024;
      console.log(
        s.name.padEnd(42),
        ms.toFixed(1).padStart(8),
        `${(ms / base).toFixed(2)}x`.padStart(13),
        rss.toFixed(0).padStart(13),
      );
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
    await release();
  }
}

runBench(main);
