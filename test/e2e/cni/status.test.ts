// STATUS from the compiled plugin against the real API server, with the plugin's own identity (the
// 'cni' test user is the spiderpool-cni service account): a GET made by @kubernetes/client-node
// inside the Bun-compiled executable.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPlane, kubeConfig } from '../../harness/clients.js';
import { callPlugin, cniEnv, netConf, type TestNode, testNode } from '../../harness/cni-plugin.js';
import {
  ClusterFixtures,
  cniPolicyRules,
  ensureSpiderpoolCrds,
  grantClusterRules,
} from '../../harness/spiderpool-api.js';

let revoke: (() => Promise<void>) | undefined;

beforeAll(async () => {
  await ensureSpiderpoolCrds(kubeConfig('admin'));
  // The plugin's own ClusterRole rules, as the installation grants them.
  revoke = await grantClusterRules(kubeConfig('admin'), 'cni', cniPolicyRules());
}, 120_000);

afterAll(async () => {
  await revoke?.();
});

const status = (kubeconfig: string, cniVersion = '1.1.0') =>
  callPlugin(
    { CNI_COMMAND: 'STATUS' },
    {
      cniVersion,
      name: 'status-e2e',
      ipam: { type: 'spiderpool', log_file_path: '/dev/null', kubernetes: { kubeconfig } },
    },
  );

test('the API server answers: exit 0 and nothing on stdout', async () => {
  const out = await status(controlPlane().kubeconfigPath('cni'));
  expect(out.stderr).toBe('');
  expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: '' });
});

test('an unreachable API server (a closed port) is code 50', async () => {
  // A port that was just free: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'status-e2e-'));
  const kubeconfig = join(dir, 'closed.kubeconfig');
  writeFileSync(
    kubeconfig,
    readFileSync(controlPlane().kubeconfigPath('cni'), 'utf8').replace(
      controlPlane().server,
      `https://127.0.0.1:${port}`,
    ),
  );
  const out = await status(kubeconfig);
  expect(out.code).toBe(1);
  expect(out.json).toMatchObject({
    cniVersion: '1.1.0',
    code: 50,
    msg: expect.stringContaining(`https://127.0.0.1:${port} is unreachable`),
  });
  expect(String(out.json?.msg)).toContain('ECONNREFUSED');
});

test('credentials the API server refuses, or that may not list pools, are code 50 saying so', async () => {
  const nobody = await status(controlPlane().kubeconfigPath('nobody'));
  expect(nobody.json).toMatchObject({ code: 50, msg: expect.stringContaining('may not list spiderippools') });
});

test('a missing kubeconfig is code 50 naming the file', async () => {
  const out = await status('/nonexistent/spiderpool.kubeconfig');
  expect(out.json).toMatchObject({
    code: 50,
    msg: 'kubeconfig /nonexistent/spiderpool.kubeconfig does not exist (is spiderpool installed on this node?)',
  });
});

test('STATUS needs cniVersion 1.1.0', async () => {
  const out = await status(controlPlane().kubeconfigPath('cni'), '1.0.0');
  expect(out.json).toMatchObject({
    code: 1,
    msg: 'cniVersion: STATUS needs 1.1.0 or newer, the configuration says 1.0.0',
  });
});

describe('the default pools', () => {
  let fixtures: ClusterFixtures;
  let dir: string;
  let node: TestNode;

  beforeAll(async () => {
    fixtures = new ClusterFixtures(kubeConfig('admin'));
    dir = mkdtempSync(join(tmpdir(), 'status-pools-'));
    node = testNode(dir, `status-node-${process.pid}`);
  });

  afterAll(async () => {
    await fixtures.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const statusOf = (ipam: Record<string, unknown>) =>
    callPlugin(
      { CNI_COMMAND: 'STATUS' },
      netConf(node, controlPlane().kubeconfigPath('cni'), {
        name: 'status-pools',
        cniVersion: '1.1.0',
        ipam,
      }),
    );

  test('a usable default pool is fine; once its last address is taken STATUS is code 50 naming it', async () => {
    const pool = await fixtures.pool({ subnet: '198.18.51.0/24', ips: ['198.18.51.7'] }, 'status');
    expect((await statusOf({ default_ipv4_ippool: [pool] })).code).toBe(0);

    const namespace = await fixtures.namespace('status');
    const pod = await fixtures.pod({ namespace, name: 'only', nodeName: node.name });
    const add = await callPlugin(
      cniEnv('ADD', { namespace, name: 'only', uid: pod.metadata?.uid ?? '' }),
      netConf(node, controlPlane().kubeconfigPath('cni'), { ipam: { default_ipv4_ippool: [pool] } }),
    );
    expect(add.code).toBe(0);

    const out = await statusOf({ default_ipv4_ippool: [pool] });
    expect(out.code).toBe(1);
    expect(out.json).toMatchObject({
      code: 50,
      msg: `network status-pools: no usable IPv4 pool among default_ipv4_ippool: ${pool} exhausted (1 of 1 allocated)`,
    });
    // A wildcard that matches nothing, or a pool that does not exist, is reported the same way.
    expect((await statusOf({ default_ipv4_ippool: ['no-such-pool'] })).json).toMatchObject({
      code: 50,
      msg: expect.stringContaining('no-such-pool not found'),
    });
  });
});
