// Events on the real API server: one Event per repeated message (its count grows), and a flood
// from one object is cut off by the spam filter.
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { RestClient } from '../../../kube/rest.js';
import { EventRecorder } from '../../../operator/events/recorder.js';
import { operatorLogger } from '../../../operator/observability/log.js';
import { OperatorMetrics } from '../../../operator/observability/metrics.js';
import { kubeConfig, uniqueName } from '../../harness/clients.js';

const kc = kubeConfig('admin');
const core = kc.makeApiClient(CoreV1Api);
const rest = new RestClient(kc);
const lines: string[] = [];
let name: string;
let uid: string;

beforeAll(async () => {
  name = uniqueName('events');
  const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
  uid = cm.metadata?.uid ?? '';
});

afterAll(async () => {
  await core.deleteNamespacedConfigMap({ name, namespace: 'default' });
  const list = await core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: `involvedObject.uid=${uid}`,
  });
  for (const e of list.items)
    await core.deleteNamespacedEvent({ name: e.metadata?.name ?? '', namespace: 'default' });
  rest.close();
});

function recorder(burst: number, metrics = new OperatorMetrics({ processMetrics: false })) {
  return new EventRecorder({
    rest,
    component: 'spiderpool-operator',
    host: 'test-replica',
    log: operatorLogger('debug', (l) => lines.push(l)),
    metrics,
    spam: { burst, refillEveryMs: 3_600_000 },
  });
}

async function eventsOf(reason: string): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: `involvedObject.uid=${uid}`,
  });
  return list.items.filter((e) => e.reason === reason);
}

const object = () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', uid } });

test('a repeated event is one Event whose count grows; another message is another Event', async () => {
  const r = recorder(25);
  await r.record(object(), 'Warning', 'NoAddress', 'pool p1 is exhausted');
  await Promise.all([
    r.record(object(), 'Warning', 'NoAddress', 'pool p1 is exhausted'),
    r.record(object(), 'Warning', 'NoAddress', 'pool p1 is exhausted'),
  ]);
  await r.record(object(), 'Normal', 'Allocated', 'eth0: 198.18.0.10/24 from pool p1');
  const noAddress = await eventsOf('NoAddress');
  expect(noAddress).toHaveLength(1);
  expect(noAddress[0]).toMatchObject({
    type: 'Warning',
    message: 'pool p1 is exhausted',
    count: 3,
    source: { component: 'spiderpool-operator', host: 'test-replica' },
    involvedObject: { kind: 'ConfigMap', name, uid },
  });
  expect((await eventsOf('Allocated')).map((e) => e.message)).toEqual(['eth0: 198.18.0.10/24 from pool p1']);
});

test('a flood from one object is cut off after the burst, and the drops are counted', async () => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const r = recorder(3, metrics);
  for (let i = 0; i < 6; i++) await r.record(object(), 'Warning', 'Flood', `message ${i}`);
  expect((await eventsOf('Flood')).map((e) => e.message).sort()).toEqual([
    'message 0',
    'message 1',
    'message 2',
  ]);
  const text = await metrics.registry.metrics();
  expect(text).toContain('spiderpool_operator_events_total{outcome="dropped"} 3');
  expect(text).toContain('spiderpool_operator_events_total{outcome="created"} 3');
});
