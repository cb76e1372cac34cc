// The Event recorder under a flood, on the real API server: hundreds of Events about as many objects
// at once (what an operator restarted among young endpoints records) never open more writes than its
// bound, what does not fit in its queue is dropped, counted and logged, and it keeps recording.
import { CoreV1Api } from '@kubernetes/client-node';
import { RestClient, type RestRequest } from '../../../kube/rest.js';
import { EventRecorder } from '../../../operator/events/recorder.js';
import { operatorLogger } from '../../../operator/observability/log.js';
import { OperatorMetrics } from '../../../operator/observability/metrics.js';
import { kubeConfig, uniqueName } from '../../harness/clients.js';

/** The real client, counting the requests it has open: the bound is observed on the wire. */
class CountingRest extends RestClient {
  open = 0;
  peakOpen = 0;
  requests = 0;

  override async request<T>(method: string, path: string, req: RestRequest = {}): Promise<T> {
    this.requests++;
    this.open++;
    this.peakOpen = Math.max(this.peakOpen, this.open);
    try {
      return await super.request<T>(method, path, req);
    } finally {
      this.open--;
    }
  }
}

const kc = kubeConfig('admin');
const core = kc.makeApiClient(CoreV1Api);
const rest = new CountingRest(kc);
const reason = uniqueName('Flood').replace(/-/g, '');

afterAll(async () => {
  await core.deleteCollectionNamespacedEvent({ namespace: 'default', fieldSelector: `reason=${reason}` });
  rest.close();
});

test('a flood of Events: writes in flight stay at the bound, the overflow is dropped, counted and logged', async () => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const lines: string[] = [];
  const recorder = new EventRecorder({
    rest,
    component: 'spiderpool-operator',
    host: 'test-replica',
    log: operatorLogger('info', (l) => lines.push(l)),
    metrics,
    writes: { maxInFlight: 3, maxQueued: 50 },
  });
  const total = 400;
  const pod = (i: number) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${reason.toLowerCase()}-${i}`, namespace: 'default', uid: `${reason}-${i}` },
  });
  // Sampled while the writes run: the gauge a scrape of /metrics would show.
  const gaugeSamples: number[] = [];
  const sampler = setInterval(
    async () =>
      gaugeSamples.push(
        (await metrics.eventWritesInFlight.get()).values.reduce((sum, v) => sum + v.value, 0),
      ),
    2,
  );
  await Promise.all(
    Array.from({ length: total }, (_, i) => recorder.record(pod(i), 'Normal', reason, 'eth0: 198.18.0.1/24')),
  );
  clearInterval(sampler);

  // Submitted in one go: three start, fifty wait, the rest find the queue full.
  const kept = 3 + 50;
  expect(rest.peakOpen).toBe(3);
  expect(recorder.writeStats).toEqual({ inFlight: 0, queued: 0, peakInFlight: 3, dropped: total - kept });
  expect(Math.max(...gaugeSamples)).toBeLessThanOrEqual(3);
  expect(rest.requests).toBe(kept);
  const text = await metrics.registry.metrics();
  expect(text).toContain(`spiderpool_operator_events_total{outcome="created"} ${kept}`);
  expect(text).toContain(`spiderpool_operator_events_total{outcome="overflow"} ${total - kept}`);
  expect(text).toContain('spiderpool_operator_event_writes_in_flight 0');
  const warnings = lines
    .map((l) => JSON.parse(l) as { msg: string; dropped?: number })
    .filter((l) => l.msg === 'events dropped: the event write queue is full');
  // One line for the burst (at most one per 10 s), not one per dropped Event.
  expect(warnings.map((w) => w.dropped)).toEqual([1]);

  const written = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `reason=${reason}` });
  expect(written.items).toHaveLength(kept);

  // Still recording once the flood has passed.
  await recorder.record(pod(total), 'Normal', reason, 'eth0: 198.18.0.2/24');
  const after = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `reason=${reason}` });
  expect(after.items.map((e) => e.involvedObject.uid)).toContain(`${reason}-${total}`);
});
