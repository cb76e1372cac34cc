// The hardened operator base: @dot-i/k8s-operator's programming model (subclass, declare watches in
// `init()`, handle `ResourceEvent`s, `handleResourceFinalizer`, `setResourceFinalizers`,
// `patchResourceStatus`) with its broken parts replaced. See docs/operator.md for what is kept and
// why each replacement exists. In short:
//   - watches list first, resume from the last resourceVersion, relist on 410 / ERROR events
//     (deletions that happened meanwhile are delivered), reconnect with backoff, never exit;
//   - one work queue per watched resource: per-object order, coalescing, bounded parallelism,
//     retry with backoff; every failure is logged and counted, none is dropped;
//   - finalizer and status writes are guarded by resourceVersion and throw on failure, so the
//     queue retries them with the newest object;
//   - controllers run only while `activate()`d (the leader), and `stop()` drains instead of exiting.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { apiStatus } from '../../kube/errors.js';
import { type ResourceRef, resourceId, resourcePath } from '../../kube/resource.js';
import { contentTypes, RestClient } from '../../kube/rest.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import type { BackoffPolicy } from './backoff.js';
import { DotIOperator } from './dot-i.js';
import { metaOf, objectKey, type ResourceEvent, ResourceEventType, type ResourceMeta } from './events.js';
import { finalizerAction, withFinalizer } from './finalizers.js';
import { Reflector, type RelistReason } from './reflector.js';
import { WorkQueue } from './work-queue.js';

export interface FrameworkOptions {
  /** client-node 1.x configuration used for all I/O of the framework. */
  kubeConfig: KubeConfig;
  /** The file it came from, so dot-i's own (0.20) configuration points at the same cluster. */
  kubeconfigPath?: string;
  log: Logger;
  metrics: OperatorMetrics;
  /** Objects of one watched resource handled in parallel (default 4). */
  concurrency?: number;
  /** Backoff of a failing handler, per object (default 200 ms doubling to 60 s). */
  retry?: BackoffPolicy;
  /** Backoff of a failing list or watch (default 200 ms doubling to 30 s). */
  watchBackoff?: BackoffPolicy;
  watchTimeoutSeconds?: [number, number];
}

/** Options beyond dot-i's `watchResource` parameters. */
export interface WatchOptions {
  /** Controller name in logs and metrics (default: the resource id, e.g. `pods.v1`). */
  name?: string;
  /** Kind of the objects, for ResourceMeta of listed items (which carry none). */
  kind?: string;
  labelSelector?: string;
  fieldSelector?: string;
  concurrency?: number;
  /** Keeps only what the handlers read of each object (see ReflectorOptions.transform). */
  transform?: (object: KubernetesObject) => KubernetesObject;
  /**
   * The resource may not exist in the cluster (KubeVirt's, before KubeVirt is installed): while the
   * API server answers 404 the watch retries quietly and does not hold back `hasSynced`.
   */
  optional?: boolean;
  /**
   * Called after a list that was not the watch's first: the watch could not resume (its
   * resourceVersion expired, say after an API server restart), so objects that came and went while
   * it was down reached the cache without an event. Handlers that must see such objects ask for a
   * full pass here.
   */
  onRelist?: (reason: RelistReason) => void;
}

/** A write attempted by a replica that does not (or no longer) hold the leader Lease. */
export class NotLeaderError extends Error {
  constructor(what: string) {
    super(`not the leader: refusing to ${what}`);
    this.name = 'NotLeaderError';
  }
}

interface ControllerDef {
  name: string;
  ref: ResourceRef;
  kind: string;
  onEvent: (event: ResourceEvent) => Promise<void>;
  options: WatchOptions;
}

interface PeriodicDef {
  name: string;
  intervalMs: number;
  task: () => Promise<void>;
}

interface ControllerRuntime {
  def: ControllerDef;
  reflector: Reflector;
  queue: WorkQueue;
  /** `absent`: an optional resource the API server does not serve (404 on list). */
  state: { absent: boolean };
  /** Delayed re-handlings by object key, with when they are due. */
  timers: Map<string, { due: number; timer: NodeJS.Timeout }>;
}

/** A read-only view of a watched resource's cache (like an informer's lister). */
export interface Lister {
  get(key: string): KubernetesObject | undefined;
  getByUid(uid: string): KubernetesObject | undefined;
  list(): KubernetesObject[];
}

export abstract class HardenedOperator extends DotIOperator {
  protected readonly kc: KubeConfig;
  protected readonly rest: RestClient;
  protected readonly log: Logger;
  protected readonly metrics: OperatorMetrics;
  private readonly defs: ControllerDef[] = [];
  private runtimes: ControllerRuntime[] = [];
  private readonly periodics: PeriodicDef[] = [];
  private periodicRuns: Array<{ stop: () => Promise<void> }> = [];
  /** Per running periodic task: asks for its next run now (see runSoon). */
  private readonly periodicWakers = new Map<string, () => void>();
  private readonly refsById = new Map<string, ResourceRef>();
  private active = false;
  private initialised = false;
  private transition: Promise<void> = Promise.resolve();

  constructor(private readonly fw: FrameworkOptions) {
    const log = fw.log;
    super({
      debug: (m) => log.debug(m),
      info: (m) => log.info(m),
      warn: (m) => log.warn(m),
      error: (m) => log.error(m),
    });
    // dot-i's constructor loaded its own configuration from the defaults; inherited helpers
    // (getCustomResourceApiUri, registerCustomResourceDefinition) must talk to the same cluster.
    if (fw.kubeconfigPath) this.kubeConfig.loadFromFile(fw.kubeconfigPath);
    this.kc = fw.kubeConfig;
    this.rest = new RestClient(fw.kubeConfig);
    this.log = fw.log;
    this.metrics = fw.metrics;
  }

  /** Runs `init()` once; the declared watches start when the replica is activated (leads). */
  override async start(): Promise<void> {
    if (this.initialised) return;
    this.initialised = true;
    await this.init();
  }

  /** Graceful: closes watches, waits for running handlers, never exits the process. */
  override async stop(): Promise<void> {
    await this.deactivate();
    this.rest.close();
  }

  get isActive(): boolean {
    return this.active;
  }

  /** True when every declared watch has listed its resource at least once since activation. */
  get hasSynced(): boolean {
    return this.active && this.runtimes.every((r) => r.reflector.hasSynced || r.state.absent);
  }

  /** True when the watch of this resource has listed it at least once since activation. */
  protected isSynced(group: string, version: string, plural: string): boolean {
    const id = resourceId({ group, version, plural });
    return this.runtimes.some((r) => resourceId(r.def.ref) === id && r.reflector.hasSynced);
  }

  /** Starts every declared controller (this replica became the leader). */
  activate(): Promise<void> {
    return this.serialise(async () => {
      if (this.active) return;
      this.active = true;
      for (const def of this.defs) this.runtimes.push(this.launch(def));
      for (const p of this.periodics) this.periodicRuns.push(this.launchPeriodic(p));
      this.log.info('controllers started', { controllers: this.defs.map((d) => d.name) });
    });
  }

  /** Stops every controller: no new work, running handlers finish, caches are dropped. */
  deactivate(): Promise<void> {
    return this.serialise(async () => {
      if (!this.active) return;
      this.active = false;
      const runtimes = this.runtimes;
      this.runtimes = [];
      const periodic = this.periodicRuns;
      this.periodicRuns = [];
      await Promise.all(periodic.map((p) => p.stop()));
      for (const r of runtimes) for (const t of r.timers.values()) clearTimeout(t.timer);
      await Promise.all(runtimes.map((r) => r.reflector.stop()));
      await Promise.all(runtimes.map((r) => r.queue.stop()));
      for (const r of runtimes) this.metrics.queueDepth.set({ controller: r.def.name }, 0);
      this.log.info('controllers stopped', { controllers: runtimes.map((r) => r.def.name) });
    });
  }

  private serialise(step: () => Promise<void>): Promise<void> {
    const next = this.transition.then(step);
    this.transition = next.catch(() => {});
    return next;
  }

  /**
   * dot-i's signature, plus options. Declares a watched resource with its handler; it runs while
   * this replica is active.
   */
  protected override async watchResource(
    group: string,
    version: string,
    plural: string,
    onEvent: (event: ResourceEvent) => Promise<void>,
    namespace?: string,
    options: WatchOptions = {},
  ): Promise<void> {
    const ref: ResourceRef = { group, version, plural, ...(namespace ? { namespace } : {}) };
    this.refsById.set(resourceId(ref), { group, version, plural });
    const def: ControllerDef = {
      name: options.name ?? resourceId(ref),
      ref,
      kind: options.kind ?? '',
      onEvent,
      options,
    };
    this.defs.push(def);
    if (this.active) this.runtimes.push(this.launch(def));
  }

  /**
   * Hands every cached object of the named controllers (all when omitted) to its handler again as
   * MODIFIED: for periodic full scans and for reconciling after an outside input changed.
   */
  resync(names?: string[]): void {
    for (const rt of this.runtimes) {
      if (names && !names.includes(rt.def.name)) continue;
      for (const object of rt.reflector.store.list())
        rt.queue.push(objectKey(object), {
          type: ResourceEventType.Modified,
          object,
          meta: metaOf(rt.def.ref, rt.def.kind, object),
        });
    }
  }

  /**
   * Hands the cached object `key` of controller `name` to its handler again after `delayMs` (as
   * MODIFIED), e.g. when a grace period ends. An earlier pending one for the same key wins; all are
   * dropped when the controllers stop.
   */
  protected enqueueAfter(name: string, key: string, delayMs: number): void {
    const rt = this.runtimes.find((r) => r.def.name === name);
    if (!rt) return;
    const due = Date.now() + Math.max(0, delayMs);
    const pending = rt.timers.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(
      () => {
        rt.timers.delete(key);
        const object = rt.reflector.store.get(key);
        if (!object || !this.runtimes.includes(rt)) return;
        rt.queue.push(key, {
          type: ResourceEventType.Modified,
          object,
          meta: metaOf(rt.def.ref, rt.def.kind, object),
        });
      },
      Math.min(Math.max(0, delayMs), 2 ** 31 - 1),
    );
    timer.unref();
    rt.timers.set(key, { due, timer });
  }

  /**
   * Declares a task that runs while this replica is active: first once every watch has synced, then
   * every `intervalMs` after the previous run ended (runs never overlap). Failures are logged and
   * counted like a handler's and the task simply runs again at the next interval. For full scans that
   * repair what events missed.
   */
  protected schedule(name: string, intervalMs: number, task: () => Promise<void>): void {
    const def = { name, intervalMs, task };
    this.periodics.push(def);
    if (this.active) this.periodicRuns.push(this.launchPeriodic(def));
  }

  private launchPeriodic(def: PeriodicDef): { stop: () => Promise<void> } {
    const log = this.log.child({ controller: def.name });
    const ac = new AbortController();
    // A wake-up asked for while the task runs is kept, so the run after it sees what caused it.
    let wanted = false;
    let wake: AbortController | undefined;
    const waker = () => {
      wanted = true;
      wake?.abort();
    };
    this.periodicWakers.set(def.name, waker);
    const loop = (async () => {
      while (!ac.signal.aborted && !this.hasSynced)
        await sleep(100, undefined, { signal: ac.signal }).catch(() => {});
      while (!ac.signal.aborted) {
        wanted = false;
        const started = performance.now();
        let ok = true;
        try {
          await def.task();
        } catch (err) {
          ok = false;
          this.metrics.reconcileErrors.inc({ controller: def.name });
          log.error('periodic task failed; it runs again at the next interval', { error: err });
        }
        this.metrics.reconciles.inc({ controller: def.name, result: ok ? 'success' : 'error' });
        this.metrics.reconcileDuration.observe(
          { controller: def.name },
          (performance.now() - started) / 1000,
        );
        if (wanted) continue;
        wake = new AbortController();
        await sleep(def.intervalMs, undefined, { signal: AbortSignal.any([ac.signal, wake.signal]) }).catch(
          () => {},
        );
        wake = undefined;
      }
    })();
    return {
      stop: async () => {
        ac.abort();
        if (this.periodicWakers.get(def.name) === waker) this.periodicWakers.delete(def.name);
        await loop;
      },
    };
  }

  /**
   * Runs the periodic task `name` as soon as it is free instead of at its next interval (no-op while
   * this replica does not lead: a new term runs every periodic task first thing anyway).
   */
  protected runSoon(name: string): void {
    this.periodicWakers.get(name)?.();
  }

  /** The cache of a watched resource while active, for lookups from handlers. */
  protected lister(group: string, version: string, plural: string): Lister | undefined {
    const id = resourceId({ group, version, plural });
    const rt = this.runtimes.find((r) => resourceId(r.def.ref) === id);
    return rt ? rt.reflector.store : undefined;
  }

  private launch(def: ControllerDef): ControllerRuntime {
    const controller = def.name;
    const log = this.log.child({ controller });
    // The queue refreshes events from the reflector's cache; both refer to each other.
    let reflector: Reflector;
    const queue = new WorkQueue({
      concurrency: def.options.concurrency ?? this.fw.concurrency ?? 4,
      retry: this.fw.retry ?? { initialMs: 200, maxMs: 60_000 },
      handle: (event) => def.onEvent(event),
      refresh: (event) => {
        if (event.type === ResourceEventType.Deleted) return event;
        const latest = reflector.store.get(objectKey(event.object));
        if (!latest || latest === event.object || latest.metadata?.uid !== event.object.metadata?.uid)
          return event;
        return { ...event, object: latest, meta: metaOf(def.ref, def.kind, latest) };
      },
      onError: (key, event, err, attempt, retryInMs) => {
        this.metrics.reconcileErrors.inc({ controller });
        const fields = { object: key, event: event.type, attempt, retryInMs, error: err };
        if (retryInMs === undefined)
          log.warn('handler failed while the controller stopped; the next leader lists it again', fields);
        else log.error('handler failed; will retry', fields);
      },
      onResult: (ok, ms) => {
        this.metrics.reconciles.inc({ controller, result: ok ? 'success' : 'error' });
        this.metrics.reconcileDuration.observe({ controller }, ms / 1000);
      },
      onDepth: (depth) => this.metrics.queueDepth.set({ controller }, depth),
    });
    const resource = resourceId(def.ref);
    const state = { absent: false };
    reflector = new Reflector(
      {
        ref: def.ref,
        kubeConfig: this.kc,
        rest: this.rest,
        labelSelector: def.options.labelSelector,
        fieldSelector: def.options.fieldSelector,
        backoff: this.fw.watchBackoff,
        watchTimeoutSeconds: this.fw.watchTimeoutSeconds,
        transform: def.options.transform,
      },
      {
        onEvent: (type, object) => {
          const event: ResourceEvent = { type, object, meta: metaOf(def.ref, def.kind, object) };
          queue.push(objectKey(object), event);
        },
        onSynced: () => {
          state.absent = false;
          log.info('cache synced', { resource });
        },
        onRelist: (reason, objects) => {
          this.metrics.watchRelists.inc({ resource, reason });
          log.info('listed', { resource, reason, objects });
          if (reason !== 'initial') def.options.onRelist?.(reason);
        },
        onWatchRestart: (reason, detail) => {
          this.metrics.watchRestarts.inc({ resource, reason });
          (reason === 'closed' ? log.debug : log.warn).call(log, 'watch restarting', {
            resource,
            reason,
            detail,
          });
        },
        onError: (what, err, retryInMs) => {
          if (def.options.optional && apiStatus(err) === 404) {
            // Not installed (yet): retried with backoff, quietly, until it appears.
            if (!state.absent) log.info('resource not served; waiting for it', { resource });
            state.absent = true;
            return;
          }
          log.error(`${what} failed`, { resource, retryInMs, error: err });
        },
      },
    );
    reflector.start();
    return { def, reflector, queue, state, timers: new Map() };
  }

  protected assertLeading(what: string): void {
    if (!this.active) throw new NotLeaderError(what);
  }

  private pathOf(meta: ResourceMeta, subresource?: string): string {
    const ref = this.refsById.get(meta.id);
    if (!ref) throw new Error(`resource ${meta.id} is not watched by this operator`);
    return resourcePath(
      { ...ref, ...(meta.namespace ? { namespace: meta.namespace } : {}) },
      meta.name,
      subresource,
    );
  }

  /**
   * dot-i's decision, hardened: the delete action's and the finalizer write's errors propagate (the
   * queue retries with the newest object), and the finalizer write is guarded by resourceVersion. A
   * delete action may return the ResourceMeta of its own last write so the finalizer write is
   * guarded by that newer version; it must be idempotent, as it may run again after a conflict.
   */
  protected override async handleResourceFinalizer(
    event: ResourceEvent,
    finalizer: string,
    // biome-ignore lint/suspicious/noConfusingVoidType: dot-i's delete actions are `() => Promise<void>`
    deleteAction: (event: ResourceEvent) => Promise<void | ResourceMeta>,
  ): Promise<boolean> {
    const metadata = event.object.metadata;
    if (!metadata || (event.type !== ResourceEventType.Added && event.type !== ResourceEventType.Modified))
      return false;
    switch (finalizerAction(metadata, finalizer)) {
      case 'add':
        await this.setResourceFinalizers(event.meta, withFinalizer(metadata.finalizers, finalizer, true));
        return true;
      case 'finalize': {
        const after = await deleteAction(event);
        const meta =
          after && after.id === event.meta.id && after.name === event.meta.name ? after : event.meta;
        await this.setResourceFinalizers(meta, withFinalizer(metadata.finalizers, finalizer, false));
        return true;
      }
      case 'deleting':
        return true;
      case 'none':
        return false;
    }
  }

  /**
   * Sets the finalizer list with a merge patch that carries the object's resourceVersion: the API
   * server answers 409 if anything changed since, so a finalizer another writer added at the same
   * moment is never overwritten. Throws on every failure.
   */
  protected override async setResourceFinalizers(meta: ResourceMeta, finalizers: string[]): Promise<void> {
    this.assertLeading(`change finalizers of ${meta.id} ${meta.name}`);
    await this.rest.request('PATCH', this.pathOf(meta), {
      contentType: contentTypes.mergePatch,
      body: { metadata: { resourceVersion: meta.resourceVersion, finalizers } },
    });
  }

  /** PUT of the status subresource, guarded by resourceVersion; throws instead of returning null. */
  protected override async setResourceStatus(
    meta: ResourceMeta,
    status: unknown,
  ): Promise<ResourceMeta | null> {
    this.assertLeading(`write status of ${meta.id} ${meta.name}`);
    const body = {
      apiVersion: meta.apiVersion,
      kind: meta.kind,
      metadata: {
        name: meta.name,
        ...(meta.namespace ? { namespace: meta.namespace } : {}),
        resourceVersion: meta.resourceVersion,
      },
      status,
    };
    const updated = await this.rest.request<KubernetesObject>('PUT', this.pathOf(meta, 'status'), { body });
    return this.metaAfterWrite(meta, updated);
  }

  /** Merge patch of the status subresource, guarded by resourceVersion; throws instead of returning null. */
  protected override async patchResourceStatus(
    meta: ResourceMeta,
    status: unknown,
  ): Promise<ResourceMeta | null> {
    this.assertLeading(`patch status of ${meta.id} ${meta.name}`);
    const updated = await this.rest.request<KubernetesObject>('PATCH', this.pathOf(meta, 'status'), {
      contentType: contentTypes.mergePatch,
      body: { metadata: { resourceVersion: meta.resourceVersion }, status },
    });
    return this.metaAfterWrite(meta, updated);
  }

  private metaAfterWrite(meta: ResourceMeta, updated: KubernetesObject): ResourceMeta {
    const ref = this.refsById.get(meta.id);
    return ref
      ? metaOf(ref, meta.kind, updated)
      : { ...meta, resourceVersion: updated.metadata?.resourceVersion ?? '' };
  }
}
