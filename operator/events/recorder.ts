// Kubernetes Events (core/v1) on Pods, VMs, pools or any object, telling a user what the operator did
// or why it could not. Repeats of the same event on the same object within a window update the
// existing Event's count instead of creating new ones, and a per-object spam filter drops the rest.
// Writes go through a lane of their own with a fixed number in flight and a bounded queue
// (write-queue.ts): what does not fit is dropped, counted and logged. Recording never throws: an
// Event is a message, not a step a reconcile may fail on.
import type { KubernetesObject } from '@kubernetes/client-node';
import { isNotFound } from '../../kube/errors.js';
import { resourcePath } from '../../kube/resource.js';
import { contentTypes, type RestClient } from '../../kube/rest.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { SpamFilter, type SpamPolicy } from './spam-filter.js';
import { WriteQueue, type WriteQueuePolicy, type WriteQueueStats } from './write-queue.js';

export type EventType = 'Normal' | 'Warning';

export interface RecorderOptions {
  rest: RestClient;
  component: string;
  /** Reported as the source host (the replica's identity). */
  host: string;
  log: Logger;
  metrics: OperatorMetrics;
  spam?: SpamPolicy;
  /** Writes open at once and waiting (default 4 and 1,000, the queue length of client-go's broadcaster). */
  writes?: WriteQueuePolicy;
  /** At most one log line per this long about dropped Events (default 10 s). */
  dropLogEveryMs?: number;
  /** How long repeats fold into one Event (default 10 minutes). */
  aggregateWindowMs?: number;
  now?: () => Date;
}

interface Aggregate {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastWriteMs: number;
}

const events = (namespace: string) => ({ group: '', version: 'v1', plural: 'events', namespace });

/** What a controller needs of the recorder (a unit test passes one that only collects the Events). */
export type EventSink = Pick<EventRecorder, 'record'>;

export class EventRecorder {
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly spam: SpamFilter;
  private readonly writes: WriteQueue;
  private overflowSinceLog = 0;
  private overflowLoggedMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: RecorderOptions) {
    this.spam = new SpamFilter(opts.spam ?? { burst: 25, refillEveryMs: 300_000 });
    this.writes = new WriteQueue(opts.writes ?? { maxInFlight: 4, maxQueued: 1000 }, (n) =>
      opts.metrics.eventWritesInFlight.set(n),
    );
  }

  /** Writes open and waiting, the most ever open at once and the Events dropped for want of room. */
  get writeStats(): WriteQueueStats {
    return this.writes.stats;
  }

  /** Records an Event; resolves when it is written (or dropped), never rejects. */
  record(object: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const md = object.metadata ?? {};
    const what = `${object.kind ?? 'object'} ${md.namespace ? `${md.namespace}/` : ''}${md.name}`;
    // The spam filter decides on arrival, so a flood from one object never takes room in the queue.
    if (!this.spam.allow(md.uid ?? what, this.nowMs())) {
      this.opts.metrics.events.inc({ outcome: 'dropped' });
      this.opts.log.debug('event dropped by the spam filter', { object: what, reason });
      return Promise.resolve();
    }
    const key = [md.uid ?? `${md.namespace}/${md.name}`, type, reason, message].join('\u0000');
    // Repeats of one Event go one after another, so a repeat patches the Event its predecessor made.
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.writes.submit(() => this.write(key, object, what, type, reason, message)))
      .then((taken) => {
        if (!taken) this.overflowed(what, reason);
      });
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  private nowMs(): number {
    return (this.opts.now?.() ?? new Date()).getTime();
  }

  private overflowed(what: string, reason: string): void {
    this.opts.metrics.events.inc({ outcome: 'overflow' });
    this.overflowSinceLog++;
    const now = this.nowMs();
    if (now - this.overflowLoggedMs < (this.opts.dropLogEveryMs ?? 10_000)) return;
    const { inFlight, queued, dropped } = this.writes.stats;
    this.opts.log.warn('events dropped: the event write queue is full', {
      dropped: this.overflowSinceLog,
      droppedSinceStart: dropped,
      inFlight,
      queued,
      last: { object: what, reason },
    });
    this.overflowSinceLog = 0;
    this.overflowLoggedMs = now;
  }

  private async write(
    key: string,
    object: KubernetesObject,
    what: string,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const now = this.opts.now?.() ?? new Date();
    const md = object.metadata ?? {};
    const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const windowMs = this.opts.aggregateWindowMs ?? 600_000;
    const agg = this.aggregates.get(key);
    try {
      if (agg && now.getTime() - agg.lastWriteMs < windowMs) {
        try {
          await this.opts.rest.request('PATCH', resourcePath(events(agg.namespace), agg.name), {
            contentType: contentTypes.mergePatch,
            body: { count: agg.count + 1, lastTimestamp: stamp },
          });
          agg.count++;
          agg.lastWriteMs = now.getTime();
          this.opts.metrics.events.inc({ outcome: 'aggregated' });
          return;
        } catch (err) {
          // The Event expired (the API server keeps them an hour): start a new one.
          if (!isNotFound(err)) throw err;
        }
      }
      const namespace = md.namespace || 'default';
      // Like client-go: the object's name and a unique suffix, within the 253 characters of a name.
      const suffix = `${now.getTime().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
      const name = `${(md.name ?? 'object').slice(0, 253 - suffix.length - 1)}.${suffix}`;
      await this.opts.rest.request('POST', resourcePath(events(namespace)), {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: md.name,
            namespace: md.namespace,
            uid: md.uid,
            resourceVersion: md.resourceVersion,
          },
          type,
          reason,
          message,
          count: 1,
          firstTimestamp: stamp,
          lastTimestamp: stamp,
          eventTime: null,
          source: { component: this.opts.component, host: this.opts.host },
          reportingComponent: this.opts.component,
          reportingInstance: this.opts.host,
        },
      });
      this.aggregates.set(key, {
        name,
        namespace,
        count: 1,
        firstTimestamp: stamp,
        lastWriteMs: now.getTime(),
      });
      this.trim();
      this.opts.metrics.events.inc({ outcome: 'created' });
    } catch (err) {
      this.opts.metrics.events.inc({ outcome: 'failed' });
      this.opts.log.warn('recording an event failed', { object: what, reason, error: err });
    }
  }

  private trim(): void {
    while (this.aggregates.size > 4096) {
      const oldest = this.aggregates.keys().next().value as string;
      this.aggregates.delete(oldest);
    }
  }
}
