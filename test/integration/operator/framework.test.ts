// The hardened operator in-process against the real API server: dot-i's API (watchResource,
// handleResourceFinalizer, patchResourceStatus, setResourceFinalizers) with writes that are guarded
// by resourceVersion and surface their errors, leader fencing, and a stop() that waits for running
// handlers and leaves the process alone.

import { setTimeout as sleep } from 'node:timers/promises';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { apiStatus } from '../../../kube/errors.js';
import type { ResourceEvent, ResourceMeta } from '../../../operator/framework/events.js';
import { ResourceEventType } from '../../../operator/framework/events.js';
import { HardenedOperator, NotLeaderError } from '../../../operator/framework/operator.js';
import { operatorLogger } from '../../../operator/observability/log.js';
import { OperatorMetrics } from '../../../operator/observability/metrics.js';
import { kubeConfig, uniqueName } from '../../harness/clients.js';
import { createCrd } from '../../harness/crds.js';
import { eventually } from '../../harness/wait.js';

const group = 'framework.spiderpool-ts.test';
const version = 'v1';
const plural = 'gadgets';
const finalizer = 'framework.spiderpool-ts.test/finalizer';
const kc = kubeConfig('admin');
const objects = kc.makeApiClient(CustomObjectsApi);
const core = kc.makeApiClient(CoreV1Api);
const namespace = uniqueName('framework');

interface Gadget {
  metadata: { name: string; resourceVersion?: string; finalizers?: string[]; deletionTimestamp?: string };
  spec?: { size?: number; slow?: boolean };
  status?: { observed?: number };
}

class GadgetOperator extends HardenedOperator {
  readonly finalized: string[] = [];
  readonly seen: ResourceEvent[] = [];
  slowStarted = false;
  slowDone = false;
  scans = 0;
  failScans = false;

  protected async init(): Promise<void> {
    await this.watchResource(group, version, plural, (e) => this.reconcile(e), namespace, { kind: 'Gadget' });
    this.schedule('gadget-scan', 100, async () => {
      this.scans++;
      if (this.failScans) throw new Error('scan failed on purpose');
    });
  }

  private async reconcile(event: ResourceEvent): Promise<void> {
    this.seen.push(event);
    if (event.type === ResourceEventType.Deleted) return;
    const done = await this.handleResourceFinalizer(event, finalizer, async (e) => {
      this.finalized.push(e.meta.name);
      // A write inside the delete action: its new version guards the finalizer removal.
      return (await this.patchResourceStatus(e.meta, { observed: -1 })) ?? undefined;
    });
    if (done) return;
    const gadget = event.object as Gadget;
    if (gadget.spec?.slow) {
      this.slowStarted = true;
      await sleep(1500);
      this.slowDone = true;
      return;
    }
    if (gadget.status?.observed !== gadget.spec?.size)
      await this.patchResourceStatus(event.meta, { observed: gadget.spec?.size });
  }

  // Exposed for the test: the guarded writes themselves.
  writeStatus(meta: ResourceMeta, status: unknown) {
    return this.patchResourceStatus(meta, status);
  }

  writeFinalizers(meta: ResourceMeta, finalizers: string[]) {
    return this.setResourceFinalizers(meta, finalizers);
  }
}

let op: GadgetOperator;
const metrics = new OperatorMetrics({ processMetrics: false });

beforeAll(async () => {
  await createCrd(kc, {
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: 'gadget', kind: 'Gadget' },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: { size: { type: 'integer' }, slow: { type: 'boolean' } },
                },
                status: { type: 'object', properties: { observed: { type: 'integer' } } },
              },
            },
          },
        },
      ],
    },
  });
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  op = new GadgetOperator({
    kubeConfig: kc,
    log: operatorLogger('error', () => {}),
    metrics,
    retry: { initialMs: 20, maxMs: 500 },
  });
  await op.start();
  await op.activate();
  await eventually('synced', () => op.hasSynced);
}, 60_000);

afterAll(async () => {
  // The gadgets carry the operator's finalizer: delete them while it still runs to release them.
  const left = (await objects.listNamespacedCustomObject({ group, version, plural, namespace })) as {
    items: Gadget[];
  };
  for (const g of left.items)
    await objects.deleteNamespacedCustomObject({ group, version, plural, namespace, name: g.metadata.name });
  await eventually('the gadgets gone', async () => {
    const list = (await objects.listNamespacedCustomObject({ group, version, plural, namespace })) as {
      items: Gadget[];
    };
    return list.items.length === 0;
  });
  await op?.stop();
  await core.deleteNamespace({ name: namespace });
  await kc.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: `${plural}.${group}` });
});

const read = (name: string) =>
  objects.getNamespacedCustomObject({ group, version, plural, namespace, name }) as Promise<Gadget>;
const create = (name: string, spec: Gadget['spec']) =>
  objects.createNamespacedCustomObject({
    group,
    version,
    plural,
    namespace,
    body: { apiVersion: `${group}/${version}`, kind: 'Gadget', metadata: { name }, spec },
  });

test('the finalizer is added, status is written, and deletion runs the delete action before it is removed', async () => {
  await create('g1', { size: 3 });
  const ready = await eventually('finalizer and status', async () => {
    const g = await read('g1');
    return g.metadata.finalizers?.includes(finalizer) && g.status?.observed === 3 ? g : undefined;
  });
  expect(ready.metadata.finalizers).toEqual([finalizer]);
  await objects.deleteNamespacedCustomObject({ group, version, plural, namespace, name: 'g1' });
  await eventually('g1 gone', () =>
    read('g1').then(
      () => false,
      (e: unknown) => apiStatus(e) === 404,
    ),
  );
  // A delete action may run again on an event that was already under way (handlers are idempotent);
  // it never runs for another object, and the object is gone only after it ran.
  expect(op.finalized[0]).toBe('g1');
  expect(new Set(op.finalized)).toEqual(new Set(['g1']));
  // The watch delivers the Deleted event after the object is gone from storage, so the GET's 404 can
  // come first: wait for the event instead of assuming the order.
  await eventually('the Deleted event of g1', () =>
    op.seen.some((e) => e.type === ResourceEventType.Deleted && e.meta.name === 'g1'),
  );
  // Listed items carry kind/apiVersion like watch events, so ResourceMeta is complete.
  expect(op.seen[0]?.meta).toMatchObject({ id: `${plural}.${group}/${version}`, kind: 'Gadget', namespace });
});

test('writes with a stale resourceVersion fail with 409 instead of overwriting', async () => {
  await create('g2', { size: 1 });
  const first = await eventually('g2 reconciled', async () => {
    const g = await read('g2');
    return g.status?.observed === 1 ? g : undefined;
  });
  const stale: ResourceMeta = {
    id: `${plural}.${group}/${version}`,
    name: 'g2',
    namespace,
    resourceVersion: '1',
    apiVersion: `${group}/${version}`,
    kind: 'Gadget',
  };
  await expect(op.writeStatus(stale, { observed: 99 })).rejects.toMatchObject({ code: 409 });
  await expect(op.writeFinalizers(stale, [])).rejects.toMatchObject({ code: 409 });
  const after = await read('g2');
  expect(after.status?.observed).toBe(1);
  expect(after.metadata.finalizers).toEqual([finalizer]);
  // With the current version the same write goes through and returns the next version.
  const meta = await op.writeStatus(
    { ...stale, resourceVersion: first.metadata.resourceVersion ?? '' },
    { observed: 1 },
  );
  expect(meta?.resourceVersion).toBeTruthy();
});

test('stop() waits for a running handler, then refuses writes; the process carries on', async () => {
  await create('g3', { slow: true });
  await eventually('the slow handler started', () => op.slowStarted);
  const started = Date.now();
  await op.deactivate();
  expect(op.slowDone).toBe(true);
  expect(Date.now() - started).toBeGreaterThan(200);
  const g = await read('g3');
  const meta = {
    id: `${plural}.${group}/${version}`,
    name: 'g3',
    namespace,
    resourceVersion: g.metadata.resourceVersion ?? '',
    apiVersion: `${group}/${version}`,
    kind: 'Gadget',
  };
  await expect(op.writeStatus(meta, { observed: 5 })).rejects.toBeInstanceOf(NotLeaderError);
  // Activating again lists afresh and carries on.
  await op.activate();
  await eventually('synced again', () => op.hasSynced);
  await objects.patchNamespacedCustomObject({
    group,
    version,
    plural,
    namespace,
    name: 'g3',
    body: [{ op: 'replace', path: '/spec', value: { size: 7 } }],
  });
  await eventually(
    'g3 reconciled after re-activation',
    async () => (await read('g3')).status?.observed === 7,
  );
});

test('a scheduled task runs while active, keeps running after a failure, and stops with the controllers', async () => {
  await eventually('scans running', () => op.scans >= 2);
  op.failScans = true;
  const failedAt = op.scans;
  await eventually('scans after failures', () => op.scans >= failedAt + 3);
  const errors = (
    await metrics.registry.getSingleMetric('spiderpool_operator_reconcile_errors_total')?.get()
  )?.values.find((v) => v.labels.controller === 'gadget-scan');
  expect(errors?.value).toBeGreaterThanOrEqual(2);
  op.failScans = false;
  await op.deactivate();
  const stoppedAt = op.scans;
  await sleep(400);
  expect(op.scans).toBe(stoppedAt);
  await op.activate();
  await eventually('scans again', () => op.scans > stoppedAt);
});
