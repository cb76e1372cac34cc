// The compiled plugin for integration and e2e tests: dist/bin/spiderpool, rebuilt when it is missing
// or older than any source it is built from, and a way to call it directly as a runtime would.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildExecutable, pluginExecutable, repoRoot } from '../../cni/build.js';

const sourceDirs = ['cni', 'kube', 'api', 'ipam'];
const sourceFiles = ['package-lock.json'];

function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of sourceDirs) walk(join(repoRoot, dir));
  for (const file of sourceFiles) newest = Math.max(newest, statSync(join(repoRoot, file)).mtimeMs);
  return newest;
}

/** The path of an up-to-date dist/bin/spiderpool, building it first when needed. */
export function pluginBinary(): string {
  if (!existsSync(pluginExecutable) || statSync(pluginExecutable).mtimeMs < newestSource()) buildExecutable();
  return pluginExecutable;
}

/** The directory to put on CNI_PATH so main plugins find `spiderpool`. */
export function pluginDir(): string {
  return dirname(pluginBinary());
}

export interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json?: Record<string, unknown>;
}

/** Runs `file` with `env` and `stdin`, collecting everything it prints. */
export function runProcess(
  file: string,
  args: string[],
  env: Record<string, string | undefined>,
  stdin = '',
  timeoutMs = 30_000,
): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, ...(json ? { json } : {}) });
    });
    child.stdin.end(stdin);
  });
}

/** Calls the plugin itself (no main plugin), e.g. for VERSION, STATUS and GC. */
export function callPlugin(
  env: Record<string, string | undefined>,
  config: unknown,
): Promise<ProcessOutcome> {
  const stdin = typeof config === 'string' ? config : JSON.stringify(config);
  return runProcess(pluginBinary(), [], { PATH: process.env.PATH, ...env }, stdin);
}
