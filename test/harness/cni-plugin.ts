// The compiled plugin for integration and e2e tests: dist/bin/spiderpool, rebuilt when it is missing
// or older than any source it is built from, and a way to call it directly as a runtime would.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildExecutable, linkCoordinator, pluginExecutable, repoRoot } from '../../build/executables.js';

const sourceDirs = ['cni', 'kube', 'api', 'ipam', 'coordinator'];
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

/** The directory to put on CNI_PATH so main plugins find `spiderpool` and conflists `coordinator`. */
export function pluginDir(): string {
  const binary = pluginBinary();
  linkCoordinator();
  return dirname(binary);
}

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

/** One simulated node of a test: its node configuration, attachment records and log. */
export interface TestNode {
  name: string;
  nodeConfigPath: string;
  stateDir: string;
  logFile: string;
}

/** Writes a node configuration (config.json) for `name` under `dir`. */
export function testNode(
  dir: string,
  name: string,
  settings: Record<string, boolean | string | number> = {},
): TestNode {
  const root = join(dir, name);
  mkdirSync(root, { recursive: true });
  const nodeConfigPath = join(root, 'config.json');
  writeFileSync(nodeConfigPath, JSON.stringify({ nodeName: name, ...settings }));
  return { name, nodeConfigPath, stateDir: join(root, 'state'), logFile: join(root, 'spiderpool.log') };
}

/** A network configuration whose IPAM is spiderpool on `node`, talking to the API as `kubeconfig`. */
export function netConf(
  node: TestNode,
  kubeconfig: string,
  opts: {
    name?: string;
    cniVersion?: string;
    ipam?: Record<string, unknown>;
    top?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  return {
    cniVersion: opts.cniVersion ?? '1.0.0',
    name: opts.name ?? 'spiderpool-test',
    ...opts.top,
    ipam: {
      type: 'spiderpool',
      log_file_path: node.logFile,
      log_level: 'debug',
      node_config_path: node.nodeConfigPath,
      state_dir: node.stateDir,
      kubernetes: { kubeconfig },
      ...opts.ipam,
    },
  };
}

export interface PodRef {
  namespace: string;
  name: string;
  uid?: string;
}

/** The CNI_* environment of a call about `pod`, as a runtime sets it. */
export function cniEnv(
  command: string,
  pod: PodRef | undefined,
  opts: { containerId?: string; ifname?: string; netns?: string } = {},
): Record<string, string> {
  const args = ['IgnoreUnknown=1'];
  if (pod) {
    args.push(`K8S_POD_NAMESPACE=${pod.namespace}`, `K8S_POD_NAME=${pod.name}`);
    if (pod.uid) args.push(`K8S_POD_UID=${pod.uid}`);
  }
  const env: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_PATH: '/usr/lib/cni',
    CNI_ARGS: args.join(';'),
  };
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK') {
    env.CNI_CONTAINERID =
      opts.containerId ?? `c-${pod?.uid ?? pod?.name ?? 'x'}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
    env.CNI_IFNAME = opts.ifname ?? 'eth0';
    env.CNI_NETNS = opts.netns ?? '/var/run/netns/none';
  }
  return env;
}
