// SpiderEndpoint: Spiderpool's finalizer; on deletion (a user, or the garbage collector following
// the ownerReference to a deleted Pod) the holder's records are released when the rules allow it,
// then the finalizer goes. While it lives, the first time an endpoint shows a holder with addresses,
// the pod (and a launcher pod's VM) gets an Event saying which addresses from which pools.
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import {
  finalizer,
  type IPAllocationDetail,
  kubevirtApiVersion,
  kubevirtKinds,
  type SpiderEndpoint,
  type VirtualMachine,
} from '../../api/index.js';
import type { EventRecorder } from '../events/recorder.js';
import { type ResourceEvent, ResourceEventType, type ResourceMeta } from '../framework/events.js';
import { finalizerAction, withFinalizer } from '../framework/finalizers.js';
import type { Logger } from '../observability/log.js';
import type { Caches } from './facts.js';
import type { IdentityGc } from './identity-gc.js';

/** Pods older than this when first seen were announced before (by an earlier leader), or never will be. */
const announceWindowMs = 10 * 60_000;

/** `Allocated 198.18.0.5/24 from pool a for eth0` for each address of each NIC. */
export function allocationMessage(entries: readonly IPAllocationDetail[]): string | undefined {
  const parts: string[] = [];
  for (const e of entries) {
    if (e.ipv4) parts.push(`${e.ipv4} from pool ${e.ipv4Pool ?? '?'} for ${e.interface}`);
    if (e.ipv6) parts.push(`${e.ipv6} from pool ${e.ipv6Pool ?? '?'} for ${e.interface}`);
  }
  return parts.length ? `Allocated ${parts.join('; ')}` : undefined;
}

export interface EndpointControllerDeps {
  gc: IdentityGc;
  setFinalizers(meta: ResourceMeta, finalizers: string[]): Promise<void>;
  recorder: EventRecorder;
  caches: () => Caches;
  /** Hands the endpoint to the controller again later (its holder pod is not in the cache yet). */
  retryLater: (endpoint: SpiderEndpoint, delayMs: number) => void;
  log: Logger;
  now?: () => number;
}

export class EndpointController {
  /** Endpoint UID → the holder and addresses last announced. */
  private readonly announced = new Map<string, string>();

  constructor(private readonly deps: EndpointControllerDeps) {}

  async reconcile(event: ResourceEvent): Promise<void> {
    const endpoint = event.object as SpiderEndpoint;
    const md = endpoint.metadata;
    if (event.type === ResourceEventType.Deleted) {
      this.announced.delete(md.uid ?? '');
      return;
    }
    switch (finalizerAction(md, finalizer)) {
      case 'add':
        await this.deps.setFinalizers(event.meta, withFinalizer(md.finalizers, finalizer, true));
        return;
      case 'finalize': {
        const holder = endpoint.status?.current?.uid;
        if (holder)
          await this.deps.gc.finalizeEndpoint({ namespace: md.namespace ?? '', name: md.name ?? '' }, holder);
        await this.deps.setFinalizers(event.meta, withFinalizer(md.finalizers, finalizer, false));
        return;
      }
      case 'deleting':
        return;
      case 'none':
        this.announce(endpoint);
    }
  }

  private announce(endpoint: SpiderEndpoint): void {
    const current = endpoint.status?.current;
    const message = current ? allocationMessage(current.ips) : undefined;
    if (!current || !message) return;
    const signature = `${current.uid} ${message}`;
    const uid = endpoint.metadata.uid ?? '';
    if (this.announced.get(uid) === signature) return;
    const caches = this.deps.caches();
    const pod = caches.pods?.getByUid(current.uid) as V1Pod | undefined;
    const now = (this.deps.now ?? Date.now)();
    if (!pod) {
      // The pod watch may be a moment behind the endpoint watch: look again soon, while it is new.
      const written = Date.parse(String(endpoint.metadata.creationTimestamp ?? ''));
      if (!Number.isNaN(written) && now - written < 60_000) this.deps.retryLater(endpoint, 1000);
      return;
    }
    this.announced.set(uid, signature);
    const created = Date.parse(String(pod.metadata?.creationTimestamp ?? ''));
    if (!Number.isNaN(created) && now - created > announceWindowMs) return;
    const targets: KubernetesObject[] = [{ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }];
    if (endpoint.status?.ownerControllerType === 'VirtualMachineInstance') {
      const vm = caches.vms?.get(`${endpoint.metadata.namespace}/${endpoint.metadata.name}`) as
        | VirtualMachine
        | undefined;
      if (vm)
        targets.push({ apiVersion: kubevirtApiVersion, kind: kubevirtKinds.vm.kind, metadata: vm.metadata });
    }
    const text = `${message} (pod ${pod.metadata?.name} on ${current.node})`;
    for (const target of targets) void this.deps.recorder.record(target, 'Normal', 'AddressAllocated', text);
  }
}
