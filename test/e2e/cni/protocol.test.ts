// The compiled plugin speaking CNI: called directly as a runtime does for VERSION, and as the IPAM
// of Debian's macvlan and bridge plugins inside network namespaces this test creates. Bad input
// must come back as a CNI error object naming the field, never as a stack trace.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callPlugin, type ProcessOutcome, pluginBinary } from '../../harness/cni-plugin.js';
import { NetworkLab, runCni } from '../../harness/netns.js';

const lab = new NetworkLab();
let logDir: string;
let master: string;

beforeAll(async () => {
  pluginBinary();
  logDir = mkdtempSync(join(tmpdir(), 'cni-e2e-log-'));
  // macvlan's master: one end of a veth pair in the host namespace, its peer in a namespace of its
  // own, so nothing reaches the machine's real network.
  const peerNs = await lab.netns();
  master = (await lab.vethPair({ bNetns: peerNs })).a;
}, 120_000);

afterAll(async () => {
  await lab.cleanup();
  rmSync(logDir, { recursive: true, force: true });
});

const pod = {
  K8S_POD_NAMESPACE: 'default',
  K8S_POD_NAME: 'p1',
  K8S_POD_UID: 'uid-1',
  K8S_POD_INFRA_CONTAINER_ID: 'c1',
};

function ipam(extra: Record<string, unknown> = {}) {
  return { type: 'spiderpool', log_file_path: join(logDir, 'spiderpool.log'), ...extra };
}

/** A CNI error: non-zero exit, one JSON object with code and msg on stdout, no stack anywhere. */
function expectCniError(out: ProcessOutcome, code: number, msgPart: string): void {
  expect(out.code).not.toBe(0);
  expect(out.json).toMatchObject({ code, msg: expect.stringContaining(msgPart) });
  expect(out.stdout).not.toMatch(/\n\s+at /);
  expect(out.stderr).not.toMatch(/\n\s+at /);
}

test('VERSION lists every supported spec version', async () => {
  const out = await callPlugin({ CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' });
  expect(out.code).toBe(0);
  expect(out.json).toEqual({
    cniVersion: '1.0.0',
    supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
  });
});

test('a bad environment is code 4 naming the variable', async () => {
  const out = await callPlugin(
    {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/x',
      CNI_IFNAME: 'name-longer-than-15',
      CNI_PATH: '/x',
    },
    { cniVersion: '1.0.0', name: 'n', ipam: ipam() },
  );
  expectCniError(out, 4, 'CNI_IFNAME: "name-longer-than-15" is longer than 15 characters');
});

describe('called directly', () => {
  const env = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/var/run/netns/none',
    CNI_IFNAME: 'net1',
    CNI_PATH: '/usr/lib/cni',
  };

  test('a malformed value is code 7 naming the field, and the call is in the configured log file', async () => {
    const out = await callPlugin(env, {
      cniVersion: '1.0.0',
      name: 'n',
      ipam: ipam({ default_ipv4_ippool: 'pool-a' }),
    });
    expectCniError(out, 7, 'ipam.default_ipv4_ippool: expected array, got "pool-a"');
    const lines = readFileSync(join(logDir, 'spiderpool.log'), 'utf8').trim().split('\n');
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({
      command: 'ADD',
      containerID: 'c1',
      code: 7,
      outcome: 'error',
    });
  });

  test('a missing field is named', async () => {
    expectCniError(await callPlugin(env, { cniVersion: '1.0.0', name: 'n' }), 7, 'ipam: missing');
    expectCniError(await callPlugin(env, { name: 'n', ipam: ipam() }), 1, 'cniVersion: missing');
  });

  test('broken JSON is code 6', async () => {
    // Its log line goes to the default log file: the configured one cannot be read from it.
    expectCniError(
      await callPlugin(env, '{"cniVersion": "1.0.0", "name": "n", "ipam": {'),
      6,
      'not valid JSON',
    );
  });
});

describe('through macvlan (master: a veth end made by this test)', () => {
  const add = async (config: Record<string, unknown>) =>
    runCni({
      plugin: 'macvlan',
      command: 'ADD',
      netns: lab.netnsPath(await lab.netns()),
      ifname: 'net1',
      containerId: 'c1',
      args: pod,
      config: { name: 'macvlan-e2e', type: 'macvlan', master, mode: 'bridge', ...config },
    });

  test('a malformed IPAM value comes back as our error object', async () => {
    expectCniError(
      await add({ cniVersion: '1.0.0', ipam: ipam({ clean_gateway: 'yes' }) }),
      7,
      'ipam.clean_gateway: expected boolean, got "yes"',
    );
  });

  test('a missing cniVersion comes back naming the field', async () => {
    expectCniError(await add({ ipam: ipam() }), 1, 'cniVersion: missing');
  });
});

describe('through bridge', () => {
  test('a malformed IPAM value comes back as our error object', async () => {
    const bridge = lab.linkName('spbr');
    lab.adopt(bridge); // the bridge plugin creates it
    const out = await runCni({
      plugin: 'bridge',
      command: 'ADD',
      netns: lab.netnsPath(await lab.netns()),
      ifname: 'eth0',
      containerId: 'c2',
      args: pod,
      config: {
        cniVersion: '0.4.0',
        name: 'bridge-e2e',
        type: 'bridge',
        bridge,
        ipam: ipam({ log_file_max_count: 'ten' }),
      },
    });
    expectCniError(out, 7, 'ipam.log_file_max_count: expected integer, got "ten"');
  });
});
