// The address rules of the admission webhooks through the real API server: the installation's CRDs
// (with their CEL rules), RBAC and webhook configurations as synthesized, the operator serving the
// webhooks as its service account. Defaults are filled in; an allocated address cannot leave its
// pool; a pool with allocations is deleted only once its last address is released. Every rule's
// refusal, naming the field, is in invalid-resources.test.ts.

import { CustomObjectsApi } from '@kubernetes/client-node';
import { apiVersion, finalizer, group, kinds, type SpiderIPPool, version } from '../../../api/index.js';
import { isConflict, isNotFound } from '../../../kube/errors.js';
import { readModifyWrite } from '../../../kube/optimistic.js';
import { RestClient } from '../../../kube/rest.js';
import { SpiderpoolApi } from '../../../kube/spiderpool.js';
import { eventually } from '../../harness/wait.js';
import { refusal, startWebhookCluster, type WebhookCluster } from './fixtures/webhook-cluster.js';
import type { OperatorProcess } from './operator-process.js';

let env: WebhookCluster;
let op: OperatorProcess;
let pools: SpiderpoolApi;
let objects: CustomObjectsApi;

beforeAll(async () => {
  env = await startWebhookCluster({
    identity: 'admission-op',
    conf: { enableIPv6: false, gc: { intervalSeconds: 3600 } },
  });
  op = env.op;
  objects = env.cluster.kc.makeApiClient(CustomObjectsApi);
  pools = new SpiderpoolApi(new RestClient(env.cluster.kc));
  // Ready once the webhook configurations point at this operator and it answers.
  await eventually(
    'the webhooks answering',
    async () => {
      const created = await pools
        .createPool({
          metadata: { name: 'base' },
          spec: { subnet: '198.18.0.0/24', ips: ['198.18.0.10-198.18.0.20'] },
        })
        .catch((e: unknown) => e);
      return !(created instanceof Error) || undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}, 120_000);

afterAll(() => env?.stop());

const create = (plural: string, kind: string, name: string, spec: object) =>
  objects.createClusterCustomObject({
    group,
    version,
    plural,
    body: { apiVersion, kind, metadata: { name }, spec },
  });

const ipPool = (name: string, spec: object) => create(kinds.ippool.plural, kinds.ippool.kind, name, spec);
const subnet = (name: string, spec: object) => create(kinds.subnet.plural, kinds.subnet.kind, name, spec);

test('new pools get their defaults: finalizer, ipVersion, merged ranges, the CIDR label', async () => {
  const base = await pools.getPool('base');
  expect(base.metadata.finalizers).toEqual([finalizer]);
  expect(base.spec.ipVersion).toBe(4);
  expect(base.metadata.labels?.['ipam.spidernet.io/ippool-cidr']).toBe('198-18-0-0-24');
  const merged = (await ipPool('merged', {
    subnet: '198.18.1.0/24',
    ips: ['198.18.1.30-198.18.1.40', '198.18.1.10-198.18.1.31', '198.18.1.5'],
  })) as SpiderIPPool;
  expect(merged.spec.ips).toEqual(['198.18.1.5', '198.18.1.10-198.18.1.40']);
});

test('an allocated address cannot leave its pool, by ips or by excludeIPs; the message names it and its holder', async () => {
  const record = { '198.18.0.12': { pod: 'default/web-1', podUid: 'uid-1', nic: 'eth0' } };
  await readModifyWrite(
    () => pools.getPool('base'),
    (p) => ({
      write: { ...p, status: { ...p.status, allocatedIPs: JSON.stringify(record), allocatedIPCount: 1 } },
      result: 0,
    }),
    (next) => pools.replacePoolStatus(next),
  );
  const update = (spec: Partial<SpiderIPPool['spec']>) => async () => {
    for (;;) {
      const p = await pools.getPool('base');
      try {
        return await pools.replacePool({ ...p, spec: { ...p.spec, ...spec } });
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
  };
  expect(await refusal(update({ ips: ['198.18.0.13-198.18.0.20'] }))).toContain(
    'spec.ips: Forbidden: 198.18.0.12 is allocated to default/web-1 (pod UID uid-1, eth0); it cannot leave the pool until it is released',
  );
  expect(await refusal(update({ excludeIPs: ['198.18.0.12'] }))).toContain(
    'spec.excludeIPs: Forbidden: 198.18.0.12 is allocated',
  );
  // Free addresses may go.
  await update({ ips: ['198.18.0.11-198.18.0.20'] })();
  expect((await pools.getPool('base')).spec.ips).toEqual(['198.18.0.11-198.18.0.20']);
});

test('a pool deleted while an address is allocated stays Terminating until the last release, then it is gone', async () => {
  await objects.deleteClusterCustomObject({ group, version, plural: kinds.ippool.plural, name: 'base' });
  await op.waitForLog(
    'the operator to wait',
    (l) =>
      l.msg === 'pool is terminating; it stays until its last address is released' && l.object === 'base',
  );
  const terminating = await pools.getPool('base');
  expect(terminating.metadata.deletionTimestamp).toBeDefined();
  expect(terminating.metadata.finalizers).toEqual([finalizer]);
  // The last release (as the plugin's DEL writes it) is what lets it go, at once.
  await readModifyWrite(
    () => pools.getPool('base'),
    (p) => ({
      write: { ...p, status: { allocatedIPCount: 0, totalIPCount: p.status?.totalIPCount } },
      result: 0,
    }),
    (next) => pools.replacePoolStatus(next),
  );
  await eventually('base gone', () =>
    pools.getPool('base').then(
      () => false,
      (e: unknown) => isNotFound(e),
    ),
  );
});

test('a SpiderSubnet gets the finalizer and its count; deleted with no pool naming it as owner, it is gone', async () => {
  await subnet('standalone', { subnet: '198.18.9.0/24', ips: ['198.18.9.10-198.18.9.19'] });
  const path = { group, version, plural: kinds.subnet.plural, name: 'standalone' };
  const counted = await eventually('the finalizer and totalIPCount', async () => {
    const s = (await objects.getClusterCustomObject(path)) as {
      metadata: { finalizers?: string[] };
      status?: { totalIPCount?: number };
    };
    return s.metadata.finalizers?.includes(finalizer) && s.status?.totalIPCount === 10 ? s : undefined;
  });
  expect(counted.metadata.finalizers).toEqual([finalizer]);
  await objects.deleteClusterCustomObject(path);
  await eventually('the subnet gone', () =>
    objects.getClusterCustomObject(path).then(
      () => false,
      (e: unknown) => isNotFound(e),
    ),
  );
});

test('webhook latency is in /metrics, by path, operation and outcome', async () => {
  const denied = await op.metric('spiderpool_operator_webhook_request_duration_seconds_count', {
    webhook: '/validate/spiderippools',
    operation: 'UPDATE',
    allowed: 'false',
  });
  expect(denied).toBeGreaterThanOrEqual(2);
  const mutated = await op.metric('spiderpool_operator_webhook_request_duration_seconds_count', {
    webhook: '/mutate/spiderippools',
    operation: 'CREATE',
    allowed: 'true',
  });
  expect(mutated).toBeGreaterThanOrEqual(2);
});
