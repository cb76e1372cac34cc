// runPlugin with real files (log, node configuration) in a temporary folder and handlers that
// record what they were given.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlugin, type VerbContext, type VerbTable } from '../../../cni/plugin.js';
import type { LogSettings } from '../../../cni/protocol/config.js';
import { CniError } from '../../../cni/protocol/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cni-plugin-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const env = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'net1',
  CNI_PATH: '/usr/lib/cni',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_UID=u1',
};

function config(cniVersion = '0.4.0', ipam: Record<string, unknown> = {}) {
  return JSON.stringify({
    cniVersion,
    name: 'n1',
    type: 'macvlan',
    ipam: { type: 'spiderpool', log_file_path: join(dir, 'log', 'spiderpool.log'), ...ipam },
  });
}

async function run(verbs: VerbTable, stdin: string, e: Record<string, string | undefined> = env) {
  const out: string[] = [];
  // A configuration too broken to name its log file would log to the default path: keep tests here.
  const logSettings = (s: LogSettings) => ({ ...s, filePath: join(dir, 'log', 'spiderpool.log') });
  const code = await runPlugin({ env: e, stdin, stdout: (t) => out.push(t), logSettings }, verbs);
  expect(out.length).toBeLessThanOrEqual(1);
  return { code, out: out[0] === undefined ? undefined : (JSON.parse(out[0]) as Record<string, unknown>) };
}

function logLines(): Array<Record<string, unknown>> {
  return readFileSync(join(dir, 'log', 'spiderpool.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('ADD prints the handler result in the requested version and logs the call', async () => {
  let seen: VerbContext | undefined;
  const { code, out } = await run(
    {
      ADD: async (ctx) => {
        seen = ctx;
        return { ips: [{ address: '198.18.0.7/24', gateway: '198.18.0.1' }] };
      },
    },
    config('0.4.0'),
  );
  expect(code).toBe(0);
  expect(out).toEqual({
    cniVersion: '0.4.0',
    ips: [{ version: '4', address: '198.18.0.7/24', gateway: '198.18.0.1' }],
    dns: {},
  });
  expect(seen?.env.args.podUid).toBe('u1');
  const [line] = logLines();
  expect(line).toMatchObject({
    level: 'info',
    outcome: 'ok',
    command: 'ADD',
    containerID: 'c1',
    ifname: 'net1',
    netns: '/var/run/netns/x',
    pod: 'ns1/p1',
    podUID: 'u1',
    network: 'n1',
  });
  expect(typeof line?.durationMs).toBe('number');
});

test('a CniError from a handler becomes the error object with its code', async () => {
  const { code, out } = await run(
    {
      DEL: async () => {
        throw new CniError(102, 'pool "v4-a" is exhausted');
      },
    },
    config('1.0.0'),
    { ...env, CNI_COMMAND: 'DEL' },
  );
  expect(code).toBe(1);
  expect(out).toEqual({ cniVersion: '1.0.0', code: 102, msg: 'pool "v4-a" is exhausted' });
  expect(logLines()[0]).toMatchObject({ level: 'error', code: 102, outcome: 'error' });
});

test('an unexpected exception is code 100 without a stack on stdout; the stack goes to the log', async () => {
  const { code, out } = await run(
    {
      ADD: async () => {
        throw new TypeError('boom');
      },
    },
    config(),
  );
  expect(code).toBe(1);
  expect(out).toEqual({ cniVersion: '0.4.0', code: 100, msg: 'internal error: boom' });
  expect(JSON.stringify(out)).not.toContain('at ');
  expect(String(logLines()[0]?.stack)).toContain('TypeError: boom');
});

test('bad input is reported in the version asked for, or the newest when unreadable, and logged', async () => {
  const bad = await run({}, config('0.3.1', { default_ipv4_ippool: 'a' }));
  expect(bad.out).toMatchObject({ cniVersion: '0.3.1', code: 7 });
  expect(String(bad.out?.msg)).toContain('ipam.default_ipv4_ippool');
  expect(logLines()[0]).toMatchObject({ outcome: 'error', code: 7, command: 'ADD' });
  const garbled = await run({}, '{"cniVersion":');
  expect(garbled.out).toMatchObject({ cniVersion: '1.1.0', code: 6 });
});

test('VERSION needs no configuration and answers in the requested version', async () => {
  const { code, out } = await run({}, '{"cniVersion":"1.0.0"}', { CNI_COMMAND: 'VERSION' });
  expect(code).toBe(0);
  expect(out).toEqual({
    cniVersion: '1.0.0',
    supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
  });
  expect((await run({}, '', { CNI_COMMAND: 'VERSION' })).out?.cniVersion).toBe('1.1.0');
});

test('a verb without a handler is a clear error, not a silent success', async () => {
  const { code, out } = await run({}, config());
  expect(code).toBe(1);
  expect(out).toMatchObject({ code: 4, msg: 'CNI_COMMAND: ADD is not available in this build' });
});

test('the node configuration is read from the configured file on first use', async () => {
  const path = join(dir, 'node.json');
  writeFileSync(
    path,
    JSON.stringify({ enableIPv6: false, enableIPConflictDetection: true, nodeName: 'n-7' }),
  );
  let enableIPv6: boolean | undefined;
  let nodeName: string | undefined;
  await run(
    {
      STATUS: async (ctx) => {
        ({ enableIPv6, nodeName } = ctx.nodeConfig());
        return undefined;
      },
    },
    config('1.1.0', { node_config_path: path }),
    { CNI_COMMAND: 'STATUS' },
  );
  expect(enableIPv6).toBe(false);
  expect(nodeName).toBe('n-7');
});
