// List, then watch from the list's resourceVersion; keep following the newest resourceVersion seen
// (bookmarks on) so a reconnect resumes exactly where the stream stopped. When the API server says
// the history is gone (HTTP 410, or any ERROR event), list again and let the store turn the
// difference into events. When it cannot be reached, retry with jittered backoff, forever: the
// process never exits because of a watch.
//
// client-node's Watch does the streaming; its callback swallows exceptions (1.x), so everything
// that runs inside it here catches and reports on its own.
import { setTimeout as sleep } from 'node:timers/promises';
import { type KubeConfig, type KubernetesObject, Watch } from '@kubernetes/client-node';
import { apiStatus, describeApiError } from '../../kube/errors.js';
import { type ResourceRef, resourceId, resourcePath } from '../../kube/resource.js';
import type { RestClient } from '../../kube/rest.js';
import { Backoff, type BackoffPolicy } from './backoff.js';
import { ResourceEventType } from './events.js';
import { withoutManagedFields } from './slim.js';
import { ObjectStore } from './store.js';

export type RelistReason = 'initial' | 'expired' | 'error-event';
export type RestartReason = 'closed' | 'error' | 'expired' | 'error-event' | 'stalled';

export interface ReflectorHooks {
  onEvent(type: ResourceEventType, object: KubernetesObject): void;
  onSynced?(): void;
  onRelist?(reason: RelistReason, objects: number): void;
  onWatchRestart?(reason: RestartReason, detail: string): void;
  onError?(what: string, err: unknown, retryInMs: number): void;
}

export interface ReflectorOptions {
  ref: ResourceRef;
  kubeConfig: KubeConfig;
  rest: RestClient;
  labelSelector?: string;
  fieldSelector?: string;
  backoff?: BackoffPolicy;
  /** Server-side watch timeout range; each watch picks a value in it (spreads reconnects). */
  watchTimeoutSeconds?: [number, number];
  listPageSize?: number;
  /**
   * Applied to every object before it is cached or handed on: keeps only the fields the handlers
   * read, so a cache of every Pod in a cluster stays small.
   */
  transform?: (object: KubernetesObject) => KubernetesObject;
}

interface ListResponse {
  apiVersion?: string;
  kind?: string;
  items?: KubernetesObject[];
  metadata?: { resourceVersion?: string; continue?: string };
}

type WatchEnd =
  | { kind: 'closed' }
  | { kind: 'expired'; detail: string }
  | { kind: 'error-event'; detail: string }
  | { kind: 'error'; err: unknown }
  | { kind: 'stalled' }
  | { kind: 'stopped' };

export class Reflector {
  readonly store = new ObjectStore();
  private resourceVersion = '';
  private stopped = false;
  private synced = false;
  private loop?: Promise<void>;
  private current?: AbortController;
  /** Ends the pending watchOnce(), whether its request is open or still waiting for an answer. */
  private endWatch?: () => void;
  private listing?: AbortController;
  private wake?: () => void;
  private readonly backoff: Backoff;
  private readonly watch: Watch;
  private readonly path: string;

  constructor(
    private readonly opts: ReflectorOptions,
    private readonly hooks: ReflectorHooks,
  ) {
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 200, maxMs: 30_000 });
    this.watch = new Watch(opts.kubeConfig);
    this.path = resourcePath(opts.ref);
  }

  get id(): string {
    return resourceId(this.opts.ref);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Closes the watch and resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.endWatch?.();
    this.listing?.abort();
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    let relistReason: RelistReason = 'initial';
    while (!this.stopped) {
      if (!this.resourceVersion) {
        try {
          await this.relist(relistReason);
          this.backoff.reset();
        } catch (err) {
          if (this.stopped) break;
          await this.pause('list', err);
          continue;
        }
      }
      const started = Date.now();
      const end = await this.watchOnce();
      if (end.kind === 'stopped' || this.stopped) break;
      switch (end.kind) {
        case 'closed':
        case 'stalled':
          this.hooks.onWatchRestart?.(end.kind, `resuming from resourceVersion ${this.resourceVersion}`);
          // A server that closes every watch at once must not turn this into a hot loop.
          if (Date.now() - started < 1000) await this.pause('watch', new Error('watch closed right away'));
          else this.backoff.reset();
          break;
        case 'expired':
        case 'error-event':
          this.hooks.onWatchRestart?.(end.kind, end.detail);
          this.resourceVersion = '';
          relistReason = end.kind === 'expired' ? 'expired' : 'error-event';
          break;
        case 'error':
          this.hooks.onWatchRestart?.('error', describeApiError(end.err));
          await this.pause('watch', end.err);
          break;
      }
    }
  }

  private async pause(what: string, err: unknown): Promise<void> {
    const delay = this.backoff.next();
    this.hooks.onError?.(`${what} ${this.id}`, err, delay);
    const ac = new AbortController();
    this.wake = () => ac.abort();
    await sleep(delay, undefined, { signal: ac.signal }).catch(() => {});
    this.wake = undefined;
  }

  private async relist(reason: RelistReason): Promise<void> {
    const items: KubernetesObject[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    this.listing = new AbortController();
    do {
      const page: ListResponse = await this.opts.rest.get(this.path, {
        signal: this.listing.signal,
        query: {
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          limit: this.opts.listPageSize ?? 500,
          continue: cont,
        },
      });
      // Items of a list carry no kind/apiVersion; give them what a watch event's object has.
      const kind = page.kind?.replace(/List$/, '');
      for (const item of page.items ?? []) {
        item.apiVersion ??= page.apiVersion;
        item.kind ??= kind;
        items.push(this.cached(item));
      }
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (cont && !this.stopped);
    this.listing = undefined;
    if (this.stopped) return;
    const events = this.store.replace(items);
    this.resourceVersion = resourceVersion;
    this.hooks.onRelist?.(reason, items.length);
    for (const e of events) this.emit(e.type, e.object);
    if (!this.synced) {
      this.synced = true;
      this.hooks.onSynced?.();
    }
  }

  /** What is kept of an object as it arrives: never its managed fields, then the watch's transform. */
  private cached(object: KubernetesObject): KubernetesObject {
    const slim = withoutManagedFields(object);
    return this.opts.transform ? this.opts.transform(slim) : slim;
  }

  private emit(type: ResourceEventType, object: KubernetesObject): void {
    try {
      this.hooks.onEvent(type, object);
    } catch (err) {
      this.hooks.onError?.(`event handler of ${this.id}`, err, 0);
    }
  }

  private watchOnce(): Promise<WatchEnd> {
    const [lo, hi] = this.opts.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.round(lo + Math.random() * (hi - lo));
    if (this.stopped) return Promise.resolve({ kind: 'stopped' });
    return new Promise<WatchEnd>((resolve) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (end: WatchEnd) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        this.current?.abort();
        this.current = undefined;
        this.endWatch = undefined;
        resolve(end);
      };
      // stop() may come before the request is answered: no AbortController exists yet then, and
      // the watch that opens afterwards would run for its whole timeout. Settling here makes the
      // answer below abort it instead.
      this.endWatch = () => finish({ kind: 'stopped' });
      // The server ends each watch after timeoutSeconds; a connection that outlives that by far is
      // dead in a way TCP has not noticed (a frozen peer), so drop it. Likewise a request that got
      // no response headers in 30 s (a peer that accepts nothing, a blackholed route).
      timers.push(setTimeout(() => finish({ kind: 'stalled' }), (timeoutSeconds + 30) * 1000));
      const connecting = setTimeout(() => finish({ kind: 'stalled' }), 30_000);
      timers.push(connecting);
      const onLine = (type: string, object: KubernetesObject & { code?: number; message?: string }) => {
        try {
          if (settled) return;
          if (type === 'ERROR') {
            const detail = `${object.code ?? '?'} ${object.message ?? ''}`.trim();
            finish(object.code === 410 ? { kind: 'expired', detail } : { kind: 'error-event', detail });
            return;
          }
          const rv = object.metadata?.resourceVersion;
          if (type === 'BOOKMARK') {
            if (rv) this.resourceVersion = rv;
            return;
          }
          const eventType = type as ResourceEventType;
          if (
            eventType !== ResourceEventType.Added &&
            eventType !== ResourceEventType.Modified &&
            eventType !== ResourceEventType.Deleted
          )
            return;
          const kept = this.cached(object);
          this.store.apply(eventType, kept);
          if (rv) this.resourceVersion = rv;
          this.emit(eventType, kept);
        } catch (err) {
          this.hooks.onError?.(`watch event of ${this.id}`, err, 0);
        }
      };
      const onDone = (err: unknown) => {
        if (this.stopped) return finish({ kind: 'stopped' });
        if (!err) return finish({ kind: 'closed' });
        const status = (err as { statusCode?: number }).statusCode ?? apiStatus(err);
        if (status === 410) return finish({ kind: 'expired', detail: 'HTTP 410' });
        finish({ kind: 'error', err });
      };
      this.watch
        .watch(
          this.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.opts.labelSelector,
            fieldSelector: this.opts.fieldSelector,
          },
          onLine,
          onDone,
        )
        .then(
          (controller) => {
            clearTimeout(connecting);
            if (settled) controller.abort();
            else this.current = controller;
          },
          (err: unknown) => finish({ kind: 'error', err }),
        );
    });
  }
}
