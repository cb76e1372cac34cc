// `spiderpool install [--watch]` run from the compiled executable with temporary directories in place
// of the host's, and the kubeconfig it writes used by the compiled plugin against the real API
// server (as the 'cni' user, whose token plays the projected service-account token).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { controlPlane, kubeConfig } from '../../harness/clients.js';
import { callPlugin, pluginBinary, runProcess } from '../../harness/cni-plugin.js';
import { cniPolicyRules, ensureSpiderpoolCrds, grantClusterRules } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';

let root: string;
let revoke: (() => Promise<void>) | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  pluginBinary();
  await ensureSpiderpoolCrds(kubeConfig('admin'));
  // The plugin's own ClusterRole rules, as the installation grants them.
  revoke = await grantClusterRules(kubeConfig('admin'), 'cni', cniPolicyRules());
}, 120_000);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cni-install-'));
  mkdirSync(join(root, 'sa'));
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

afterAll(async () => {
  await revoke?.();
});

/** The kubelet updates a projected volume by swapping files in with a rename; so does this. */
function writeToken(token: string): void {
  writeFileSync(join(root, 'sa', '.token.new'), token);
  renameSync(join(root, 'sa', '.token.new'), join(root, 'sa', 'token'));
}

/** ConfigMap volumes change the same way; a plain write could be read half done (empty) by --watch. */
function writeConfYml(text: string): void {
  writeFileSync(join(root, '.conf.yml.new'), text);
  renameSync(join(root, '.conf.yml.new'), join(root, 'conf.yml'));
}

function environment(extra: Record<string, string> = {}): Record<string, string> {
  const cp = controlPlane();
  const url = new URL(cp.server);
  writeFileSync(join(root, 'sa', 'ca.crt'), readFileSync(cp.caFile));
  return {
    PATH: process.env.PATH ?? '',
    KUBERNETES_SERVICE_HOST: url.hostname,
    KUBERNETES_SERVICE_PORT: url.port,
    SPIDERPOOL_CNI_BIN_DIR: join(root, 'bin'),
    SPIDERPOOL_CONFIG_DIR: join(root, 'conf'),
    SPIDERPOOL_HOST_CONFIG_DIR: join(root, 'conf'),
    SPIDERPOOL_TOKEN_FILE: join(root, 'sa', 'token'),
    SPIDERPOOL_CA_FILE: join(root, 'sa', 'ca.crt'),
    SPIDERPOOL_NODE_NAME: 'node-7',
    ...extra,
  };
}

const status = () =>
  callPlugin(
    { CNI_COMMAND: 'STATUS' },
    {
      cniVersion: '1.1.0',
      name: 'installed',
      ipam: {
        type: 'spiderpool',
        log_file_path: join(root, 'plugin.log'),
        kubernetes: { kubeconfig: join(root, 'conf', 'spiderpool.kubeconfig') },
      },
    },
  );

test('install copies the executable and writes kubeconfig, CA and config.json that the plugin can use', async () => {
  writeToken(controlPlane().token('cni'));
  writeFileSync(
    join(root, 'conf.yml'),
    'enableIPv6: false\nenableIPConflictDetection: true\nipamUnixSocketPath: /x\nclusterNetwork: macvlan-ens192\n',
  );
  const out = await runProcess(
    pluginBinary(),
    ['install'],
    environment({ SPIDERPOOL_NODE_CONFIG: join(root, 'conf.yml'), SPIDERPOOL_NAMESPACE: 'spiderpool' }),
  );
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);

  const installed = join(root, 'bin', 'spiderpool');
  expect(statSync(installed).size).toBe(statSync(pluginBinary()).size);
  expect(statSync(installed).mode & 0o777).toBe(0o755);
  const kubeconfig = parse(readFileSync(join(root, 'conf', 'spiderpool.kubeconfig'), 'utf8'));
  expect(kubeconfig.clusters[0].cluster).toEqual({
    server: controlPlane().server,
    'certificate-authority': join(root, 'conf', 'ca.crt'),
  });
  expect(statSync(join(root, 'conf', 'spiderpool.kubeconfig')).mode & 0o777).toBe(0o600);
  expect(readFileSync(join(root, 'conf', 'ca.crt'), 'utf8')).toBe(
    readFileSync(controlPlane().caFile, 'utf8'),
  );
  expect(JSON.parse(readFileSync(join(root, 'conf', 'config.json'), 'utf8'))).toEqual({
    enableIPv6: false,
    enableIPConflictDetection: true,
    clusterNetwork: 'macvlan-ens192',
    nodeName: 'node-7',
    multusNamespace: 'spiderpool',
  });

  // The installed copy is the plugin: STATUS through the written kubeconfig reaches the API server.
  const installedStatus = await runProcess(
    installed,
    [],
    { CNI_COMMAND: 'STATUS' },
    JSON.stringify({
      cniVersion: '1.1.0',
      name: 'n',
      ipam: {
        type: 'spiderpool',
        log_file_path: join(root, 'p.log'),
        kubernetes: { kubeconfig: join(root, 'conf', 'spiderpool.kubeconfig') },
      },
    }),
  );
  expect({ code: installedStatus.code, stdout: installedStatus.stdout }).toEqual({ code: 0, stdout: '' });
});

test('bad input stops the installer with the variable or key named', async () => {
  writeToken(controlPlane().token('cni'));
  writeFileSync(join(root, 'conf.yml'), 'enableIPv4: yes please\n');
  const badKey = await runProcess(
    pluginBinary(),
    ['install'],
    environment({ SPIDERPOOL_NODE_CONFIG: join(root, 'conf.yml') }),
  );
  expect(badKey.code).toBe(1);
  expect(badKey.stderr).toContain(
    `${join(root, 'conf.yml')}: enableIPv4: expected true or false, got "yes please"`,
  );
  const noHost = await runProcess(pluginBinary(), ['install'], {
    ...environment(),
    KUBERNETES_SERVICE_HOST: '',
  });
  expect(noHost.code).toBe(1);
  expect(noHost.stderr).toContain('KUBERNETES_SERVICE_HOST: missing');
  const noToken = await runProcess(
    pluginBinary(),
    ['install'],
    environment({ SPIDERPOOL_TOKEN_FILE: join(root, 'none') }),
  );
  expect(noToken.stderr).toContain(`service-account token ${join(root, 'none')}`);
});

test('--watch rewrites the kubeconfig when the token rotates and config.json when the ConfigMap changes; readers never see half a file', async () => {
  // First a token the API server knows but that may not list pools; then the plugin's own.
  writeToken(controlPlane().token('nobody'));
  writeFileSync(join(root, 'conf.yml'), 'enableIPv4: true\n');
  const watcher = spawn(pluginBinary(), ['install', '--watch'], {
    env: environment({ SPIDERPOOL_NODE_CONFIG: join(root, 'conf.yml'), SPIDERPOOL_WATCH_INTERVAL_MS: '50' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(watcher);
  let stderr = '';
  watcher.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const kubeconfigPath = join(root, 'conf', 'spiderpool.kubeconfig');
  await eventually('the first kubeconfig', () =>
    readFileSync(kubeconfigPath, 'utf8').includes(controlPlane().token('nobody')),
  );
  expect((await status()).json).toMatchObject({
    code: 50,
    msg: expect.stringContaining('may not list spiderippools'),
  });

  // Rotate back and forth while a reader parses the kubeconfig as fast as it can.
  let reads = 0;
  let torn = 0;
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const token = parse(readFileSync(kubeconfigPath, 'utf8'))?.users?.[0]?.user?.token;
      if (token !== controlPlane().token('nobody') && token !== controlPlane().token('cni')) torn++;
      reads++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  // At least ten rotations, and on until the reader has raced them a hundred times (a loaded machine
  // reads slower; the count, not the time, is what the test needs).
  for (let i = 0; i < 10 || (reads <= 100 && i < 1000); i++) {
    writeToken(controlPlane().token(i % 2 ? 'nobody' : 'cni'));
    await new Promise((r) => setTimeout(r, 70));
  }
  writeToken(controlPlane().token('cni'));
  await eventually('the rotated token in the kubeconfig', () =>
    readFileSync(kubeconfigPath, 'utf8').includes(controlPlane().token('cni')),
  );
  reading = false;
  await reader;
  expect(reads).toBeGreaterThan(100);
  expect(torn).toBe(0);
  const ok = await status();
  expect({ code: ok.code, stdout: ok.stdout }).toEqual({ code: 0, stdout: '' });

  writeConfYml('enableIPv4: false\nenableKubevirtStaticIP: false\n');
  await eventually('config.json to follow conf.yml', () => {
    const conf = JSON.parse(readFileSync(join(root, 'conf', 'config.json'), 'utf8'));
    return conf.enableIPv4 === false && conf.enableKubevirtStaticIP === false;
  });

  // A broken edit keeps the last good file and says why.
  writeConfYml('enableIPv6: 3\n');
  await eventually('the complaint about the bad value', () =>
    stderr.includes('enableIPv6: expected true or false, got 3'),
  );
  expect(JSON.parse(readFileSync(join(root, 'conf', 'config.json'), 'utf8')).enableIPv4).toBe(false);

  const exited = new Promise<number | null>((resolve) => watcher.on('exit', (code) => resolve(code)));
  watcher.kill('SIGTERM');
  expect(await exited).toBe(0);
});
