// `spiderpool install [--watch]`: what the node DaemonSet runs. Copies this executable into the
// host's CNI bin directory and writes, into the plugin's configuration directory, the kubeconfig
// (with the pod's service-account token), the CA and config.json. With --watch it keeps those files
// true: the kubelet rotates the projected token and the ConfigMap may change.
import {
  chmodSync,
  closeSync,
  copyFileSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeMounts, nodePaths, pluginFiles } from '../../api/install/names.js';
import { replaceIfChanged } from './atomic.js';
import { convertConfYml } from './conf-yml.js';
import { installCoordinatorLink } from './coordinator-link.js';
import { renderKubeconfig, serverUrl } from './kubeconfig.js';

export interface InstallSettings {
  binDir: string;
  configDir: string;
  hostConfigDir: string;
  tokenFile: string;
  caFile: string;
  server: string;
  /** conf.yml of the ConfigMap; without it config.json holds Spiderpool's defaults. */
  nodeConfigFile?: string;
  nodeName: string;
  /** Spiderpool's namespace (SPIDERPOOL_NAMESPACE): where bare Multus network names are. */
  namespace?: string;
  watchIntervalMs: number;
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

export function installSettings(env: Record<string, string | undefined>): InstallSettings {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST: missing (the API server address)');
  if (!port) throw new Error('KUBERNETES_SERVICE_PORT: missing (the API server port)');
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new Error(`KUBERNETES_SERVICE_PORT: ${JSON.stringify(port)} is not a port number`);
  }
  const interval = env.SPIDERPOOL_WATCH_INTERVAL_MS ?? '1000';
  if (!/^\d+$/.test(interval) || Number(interval) < 10) {
    throw new Error(
      `SPIDERPOOL_WATCH_INTERVAL_MS: ${JSON.stringify(interval)} is not a number of milliseconds ≥ 10`,
    );
  }
  return {
    binDir: env.SPIDERPOOL_CNI_BIN_DIR ?? nodeMounts.cniBinDir,
    configDir: env.SPIDERPOOL_CONFIG_DIR ?? nodeMounts.pluginConfigDir,
    hostConfigDir: env.SPIDERPOOL_HOST_CONFIG_DIR ?? nodePaths.hostPluginConfigDir,
    tokenFile: env.SPIDERPOOL_TOKEN_FILE ?? join(serviceAccountDir, 'token'),
    caFile: env.SPIDERPOOL_CA_FILE ?? join(serviceAccountDir, 'ca.crt'),
    server: serverUrl(host, port),
    ...(env.SPIDERPOOL_NODE_CONFIG ? { nodeConfigFile: env.SPIDERPOOL_NODE_CONFIG } : {}),
    nodeName: env.SPIDERPOOL_NODE_NAME || hostname(),
    ...(env.SPIDERPOOL_NAMESPACE ? { namespace: env.SPIDERPOOL_NAMESPACE } : {}),
    watchIntervalMs: Number(interval),
  };
}

function readRequired(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`);
  }
}

/** The configuration files as they should be now. */
export function desiredFiles(s: InstallSettings): Record<string, { data: string; mode: number }> {
  const token = readRequired(s.tokenFile, 'service-account token').trim();
  if (token === '') throw new Error(`service-account token ${s.tokenFile}: empty`);
  const ca = readRequired(s.caFile, 'CA certificate');
  const nodeConfig = s.nodeConfigFile
    ? convertConfYml(
        readRequired(s.nodeConfigFile, 'node configuration'),
        s.nodeConfigFile,
        s.nodeName,
        s.namespace,
      )
    : { nodeName: s.nodeName, ...(s.namespace ? { multusNamespace: s.namespace } : {}) };
  return {
    [pluginFiles.ca]: { data: ca, mode: 0o644 },
    [pluginFiles.kubeconfig]: {
      data: renderKubeconfig({ server: s.server, caFile: join(s.hostConfigDir, pluginFiles.ca), token }),
      mode: 0o600,
    },
    [pluginFiles.config]: { data: `${JSON.stringify(nodeConfig, null, 2)}\n`, mode: 0o644 },
  };
}

/** Writes what changed; the CA first, so a new kubeconfig never names a CA that is not there. */
export function syncConfigFiles(s: InstallSettings, log: (line: string) => void): number {
  mkdirSync(s.configDir, { recursive: true });
  let written = 0;
  for (const [name, { data, mode }] of Object.entries(desiredFiles(s))) {
    if (replaceIfChanged(join(s.configDir, name), data, mode)) {
      written++;
      log(`wrote ${join(s.configDir, name)}`);
    }
  }
  return written;
}

/** The running executable, when it is the compiled plugin (not a runtime running a script). */
export function ownExecutable(): string {
  const runtime = basename(process.execPath);
  if (!('Bun' in globalThis) || runtime === 'bun' || runtime === 'node') {
    throw new Error(
      'install must run from the compiled plugin (npm run build:cni), not from a script runtime',
    );
  }
  return process.execPath;
}

export function installBinary(s: InstallSettings, source: string, log: (line: string) => void): void {
  mkdirSync(s.binDir, { recursive: true });
  const target = join(s.binDir, pluginFiles.binary);
  const temp = join(s.binDir, `.${pluginFiles.binary}.tmp-${process.pid}`);
  copyFileSync(source, temp);
  chmodSync(temp, 0o755);
  const fd = openSync(temp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // Renaming over a running executable is safe; writing into it would fail (ETXTBSY) or corrupt it.
  renameSync(temp, target);
  log(`installed ${target}`);
  installCoordinatorLink(s.binDir, pluginFiles.binary, log);
}

export async function runInstaller(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const watch = argv.includes('--watch');
  const unknown = argv.filter((a) => a !== '--watch');
  if (unknown.length > 0) {
    process.stderr.write(
      `spiderpool install: unknown arguments ${unknown.join(' ')} (usage: spiderpool install [--watch])\n`,
    );
    return 2;
  }
  let settings: InstallSettings;
  try {
    settings = installSettings(env);
    installBinary(settings, ownExecutable(), log);
    syncConfigFiles(settings, log);
  } catch (err) {
    process.stderr.write(`spiderpool install: ${(err as Error).message}\n`);
    return 1;
  }
  if (!watch) return 0;
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log(
    `watching ${settings.tokenFile}, ${settings.caFile}${settings.nodeConfigFile ? ` and ${settings.nodeConfigFile}` : ''}`,
  );
  while (!stopping) {
    await sleep(settings.watchIntervalMs);
    try {
      syncConfigFiles(settings, log);
    } catch (err) {
      // A half-rotated projected volume or a bad ConfigMap edit: keep the last good files, say why.
      process.stderr.write(`spiderpool install: ${(err as Error).message}\n`);
    }
  }
  return 0;
}
