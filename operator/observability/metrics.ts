// The operator's Prometheus metrics, one registry per operator instance (tests run several in one
// process). The framework's own series are defined and fed here; the IPAM series (pool totals, GC)
// are defined here too so every metric has one place, and the phase-2 controllers feed them.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconciles = this.counter(
    'spiderpool_operator_reconcile_total',
    'Handled events per controller, by result (success or error)',
    ['controller', 'result'],
  );

  readonly reconcileErrors = this.counter(
    'spiderpool_operator_reconcile_errors_total',
    'Handler failures per controller (each is logged and retried with backoff)',
    ['controller'],
  );

  readonly reconcileDuration = this.histogram(
    'spiderpool_operator_reconcile_duration_seconds',
    'Time spent in a handler per event',
    ['controller'],
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15],
  );

  readonly queueDepth = this.gauge(
    'spiderpool_operator_queue_depth',
    'Events waiting in a controller work queue',
    ['controller'],
  );

  readonly watchRestarts = this.counter(
    'spiderpool_operator_watch_restarts_total',
    'Watches re-opened, by reason (closed, error, expired, error-event, stalled)',
    ['resource', 'reason'],
  );

  readonly watchRelists = this.counter(
    'spiderpool_operator_watch_relists_total',
    'Full lists of a resource, by reason (initial, expired, error-event)',
    ['resource', 'reason'],
  );

  readonly leader = this.gauge(
    'spiderpool_operator_leader',
    '1 while this replica holds the leader Lease and runs the controllers',
    [],
  );

  readonly webhookDuration = this.histogram(
    'spiderpool_operator_webhook_request_duration_seconds',
    'Admission webhook request latency, by path and outcome',
    ['webhook', 'operation', 'allowed'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
  );

  readonly events = this.counter(
    'spiderpool_operator_events_total',
    'Kubernetes Events recorded, by outcome (created, aggregated, dropped by the per-object spam filter, overflow when the write queue was full, failed)',
    ['outcome'],
  );

  readonly eventWritesInFlight = this.gauge(
    'spiderpool_operator_event_writes_in_flight',
    'Event writes (POST or PATCH) open against the API server; bounded by the recorder',
    [],
  );

  // IPAM series, fed by the pool and GC controllers (Spiderpool's names where it has one).
  readonly poolTotalIPs = this.gauge(
    'spiderpool_ippool_total_ip_counts',
    'Addresses a SpiderIPPool can hand out (status.totalIPCount)',
    ['pool'],
  );

  readonly poolAllocatedIPs = this.gauge(
    'spiderpool_ippool_allocated_ip_counts',
    'Addresses of a SpiderIPPool currently allocated (status.allocatedIPCount)',
    ['pool'],
  );

  readonly poolFreeIPs = this.gauge(
    'spiderpool_ippool_free_ip_counts',
    'Addresses of a SpiderIPPool that may still be handed out (less reserved IPs and the gateway)',
    ['pool'],
  );

  readonly gcReclaims = this.counter(
    'spiderpool_ip_gc_counts',
    'Addresses given back by garbage collection, by rule',
    ['reason'],
  );

  readonly gcFailures = this.counter(
    'spiderpool_ip_gc_failure_counts',
    'Garbage collection attempts that failed, by rule',
    ['reason'],
  );

  constructor({ processMetrics = true } = {}) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  // Every series lives in this instance's registry; a row above gives its name, help and labels.
  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]) {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]) {
    return new Gauge<L>({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) {
    return new Histogram<L>({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
