// The real nodes' stand-ins: the Multus meta plugin's configuration, and the virt-launcher image's
// scripts run as the image's containers run them (SIGTERM ends them with exit 0, the failed-domain
// signal with exit 1).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseMetaConf } from '../../harness/multus/meta-conf.js';
import { multusConflist } from '../../harness/nodes/config.js';
import { containerDiskScript, failedDomainSignal, stayUpScript } from '../../harness/nodes/launcher-image.js';

describe('the Multus stand-in configuration', () => {
  it('reads what the node configuration gives it', () => {
    const conflist = JSON.parse(multusConflist('multus', 'kube-system/pod-net')) as {
      plugins: [Record<string, unknown>];
      cniVersion: string;
      name: string;
    };
    const conf = parseMetaConf(
      JSON.stringify({ ...conflist.plugins[0], cniVersion: conflist.cniVersion, name: conflist.name }),
    );
    expect(conf).toEqual({
      cniVersion: '1.0.0',
      name: 'multus-cni-network',
      type: 'multus',
      kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
      clusterNetwork: 'kube-system/pod-net',
      multusNamespace: 'kube-system',
      binDir: '/opt/cni/bin',
      cniDir: '/var/lib/cni/multus',
    });
  });

  it('names the field and the value it refuses', () => {
    expect(() => parseMetaConf('{"cniVersion":"1.0.0","name":"n","type":"multus"}')).toThrow(
      'kubeconfig: undefined is not a non-empty string',
    );
    expect(() =>
      parseMetaConf('{"cniVersion":"1.0.0","name":"n","type":"multus","kubeconfig":"/k","binDir":3}'),
    ).toThrow('binDir: 3 is not a non-empty string');
    expect(() => parseMetaConf('not json')).toThrow(/configuration is not JSON/);
  });
});

describe('the stand-in virt-launcher', () => {
  it('stays up, and exits 0 within about a second of SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spiderpool-ts-launcher-'));
    try {
      const script = join(dir, 'virt-launcher-monitor');
      writeFileSync(script, stayUpScript, { mode: 0o755 });
      const child = spawn(script, ['--name', 'vm'], { stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await sleep(1500);
      expect(child.exitCode).toBeNull();
      const signalled = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(2500);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 on the failed-domain signal, so kubelet reports its pod Failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spiderpool-ts-launcher-'));
    try {
      const script = join(dir, 'virt-launcher-monitor');
      writeFileSync(script, stayUpScript, { mode: 0o755 });
      const child = spawn(script, [], { stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await sleep(1500);
      expect(child.exitCode).toBeNull();
      child.kill(failedDomainSignal);
      expect(await exited).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs a containerDisk's pre-pull (--no-op) to its end, and otherwise stays up", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spiderpool-ts-disk-'));
    try {
      const script = join(dir, 'container-disk');
      writeFileSync(script, containerDiskScript, { mode: 0o755 });
      const noOp = spawn(script, ['--no-op'], { stdio: 'ignore' });
      expect(await new Promise((resolve) => noOp.on('exit', resolve))).toBe(0);
      const copy = spawn(script, ['--copy-path', '/tmp/x'], { stdio: 'ignore' });
      const exited = new Promise((resolve) => copy.on('exit', resolve));
      await sleep(1500);
      expect(copy.exitCode).toBeNull();
      copy.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
