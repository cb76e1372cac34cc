// The leader election loop over one Lease. Only the leader runs controllers: `onStartedLeading`
// fires when this replica acquires the Lease, `onStoppedLeading` when it releases it or fails to
// renew it within the renew deadline (it then stops its controllers before any follower may take
// over, since followers wait a whole lease duration). The loop itself never throws.
import { setTimeout as sleep } from 'node:timers/promises';
import { describeApiError, isAlreadyExists, isConflict, isNotFound } from '../../kube/errors.js';
import { resourcePath } from '../../kube/resource.js';
import type { RestClient } from '../../kube/rest.js';
import type { Logger } from '../observability/log.js';
import {
  checkTiming,
  type Decision,
  decide,
  type ElectionTiming,
  type LeaseSpec,
  mustStepDown,
  type Observation,
  observe,
  released,
} from './decision.js';

export interface ElectorOptions extends ElectionTiming {
  rest: RestClient;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  onStartedLeading: () => Promise<void> | void;
  onStoppedLeading: () => Promise<void> | void;
  onNewLeader?: (holder: string) => void;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

const leases = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private observation?: Observation;
  private lastLease?: Lease;
  private lastRenewMs = 0;
  private lastHolder = '';

  constructor(private readonly opts: ElectorOptions) {
    checkTiming(opts);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops the loop; a leader stops its controllers and releases the Lease for a fast takeover. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading) {
      await this.stepDown('shutting down');
      await this.release();
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const outcome = await this.tryAcquireOrRenew();
      const now = performance.now();
      if (outcome === 'held') {
        this.lastRenewMs = now;
        if (!this.leading) {
          this.leading = true;
          this.opts.log.info('became leader', { lease: this.leaseName, identity: this.opts.identity });
          await this.callback(this.opts.onStartedLeading, 'onStartedLeading');
        }
      } else if (this.leading && outcome === 'other') {
        // Someone else holds the Lease (it was deleted, or edited by hand): stop at once.
        await this.stepDown('the Lease is held by another replica');
      } else if (this.leading && mustStepDown(this.lastRenewMs, now, this.opts)) {
        await this.stepDown(`could not renew within ${this.opts.renewDeadlineMs} ms`);
      }
      // Followers add jitter so they do not all hit the API server in step.
      const factor = this.leading ? 1 : 1 + Math.random() * 0.2;
      await this.pause(this.opts.retryPeriodMs * factor);
    }
  }

  private get leaseName(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  private async stepDown(why: string): Promise<void> {
    this.leading = false;
    this.opts.log.warn('stopped leading', { lease: this.leaseName, reason: why });
    await this.callback(this.opts.onStoppedLeading, 'onStoppedLeading');
  }

  private async callback(fn: () => Promise<void> | void, name: string): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.opts.log.error(`${name} failed`, { lease: this.leaseName, error: err });
    }
  }

  private async pause(ms: number): Promise<void> {
    if (this.stopped) return;
    const ac = new AbortController();
    this.wake = () => ac.abort();
    await sleep(ms, undefined, { signal: ac.signal }).catch(() => {});
    this.wake = undefined;
  }

  private path(name?: string): string {
    return resourcePath({ ...leases, namespace: this.opts.namespace }, name);
  }

  /**
   * One round: read the Lease, decide, write. 'held' when this replica holds it afterwards, 'other'
   * when another replica validly holds it, 'failed' when the API server could not be asked or a
   * write lost a race.
   */
  private async tryAcquireOrRenew(): Promise<'held' | 'other' | 'failed'> {
    // A renewal that cannot finish before the deadline is worth nothing.
    const timeoutMs = Math.max(1000, this.opts.renewDeadlineMs / 2);
    let current: Lease | undefined;
    try {
      current = await this.opts.rest.get<Lease>(this.path(this.opts.name), { timeoutMs });
    } catch (err) {
      if (!isNotFound(err)) {
        this.opts.log.warn('reading the leader Lease failed', { lease: this.leaseName, error: err });
        return 'failed';
      }
    }
    const nowMs = performance.now();
    this.observation = observe(this.observation, current?.spec, nowMs);
    this.lastLease = current;
    const decision: Decision = decide(
      this.opts.identity,
      current?.spec,
      this.observation,
      nowMs,
      new Date(),
      this.opts,
    );
    if (decision.action === 'wait') {
      if (decision.holder !== this.lastHolder) {
        this.lastHolder = decision.holder;
        this.opts.log.info('leader is another replica', { lease: this.leaseName, holder: decision.holder });
        this.opts.onNewLeader?.(decision.holder);
      }
      return 'other';
    }
    try {
      const written =
        decision.action === 'create'
          ? await this.opts.rest.request<Lease>('POST', this.path(), {
              timeoutMs,
              body: {
                apiVersion: 'coordination.k8s.io/v1',
                kind: 'Lease',
                metadata: { name: this.opts.name, namespace: this.opts.namespace },
                spec: decision.spec,
              },
            })
          : await this.opts.rest.request<Lease>('PUT', this.path(this.opts.name), {
              timeoutMs,
              body: { ...current, spec: decision.spec },
            });
      this.lastLease = written;
      this.observation = observe(this.observation, written.spec, performance.now());
      if (this.lastHolder !== this.opts.identity) {
        this.lastHolder = this.opts.identity;
        this.opts.onNewLeader?.(this.opts.identity);
      }
      return 'held';
    } catch (err) {
      // Someone else wrote first: normal contention, not worth a warning.
      if (!isConflict(err) && !isAlreadyExists(err))
        this.opts.log.warn('writing the leader Lease failed', {
          lease: this.leaseName,
          error: describeApiError(err),
        });
      return 'failed';
    }
  }

  private async release(): Promise<void> {
    const lease = this.lastLease;
    if (!lease?.spec || lease.spec.holderIdentity !== this.opts.identity) return;
    try {
      await this.opts.rest.request('PUT', this.path(this.opts.name), {
        timeoutMs: 5000,
        body: { ...lease, spec: released(lease.spec, new Date()) },
      });
      this.opts.log.info('released the leader Lease', { lease: this.leaseName });
    } catch (err) {
      this.opts.log.warn('releasing the leader Lease failed; followers wait for it to expire', {
        lease: this.leaseName,
        error: err,
      });
    }
  }
}
