// The operator's Prometheus metrics, one registry per operator instance (tests run several in one
// process). The framework's own series are defined and fed here; the IPAM series (pool totals, GC)
// are defined here too so every metric has one place, and the phase-2 controllers feed them.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconciles = new Counter({
    name: 'spiderpool_operator_reconcile_total',
    help: 'Handled events per controller, by result (success or error)',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });

  readonly reconcileErrors = new Counter({
    name: 'spiderpool_operator_reconcile_errors_total',
    help: 'Handler failures per controller (each is logged and retried with backoff)',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  readonly reconcileDuration = new Histogram({
    name: 'spiderpool_operator_reconcile_duration_seconds',
    help: 'Time spent in a handler per event',
    labelNames: ['controller'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15],
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'spiderpool_operator_queue_depth',
    help: 'Events waiting in a controller work queue',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  readonly watchRestarts = new Counter({
    name: 'spiderpool_operator_watch_restarts_total',
    help: 'Watches re-opened, by reason (closed, error, expired, error-event, stalled)',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });

  readonly watchRelists = new Counter({
    name: 'spiderpool_operator_watch_relists_total',
    help: 'Full lists of a resource, by reason (initial, expired, error-event)',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'spiderpool_operator_leader',
    help: '1 while this replica holds the leader Lease and runs the controllers',
    registers: [this.registry],
  });

  readonly webhookDuration = new Histogram({
    name: 'spiderpool_operator_webhook_request_duration_seconds',
    help: 'Admission webhook request latency, by path and outcome',
    labelNames: ['webhook', 'operation', 'allowed'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'spiderpool_operator_events_total',
    help: 'Kubernetes Events recorded, by outcome (created, aggregated, dropped, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  // IPAM series, fed by the pool and GC controllers (Spiderpool's names where it has one).
  readonly poolTotalIPs = new Gauge({
    name: 'spiderpool_ippool_total_ip_counts',
    help: 'Addresses a SpiderIPPool can hand out (status.totalIPCount)',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  readonly poolAllocatedIPs = new Gauge({
    name: 'spiderpool_ippool_allocated_ip_counts',
    help: 'Addresses of a SpiderIPPool currently allocated (status.allocatedIPCount)',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  readonly poolFreeIPs = new Gauge({
    name: 'spiderpool_ippool_free_ip_counts',
    help: 'Addresses of a SpiderIPPool that may still be handed out (less reserved IPs and the gateway)',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  readonly gcReclaims = new Counter({
    name: 'spiderpool_ip_gc_counts',
    help: 'Addresses given back by garbage collection, by rule',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly gcFailures = new Counter({
    name: 'spiderpool_ip_gc_failure_counts',
    help: 'Garbage collection attempts that failed, by rule',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor({ processMetrics = true } = {}) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
