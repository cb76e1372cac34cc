// How the compiled plugin reads its network configuration: stdin to the end when it is a pipe or a
// socket (as runtimes and this harness pass it), nothing when it is a character device (a terminal,
// or /dev/null), so a person trying the binary gets an answer instead of a process that waits.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { pluginBinary } from '../../harness/cni-plugin.js';

function run(env: Record<string, string>, stdin: { pipe: string } | 'char-device') {
  const devNull = stdin === 'char-device' ? openSync('/dev/null', 'r') : undefined;
  try {
    const out = spawnSync(pluginBinary(), [], {
      env: { PATH: process.env.PATH ?? '', ...env },
      ...(devNull === undefined
        ? { input: (stdin as { pipe: string }).pipe }
        : { stdio: [devNull, 'pipe', 'pipe'] }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: out.status, json: JSON.parse(out.stdout) as Record<string, unknown> };
  } finally {
    if (devNull !== undefined) closeSync(devNull);
  }
}

const addEnv = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/none',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};

describe('the compiled plugin reading stdin', () => {
  it('reads a piped configuration: VERSION answers in the version it asks for', () => {
    const out = run({ CNI_COMMAND: 'VERSION' }, { pipe: JSON.stringify({ cniVersion: '0.4.0' }) });
    expect(out.status).toBe(0);
    expect(out.json.cniVersion).toBe('0.4.0');
  });

  it('reads nothing from a character device: VERSION answers in the latest version', () => {
    const out = run({ CNI_COMMAND: 'VERSION' }, 'char-device');
    expect(out.status).toBe(0);
    expect(out.json.cniVersion).toBe('1.1.0');
  });

  it('answers an ADD with no configuration on a character device with code 6, naming stdin', () => {
    const out = run(addEnv, 'char-device');
    expect(out.status).toBe(1);
    expect(out.json.code).toBe(6);
    expect(out.json.msg).toMatch(/network configuration \(stdin\): not valid JSON/);
  });
});
