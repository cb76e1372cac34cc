// The production build: dist/bin/spiderpool-operator as `npm run build:operator` makes it (Bun's
// compiler), run as its service account against a private control plane.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { buildExecutable, operatorEntry } from '../../../build/executables.js';
import { eventually, timedOut, within } from '../../harness/wait.js';
import { installOperatorRbac, type PrivateCluster, startPrivateCluster } from './private-cluster.js';

let dir: string;
let executable: string;
let cluster: PrivateCluster;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spiderpool-operator-build-'));
  executable = join(dir, 'spiderpool-operator');
  buildExecutable(operatorEntry, executable);
  cluster = await startPrivateCluster();
  await cluster.core.createNamespace({ body: { metadata: { name: 'unused' } } });
  await installOperatorRbac(cluster, 'unused');
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('bad flags and a missing config file stop it with exit code 2 and a message naming them', () => {
  const help = spawnSync(executable, ['--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^usage: spiderpool-operator \[flags\]/);
  const badPort = spawnSync(executable, ['--webhook-port=http'], { encoding: 'utf8' });
  expect(badPort.status).toBe(2);
  expect(badPort.stderr).toBe(
    "spiderpool-operator: flag --webhook-port: expected a port number 0-65535, got 'http'\n",
  );
  const noConfig = spawnSync(executable, ['--config', join(dir, 'none.yml')], { encoding: 'utf8' });
  expect(noConfig.status).toBe(2);
  expect(noConfig.stderr).toMatch(/flag --config: cannot read '.*none\.yml': ENOENT/);
});

test('it leads, is ready, serves metrics, and on SIGTERM releases the Lease and exits 0', async () => {
  const child = spawn(
    executable,
    [
      `--kubeconfig=${cluster.cp.kubeconfigPath('operator')}`,
      '--namespace=kube-system',
      '--identity=built',
      '--bind-address=127.0.0.1',
      '--webhook-port=0',
      '--metrics-port=0',
      '--health-port=0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_PROXY: '127.0.0.1' } },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A failure shows what the operator said: its log is the only witness of where it stood.
  const withLog = (err: unknown) => new Error(`${(err as Error).message}\noperator output:\n${out}`);
  try {
    const lines = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; ports?: { metrics: number; health: number } });
    const running = await eventually('running', () => lines().find((l) => l.msg === 'running'));
    await eventually('leading', () => lines().some((l) => l.msg === 'became leader'));
    const { metrics, health } = running.ports as { metrics: number; health: number };
    await eventually('ready', async () => (await fetch(`http://127.0.0.1:${health}/readyz`)).status === 200);
    expect(await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text()).toContain(
      'spiderpool_operator_leader 1',
    );
  } catch (err) {
    throw withLog(err);
  } finally {
    child.kill('SIGTERM');
  }
  // A shutdown that hangs is a failure of its own, not a test timeout without a word.
  const code = await within(exited, 15_000);
  if (code === timedOut) {
    child.kill('SIGKILL');
    throw withLog(new Error('the operator had not exited 15 s after SIGTERM'));
  }
  expect(code).toBe(0);
  const lease = await cluster.kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'spiderpool-operator', namespace: 'kube-system' });
  expect(lease.spec?.holderIdentity).toBe('');
}, 60_000);
