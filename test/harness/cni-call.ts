// Calling a CNI plugin as a runtime does: its process with the CNI environment and the
// configuration on stdin, and the CNI_ARGS string. Nothing here depends on the build, so the test
// bed's own CNI executables (the Multus stand-in, multus/) bundle it too.
import { spawn } from 'node:child_process';
import { collectOutput } from './child-output.js';

export interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json?: Record<string, unknown>;
}

/**
 * A plugin call is killed after this long, as kubelet gives up on a runtime request after its default
 * `--runtime-request-timeout` of 2 minutes. It must stay above the plugin's own 60 s coordination
 * deadline (cni/coordination/coordinate.ts), so under load a slow call ends with the plugin's own
 * answer (code 11, try again), not a kill the test would read as a failure.
 */
export const callKillMs = 120_000;

/** Runs `file` with `env` and `stdin`, collecting everything it prints. */
export function runProcess(
  file: string,
  args: string[],
  env: Record<string, string | undefined>,
  stdin = '',
  timeoutMs = callKillMs,
): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const output = collectOutput(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const { stdout, stderr } = output;
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

/** CNI_ARGS as a runtime sends them. */
export function cniArgs(args: Record<string, string> = {}): string {
  return ['IgnoreUnknown=1', ...Object.entries(args).map(([k, v]) => `${k}=${v}`)].join(';');
}
