import { HttpEndpoints, type Probe } from '../../../../operator/observability/http.js';
import { operatorLogger } from '../../../../operator/observability/log.js';
import { OperatorMetrics } from '../../../../operator/observability/metrics.js';

const log = operatorLogger('error', () => {});

test('/readyz follows its probe, /healthz and /metrics answer on their own ports, anything else is 404', async () => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  metrics.leader.set(1);
  let ready: Probe = { ok: false, detail: 'watches not synced yet' };
  const http = new HttpEndpoints({
    host: '127.0.0.1',
    metricsPort: 0,
    healthPort: 0,
    metrics,
    log,
    healthz: () => ({ ok: true, detail: 'ok' }),
    readyz: () => ready,
  });
  await http.start();
  try {
    const { metrics: mp, health: hp } = http.ports;
    expect(mp).not.toBe(hp);
    const notReady = await fetch(`http://127.0.0.1:${hp}/readyz`);
    expect([notReady.status, await notReady.text()]).toEqual([503, 'watches not synced yet\n']);
    ready = { ok: true, detail: 'ready (follower)' };
    expect((await fetch(`http://127.0.0.1:${hp}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${hp}/healthz`)).status).toBe(200);
    const m = await fetch(`http://127.0.0.1:${mp}/metrics`);
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect(await m.text()).toContain('spiderpool_operator_leader 1');
    expect((await fetch(`http://127.0.0.1:${hp}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${mp}/nothing`)).status).toBe(404);
  } finally {
    await http.stop();
  }
});

test('one server serves everything when both ports are the same', async () => {
  const probe = new HttpEndpoints({
    host: '127.0.0.1',
    metricsPort: 0,
    healthPort: 0,
    metrics: new OperatorMetrics({ processMetrics: false }),
    log,
    healthz: () => ({ ok: true, detail: 'ok' }),
    readyz: () => ({ ok: true, detail: 'ok' }),
  });
  await probe.start();
  const port = probe.ports.metrics;
  await probe.stop();
  const shared = new HttpEndpoints({
    host: '127.0.0.1',
    metricsPort: port,
    healthPort: port,
    metrics: new OperatorMetrics({ processMetrics: false }),
    log,
    healthz: () => ({ ok: true, detail: 'ok' }),
    readyz: () => ({ ok: true, detail: 'ok' }),
  });
  await shared.start();
  try {
    expect(shared.ports).toEqual({ metrics: port, health: port });
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  } finally {
    await shared.stop();
  }
});
