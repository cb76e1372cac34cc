// GC (CNI 1.1) of the compiled plugin after ADDs made through Debian's macvlan in namespaces this test
// makes. Debian's plugins stop at CNI 1.0.0, so GC is sent to the plugin directly, as libcni does
// with a 1.1.0 configuration: stale attachments of deleted pods are released, attachments the
// runtime still lists are kept, a stale attachment of a live pod is kept for a later GC, another
// network's attachments are never touched, and no list at all releases nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { attachmentFile } from '../../../cni/state/attachments.js';
import { callPlugin, netConf } from '../../harness/cni-plugin.js';
import { runCni } from '../../harness/netns.js';
import { useMacvlanBed } from '../../harness/plugin-bed.js';

const bed = useMacvlanBed('cni-e2e-gc', 'gc-node', 'gc');
let pool: string;

beforeAll(async () => {
  pool = await bed.fixtures.pool({ subnet: '198.18.50.0/24', ips: ['198.18.50.10-198.18.50.29'] });
}, 120_000);

const config = (network: string, cniVersion = '1.0.0') =>
  netConf(bed.node, bed.testbed.kubeconfig, {
    name: network,
    cniVersion,
    top: { type: 'macvlan', master: bed.master, mode: 'bridge' },
    ipam: { default_ipv4_ippool: [pool] },
  });

interface Attached {
  pod: V1Pod;
  containerId: string;
  network: string;
  ip: string;
}

let n = 0;

async function attached(network: string): Promise<Attached> {
  const pod = await bed.fixtures.pod({
    namespace: bed.namespace,
    name: `gc-${n++}`,
    nodeName: bed.node.name,
  });
  const containerId = `sandbox-${pod.metadata?.uid}`;
  const out = await runCni({
    plugin: 'macvlan',
    command: 'ADD',
    netns: bed.lab.netnsPath(await bed.lab.netns()),
    ifname: 'eth0',
    containerId,
    args: {
      K8S_POD_NAMESPACE: bed.namespace,
      K8S_POD_NAME: pod.metadata?.name ?? '',
      K8S_POD_UID: pod.metadata?.uid ?? '',
    },
    config: config(network),
  });
  expect(out.code).toBe(0);
  const ips = (out.json?.ips ?? []) as Array<{ address: string }>;
  const ip = ips[0]?.address.split('/')[0] ?? '';
  return { pod, containerId, network, ip };
}

const gc = (network: string, valid?: Attached[]) =>
  callPlugin(
    { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' },
    {
      ...config(network, '1.1.0'),
      ...(valid
        ? { 'cni.dev/valid-attachments': valid.map((a) => ({ containerID: a.containerId, ifname: 'eth0' })) }
        : {}),
    },
  );

async function held(): Promise<string[]> {
  return (await bed.fixtures.poolState(pool)).records.map((r) => r.ip).sort();
}

const recordOf = (a: Attached) => attachmentFile(join(bed.node.stateDir, a.network), a.containerId, 'eth0');

test('GC releases stale attachments of deleted pods and keeps the rest', async () => {
  const kept = await attached('gc-net');
  const stale = await attached('gc-net');
  const staleButAlive = await attached('gc-net');
  const otherNetwork = await attached('gc-other');
  expect(existsSync(recordOf(stale))).toBe(true);
  await bed.fixtures.deletePod(bed.namespace, stale.pod.metadata?.name ?? '');
  await bed.fixtures.deletePod(bed.namespace, otherNetwork.pod.metadata?.name ?? '');

  // No list at all (cnitool gc) releases nothing.
  const unlisted = await gc('gc-net');
  expect({ code: unlisted.code, stdout: unlisted.stdout }).toEqual({ code: 0, stdout: '' });
  expect(await held()).toEqual([kept.ip, stale.ip, staleButAlive.ip, otherNetwork.ip].sort());

  const out = await gc('gc-net', [kept]);
  expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: '' });
  // The deleted pod's address is back; the live pods keep theirs; gc-other was not looked at.
  expect(await held()).toEqual([kept.ip, staleButAlive.ip, otherNetwork.ip].sort());
  expect(existsSync(recordOf(stale))).toBe(false);
  expect(existsSync(recordOf(kept))).toBe(true);
  // A live pod's stale attachment stays recorded, so a later GC releases it once the pod is gone.
  expect(existsSync(recordOf(staleButAlive))).toBe(true);
  await bed.fixtures.deletePod(bed.namespace, staleButAlive.pod.metadata?.name ?? '');
  expect((await gc('gc-net', [kept])).code).toBe(0);
  expect(await held()).toEqual([kept.ip, otherNetwork.ip].sort());
  expect(existsSync(recordOf(staleButAlive))).toBe(false);

  // GC of the other network, with nothing valid, releases its deleted pod.
  expect((await gc('gc-other', [])).code).toBe(0);
  expect(await held()).toEqual([kept.ip]);
});

test('GC needs cniVersion 1.1.0', async () => {
  const out = await callPlugin({ CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, config('gc-net', '1.0.0'));
  expect(out.json).toMatchObject({
    code: 1,
    msg: 'cniVersion: GC needs 1.1.0 or newer, the configuration says 1.0.0',
  });
});
