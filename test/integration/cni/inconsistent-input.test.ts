// Inconsistent input from a runtime must never cost a live pod its address. An ADD that fails leaves
// this node's attachment records exactly as they were (the books of the pools are rolled back by the
// leader already), and a release whose pod name and UID disagree (the name is gone, the UID is a live
// pod's) keeps that live pod's addresses instead of reading its records as a VM's. Found by the fuzz
// suite: a failed ADD under the container ID of a running pod, with another pod's name and the
// running pod's UID, used to rewrite that attachment's record, and the next GC freed the address.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { callPlugin, cniEnv, netConf, type PodRef, type TestNode } from '../../harness/cni-plugin.js';
import { usePluginBed } from '../../harness/plugin-bed.js';

const bed = usePluginBed('cni-inconsistent', 'inconsistent');
let pool: string;

beforeAll(async () => {
  pool = await bed.fixtures.pool(
    { subnet: '198.18.33.0/24', ips: ['198.18.33.1-198.18.33.20'] },
    'inconsistent',
  );
}, 120_000);

const network = 'inconsistent-net';
const ref = (pod: V1Pod): PodRef => ({
  namespace: pod.metadata?.namespace ?? '',
  name: pod.metadata?.name ?? '',
  uid: pod.metadata?.uid ?? '',
});
const conf = (node: TestNode, extra: Record<string, unknown> = {}) => ({
  ...netConf(node, bed.testbed.kubeconfig, {
    name: network,
    cniVersion: '1.1.0',
    ipam: { default_ipv4_ippool: [pool] },
  }),
  ...extra,
});

/** Every attachment record file of the node, by file name, as bytes on disk. */
function records(node: TestNode): Record<string, string> {
  const dir = join(node.stateDir, network);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return {};
  }
  return Object.fromEntries(
    names.filter((n) => n.endsWith('.json')).map((n) => [n, readFileSync(join(dir, n), 'utf8')]),
  );
}

async function uidsInPool(): Promise<string[]> {
  return (await bed.fixtures.poolState(pool)).records.map((r) => r.podUid).sort();
}

test('a failed ADD under a running pod’s container ID leaves its record, and GC keeps its address', async () => {
  const node = bed.testbed.node('failed-add');
  const live = await bed.fixtures.pod({ namespace: bed.namespace, name: 'live', nodeName: node.name });
  const containerId = 'c-live';
  const added = await callPlugin(cniEnv('ADD', ref(live), { containerId }), conf(node));
  expect(added.code).toBe(0);
  const before = records(node);
  expect(Object.keys(before)).toEqual([`${containerId}:eth0.json`]);

  // Another pod's name (gone) with the live pod's UID, under the live pod's container ID.
  const ghost = { namespace: bed.namespace, name: 'ghost', uid: live.metadata?.uid ?? '' };
  const failed = await callPlugin(cniEnv('ADD', ghost, { containerId }), conf(node));
  expect(failed.code).toBe(1);
  expect(failed.json?.code).toBe(106);
  expect(records(node)).toEqual(before);

  // The runtime no longer lists the attachment: GC releases it as a DEL would, and the pod is alive.
  const gc = await callPlugin(cniEnv('GC', undefined), conf(node, { 'cni.dev/valid-attachments': [] }));
  expect(gc.code).toBe(0);
  expect(await uidsInPool()).toContain(live.metadata?.uid);
});

test('a failed ADD of a new attachment leaves no record behind', async () => {
  const node = bed.testbed.node('failed-new');
  const failed = await callPlugin(
    cniEnv('ADD', {
      namespace: bed.namespace,
      name: 'nobody-here',
      uid: 'b3c1d7e0-0000-4000-8000-000000000001',
    }),
    conf(node),
  );
  expect(failed.json?.code).toBe(106);
  expect(records(node)).toEqual({});
});

test('a DEL naming a gone pod with a live pod’s UID keeps the live pod’s address', async () => {
  const node = bed.testbed.node('mixed-del');
  const live = await bed.fixtures.pod({ namespace: bed.namespace, name: 'live-2', nodeName: node.name });
  expect((await callPlugin(cniEnv('ADD', ref(live)), conf(node))).code).toBe(0);
  const mixed = { namespace: bed.namespace, name: 'gone-2', uid: live.metadata?.uid ?? '' };
  const del = await callPlugin(cniEnv('DEL', mixed, { containerId: 'c-other' }), conf(node));
  expect(del.code).toBe(0);
  expect(await uidsInPool()).toContain(live.metadata?.uid);
});
