// The compiled plugin for integration and e2e tests: dist/bin/spiderpool, rebuilt when it is missing
// or older than any source it is built from, and a way to call it directly as a runtime would.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildExecutable, linkCoordinator, pluginExecutable, repoRoot } from '../../build/executables.js';
import { type ProcessOutcome, runProcess } from './cni-call.js';

export { callKillMs, type ProcessOutcome, runProcess } from './cni-call.js';

const sourceDirs = ['cni', 'kube', 'api', 'ipam', 'coordinator'];
const sourceFiles = ['package-lock.json'];

/** The newest modification time of the .ts files under `dirs` and of `files` (paths from the repository). */
export function newestSource(dirs = sourceDirs, files = sourceFiles): number {
  let newest = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of dirs) walk(join(repoRoot, dir));
  for (const file of files) newest = Math.max(newest, statSync(join(repoRoot, file)).mtimeMs);
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
