// The pool controller on the real control plane: the finalizer, counters true to the spec and the
// records (drift repaired), and a pool deleted while an address is allocated that stays Terminating
// until garbage collection releases the last one, then is gone at once; its gauges go with it. Also:
// a cluster without KubeVirt, then KubeVirt installed under the running operator.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { finalizer, group, kinds, type SpiderIPPool, version } from '../../../api/index.js';
import { isNotFound } from '../../../kube/errors.js';
import { readModifyWrite } from '../../../kube/optimistic.js';
import { uniqueName } from '../../harness/clients.js';
import { ensureKubeVirtCrds } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';
import { bare, useOperatorWorld } from './fixtures/ipam-world.js';

const bed = useOperatorWorld({
  namespace: 'pools',
  operator: { identity: 'pools-op', conf: { gc: { intervalSeconds: 3600 } } },
});

const get = (name: string) => bed.world.fixtures.spiderpool.getPool(name);

test('a new pool gets the finalizer and its counters from the operator', async () => {
  const name = await bed.world.fixtures.pool({
    subnet: '198.18.40.0/24',
    ips: ['198.18.40.10-198.18.40.59'],
    excludeIPs: ['198.18.40.20-198.18.40.29'],
  });
  const pool = await eventually('finalizer and counters', async () => {
    const p = await get(name);
    return p.metadata.finalizers?.includes(finalizer) && p.status?.totalIPCount !== undefined ? p : undefined;
  });
  expect(pool.status).toMatchObject({ totalIPCount: 40, allocatedIPCount: 0 });
});

test('counters that drifted from the spec and the records are repaired', async () => {
  const name = await bed.world.fixtures.pool({
    subnet: '198.18.41.0/24',
    ips: ['198.18.41.10-198.18.41.19'],
  });
  const p = await bed.world.fixtures.pod({
    namespace: bed.ns,
    name: uniqueName('counted'),
    nodeName: 'node-1',
  });
  await bed.world.plugin.add(p, name);
  await eventually('counted once', async () => (await get(name)).status?.allocatedIPCount === 1);
  // Someone (an older plugin, a hand edit) wrote wrong counts.
  await readModifyWrite(
    () => get(name),
    (pool: SpiderIPPool) => ({
      write: { ...pool, status: { ...pool.status, allocatedIPCount: 7, totalIPCount: 3 } },
      result: 0,
    }),
    (next) => bed.world.fixtures.spiderpool.replacePoolStatus(next),
  );
  await eventually('repaired', async () => {
    const s = (await get(name)).status;
    return s?.allocatedIPCount === 1 && s.totalIPCount === 10;
  });
  expect(
    bed.op.find((l) => l.msg === 'pool counters repaired' && l.object === name).length,
  ).toBeGreaterThanOrEqual(1);
});

test('a pool deleted while an address is allocated stays Terminating until GC releases it, then it is gone', async () => {
  const name = await bed.world.fixtures.pool({
    subnet: '198.18.42.0/24',
    ips: ['198.18.42.10-198.18.42.19'],
  });
  await eventually('finalizer', async () => (await get(name)).metadata.finalizers?.includes(finalizer));
  const holder = await bed.world.fixtures.pod({
    namespace: bed.ns,
    name: uniqueName('holder'),
    nodeName: 'node-1',
  });
  const ip = bare(await bed.world.plugin.add(holder, name));
  await eventually(
    'gauges',
    async () => (await bed.op.metric('spiderpool_ippool_allocated_ip_counts', { pool: name })) === 1,
  );

  await bed.world.cluster.kc
    .makeApiClient(CustomObjectsApi)
    .deleteClusterCustomObject({ group, version, plural: kinds.ippool.plural, name });
  await bed.op.waitForLog(
    'the operator to keep it',
    (l) => l.msg === 'pool is terminating; it stays until its last address is released' && l.object === name,
  );
  const terminating = await get(name);
  expect(terminating.metadata.deletionTimestamp).toBeDefined();
  expect((await bed.world.fixtures.poolState(name)).records.map((r) => r.ip)).toEqual([ip]);

  await bed.world.fixtures.deletePod(bed.ns, holder.metadata?.name ?? '');
  await eventually('the pool gone', () =>
    get(name).then(
      () => false,
      (e: unknown) => isNotFound(e),
    ),
  );
  await eventually(
    'its gauges gone',
    async () => (await bed.op.metric('spiderpool_ippool_total_ip_counts', { pool: name })) === undefined,
  );
});

test("without KubeVirt's CRDs the operator is ready and waits quietly; once they appear, it watches them", async () => {
  const resource = 'virtualmachines.kubevirt.io/v1';
  expect(await bed.op.probe('/readyz')).toBe(200);
  expect(
    bed.op.find((l) => l.msg === 'resource not served; waiting for it' && l.resource === resource),
  ).toHaveLength(1);
  expect(bed.op.find((l) => l.level === 'error' && String(l.resource ?? '').includes('kubevirt.io'))).toEqual(
    [],
  );
  await ensureKubeVirtCrds(bed.world.cluster.kc);
  await bed.op.waitForLog(
    'the VM watch synced',
    (l) => l.msg === 'cache synced' && l.resource === resource,
    60_000,
  );
}, 90_000);
